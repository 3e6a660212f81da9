"""Store URLs are validated when the config loads (``[kv] store``, ``EDGEWORKS_KV_STORE``,
``--kv``): one line naming the source, the value and what is allowed; exit 2."""

from __future__ import annotations

from pathlib import Path

import pytest

import cli
from runtime.config import load_config
from runtime.errors import ConfigError

BAD_URLS = [
    ("redis://h:6379/abc", "database 'abc' is not a number: use /0, /1, ... (default /0)"),
    ("redis://h:6379/0?foo=bar", "unknown option 'foo': allowed are max_connections,"),
    ("redis://h:70000/0", "port '70000' is not a number from 1 to 65535"),
    ("redis://h:6379/-3", "database '-3' is not a number"),
    ("redis+cluster://a:7000,b:7001/1", "a Redis Cluster has only database 0"),
    ("rediss+cluster://a:7000?ssl_cert_reqs=maybe", "ssl_cert_reqs='maybe' is invalid: must be"),
    ("sqlite:///tmp/kv.db?fsync=1", "Unknown SQLite store option 'fsync'"),
    ("sqlite:///tmp/kv.db?synchronous=off", "synchronous='off' in 'sqlite:///tmp/kv.db"),
]


@pytest.mark.parametrize(("url", "problem"), BAD_URLS)
def test_config_store_url_in_file_is_validated_at_load(
    tmp_path: Path, url: str, problem: str
) -> None:
    file = tmp_path / "edgeworks.toml"
    file.write_text(f'name = "app"\n[kv]\nstore = "{url}"\n')
    with pytest.raises(ConfigError) as info:
        load_config(cwd=tmp_path, environ={})
    message = str(info.value)
    assert message.startswith(f"{file}: kv.store: "), message
    assert problem in message and "\n" not in message


def test_config_store_url_from_environment_names_the_variable(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"^EDGEWORKS_KV_STORE: kv.store: .*'redis://h/x'"):
        load_config(cwd=tmp_path, environ={"EDGEWORKS_KV_STORE": "redis://h/x"})


@pytest.mark.parametrize("command", [["kv", "namespace", "list"], ["serve"], ["dev"]])
def test_cli_bad_store_url_flag_exits_2_naming_the_flag(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    command: list[str],
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("EDGEWORKS_KV_STORE", raising=False)
    assert cli.main([*command, "--kv", "redis://127.0.0.1:6379/abc"]) == 2
    err = capsys.readouterr().err
    assert err == (
        "error: --kv: kv.store: Invalid Redis store URL 'redis://127.0.0.1:6379/abc': "
        "database 'abc' is not a number: use /0, /1, ... (default /0)\n"
    )


def test_config_max_connections_rides_in_the_redis_url(tmp_path: Path) -> None:
    file = tmp_path / "edgeworks.toml"
    file.write_text('name = "app"\n[kv]\nstore = "redis://h:6379/1"\nmax_connections = 16\n')
    config = load_config(cwd=tmp_path, environ={})
    assert config.kv.store_url == "redis://h:6379/1?max_connections=16"
    environ = {"EDGEWORKS_KV_MAX_CONNECTIONS": "8"}
    assert load_config(cwd=tmp_path, environ=environ).kv.store_url.endswith("=8")
    # Other stores have no connection pool: the setting does not touch their URL.
    sqlite = load_config(cwd=tmp_path, environ={}, overrides={"kv.store": "memory"})
    assert sqlite.kv.store_url == "memory://"


def test_config_max_connections_given_twice_differently_is_an_error(tmp_path: Path) -> None:
    file = tmp_path / "edgeworks.toml"
    file.write_text(
        'name = "app"\n[kv]\nstore = "redis://h/0?max_connections=4"\nmax_connections = 16\n'
    )
    with pytest.raises(ConfigError, match=r"max_connections is given twice: 4 in the store URL"):
        load_config(cwd=tmp_path, environ={})
    file.write_text('name = "app"\n[kv]\nstore = "redis://h/0"\nmax_connections = 0\n')
    with pytest.raises(ConfigError, match=r"kv.max_connections = 0 is invalid: must be an integer"):
        load_config(cwd=tmp_path, environ={})
