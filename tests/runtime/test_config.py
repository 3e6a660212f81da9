"""runtime.config: discovery, every field, paths, precedence and one-line errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from kv.limits import DEFAULT_CACHE_MAX_BYTES, DEFAULT_CACHE_TTL
from runtime import limits
from runtime.config import (
    STATIC_CONTENT_BINDING,
    Config,
    load_config,
    load_dev_vars,
)
from runtime.errors import ConfigError

FULL = """
name = "my-app"
main = "src/worker.py"
origin = "http://127.0.0.1:9000"

[vars]
GREETING = "hello"
COUNT = 3
FLAGS = { beta = true }

[[kv_namespaces]]
binding = "COUNTER"
id = "counter"

[[kv_namespaces]]
binding = "SHARED"
id = "counter"

[site]
bucket = "public"
include = ["*.html", "assets/**"]
exclude = ["*.map"]
html_handling = "drop-trailing-slash"
not_found_handling = "single-page-application"
keep = 3
cache_control = "public, max-age=60"

[kv]
store = "data/kv.sqlite3"
invalidation = "pubsub"
cache_ttl = 120
cache_max_bytes = 1024

[triggers]
crons = ["*/5 * * * *", "0 3 * * mon"]

[limits]
cpu_ms = 50
wall_ms = 500
subrequests = 5
max_body_bytes = 2048
drain_ms = 100
"""


def write(folder: Path, text: str, name: str = "edgeworks.toml") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(text)
    return path


def error_of(folder: Path, text: str, **kwargs: object) -> str:
    write(folder, text)
    with pytest.raises(ConfigError) as info:
        load_config(cwd=folder, environ={}, **kwargs)  # type: ignore[arg-type]
    message = str(info.value)
    assert "\n" not in message and "Traceback" not in message
    assert "pydantic" not in message and "errors.pydantic.dev" not in message
    return message


# --- parsing and discovery ------------------------------------------------------------


def test_config_parses_every_field(tmp_path: Path) -> None:
    write(tmp_path, FULL)
    config = load_config(cwd=tmp_path, environ={})
    assert config.found and config.path == tmp_path / "edgeworks.toml"
    assert config.root == tmp_path
    assert config.name == "my-app"
    assert config.main == tmp_path / "src" / "worker.py"
    assert config.origin == "http://127.0.0.1:9000"
    assert config.vars == {"GREETING": "hello", "COUNT": 3, "FLAGS": {"beta": True}}
    assert [(n.binding, n.id) for n in config.kv_namespaces] == [
        ("COUNTER", "counter"),
        ("SHARED", "counter"),
    ]
    site = config.site
    assert site is not None
    assert site.bucket == tmp_path / "public"
    assert site.include == ("*.html", "assets/**") and site.exclude == ("*.map",)
    assert site.html_handling == "drop-trailing-slash"
    assert site.not_found_handling == "single-page-application"
    assert site.keep == 3 and site.cache_control == "public, max-age=60"
    assert config.kv.store == "data/kv.sqlite3"
    assert config.kv.store_url == f"sqlite://{tmp_path}/data/kv.sqlite3"
    assert config.kv.invalidation == "pubsub"
    assert config.kv.cache_ttl == 120 and config.kv.cache_max_bytes == 1024
    assert config.triggers.crons == ("*/5 * * * *", "0 3 * * mon")
    lim = config.limits
    assert (lim.cpu_ms, lim.wall_ms, lim.subrequests, lim.max_body_bytes, lim.drain_ms) == (
        50,
        500,
        5,
        2048,
        100,
    )
    assert config.kv_bindings == {
        "COUNTER": "counter",
        "SHARED": "counter",
        STATIC_CONTENT_BINDING: "__my-app-workers_sites_assets",
    }
    assert config.site_namespace_id == "__my-app-workers_sites_assets"


def test_config_defaults_without_a_file(tmp_path: Path) -> None:
    config = load_config(cwd=tmp_path, environ={})
    assert not config.found and config.path is None and config.root == tmp_path
    assert config.name == tmp_path.name  # the folder name
    assert config.main is None and config.site is None and config.kv_namespaces == ()
    assert config.kv.store == "sqlite"
    assert config.kv.store_url == f"sqlite://{tmp_path}/.edgeworks/state/kv.sqlite3"
    assert config.kv.invalidation == "none"
    assert config.kv.cache_ttl == DEFAULT_CACHE_TTL
    assert config.kv.cache_max_bytes == DEFAULT_CACHE_MAX_BYTES
    assert config.limits.cpu_ms == limits.DEFAULT_CPU_MS == 1000
    assert config.limits.wall_ms == limits.DEFAULT_WALL_MS == 30_000
    assert config.limits.subrequests == 50
    assert config.limits.max_body_bytes == 100 * 1024 * 1024
    assert config.limits.drain_ms == 30_000
    assert config.state_dir == tmp_path / ".edgeworks" / "state"


def test_config_site_defaults(tmp_path: Path) -> None:
    write(tmp_path, '[site]\nbucket = "public"\n')
    site = load_config(cwd=tmp_path, environ={}).site
    assert site is not None
    assert (site.include, site.exclude, site.keep) == ((), (), 2)
    assert site.html_handling == "auto-trailing-slash"
    assert site.not_found_handling == "404-page"
    assert site.cache_control == "public, max-age=0, must-revalidate"


def test_config_found_in_a_parent_folder(tmp_path: Path) -> None:
    write(tmp_path, 'name = "up"\nmain = "w.py"\n')
    deep = tmp_path / "a" / "b"
    deep.mkdir(parents=True)
    config = load_config(cwd=deep, environ={})
    assert config.name == "up" and config.root == tmp_path
    assert config.main == tmp_path / "w.py"  # relative to the file, not the cwd


def test_config_explicit_path_file_or_folder(tmp_path: Path) -> None:
    write(tmp_path / "proj", 'name = "proj"\n[kv]\nstore = "sqlite://rel/kv.db"\n')
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    by_file = load_config(tmp_path / "proj" / "edgeworks.toml", cwd=elsewhere, environ={})
    by_folder = load_config("../proj", cwd=elsewhere, environ={})
    assert by_file == by_folder
    assert by_file.kv.store_url == f"sqlite://{tmp_path}/proj/rel/kv.db"


def test_config_env_names_the_file(tmp_path: Path) -> None:
    write(tmp_path / "proj", 'name = "viaenv"\n', name="custom.toml")
    config = load_config(cwd=tmp_path, environ={"EDGEWORKS_CONFIG": "proj/custom.toml"})
    assert config.name == "viaenv"


def test_config_missing_explicit_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"--config: config file .*nope.toml.* does not exist"):
        load_config("nope.toml", cwd=tmp_path, environ={})


def test_config_store_forms(tmp_path: Path) -> None:
    def url(store: str) -> str:
        return load_config(cwd=tmp_path, environ={}, overrides={"kv.store": store}).kv.store_url

    assert url("memory") == url("memory://") == "memory://"
    assert url("sqlite:///abs/kv.db") == "sqlite:///abs/kv.db"
    assert url("sqlite:///abs/kv.db?synchronous=FULL") == "sqlite:///abs/kv.db?synchronous=FULL"
    assert url("redis://127.0.0.1:6379/2") == "redis://127.0.0.1:6379/2"
    assert url("state/kv.sqlite3") == f"sqlite://{tmp_path}/state/kv.sqlite3"


# --- precedence ----------------------------------------------------------------------------


def test_config_precedence_defaults_file_env_overrides(tmp_path: Path) -> None:
    write(
        tmp_path, '[limits]\ncpu_ms = 10\nwall_ms = 20\nsubrequests = 30\n[kv]\nstore = "memory"\n'
    )
    environ = {"EDGEWORKS_LIMITS_WALL_MS": "200", "EDGEWORKS_LIMITS_SUBREQUESTS": "300"}
    config = load_config(cwd=tmp_path, environ=environ, overrides={"limits.subrequests": 3000})
    assert config.limits.drain_ms == limits.DEFAULT_DRAIN_MS  # default
    assert config.limits.cpu_ms == 10  # file
    assert config.limits.wall_ms == 200  # env over file
    assert config.limits.subrequests == 3000  # override over env
    assert config.kv.store_url == "memory://"  # file, rest of [kv] untouched


def test_config_env_variables_cover_sections(tmp_path: Path) -> None:
    (tmp_path / "w.py").write_text("")
    environ = {
        "EDGEWORKS_MAIN": "w.py",
        "EDGEWORKS_ORIGIN": "https://origin.example",
        "EDGEWORKS_KV_STORE": "memory",
        "EDGEWORKS_KV_CACHE_TTL": "90",
        "EDGEWORKS_SITE_BUCKET": "pub",
        "EDGEWORKS_TRIGGERS_CRONS": "*/5 * * * *, 0 0 * * *",
        "EDGEWORKS_UNRELATED_THING": "ignored",
    }
    config = load_config(cwd=tmp_path, environ=environ)
    assert config.worker_path() == tmp_path / "w.py"
    assert config.origin == "https://origin.example"
    assert config.kv.store_url == "memory://" and config.kv.cache_ttl == 90
    assert config.site is not None and config.site.bucket == tmp_path / "pub"
    assert config.triggers.crons == ("*/5 * * * *", "0 0 * * *")


def test_config_override_paths_are_relative_to_the_cwd(tmp_path: Path) -> None:
    write(tmp_path, 'main = "w.py"\n')
    sub = tmp_path / "sub"
    sub.mkdir()
    config = load_config(
        cwd=sub, environ={}, overrides={"main": "other.py", "kv": {"store": "x.db"}}
    )
    assert config.main == sub / "other.py"
    assert config.kv.store_url == f"sqlite://{sub}/x.db"


def test_config_none_overrides_are_skipped(tmp_path: Path) -> None:
    write(tmp_path, '[kv]\nstore = "memory"\n')
    config = load_config(cwd=tmp_path, environ={}, overrides={"kv.store": None, "main": None})
    assert config.kv.store_url == "memory://" and config.main is None


# --- errors ----------------------------------------------------------------------------


def test_config_unknown_key_suggests(tmp_path: Path) -> None:
    msg = error_of(tmp_path, '[kv]\nstor = "memory"\n')
    assert str(tmp_path / "edgeworks.toml") in msg
    assert "'kv.stor'" in msg and "did you mean 'store'?" in msg
    assert "cache_ttl" in msg  # lists what is allowed
    msg = error_of(tmp_path, 'nmae = "x"\n')
    assert "did you mean 'name'?" in msg
    msg = error_of(tmp_path, '[[kv_namespaces]]\nbinding = "A"\nid = "a"\nidd = "b"\n')
    assert "kv_namespaces[0].idd" in msg and "[[kv_namespaces]]" in msg


def test_config_invalid_toml_names_line_and_column(tmp_path: Path) -> None:
    msg = error_of(tmp_path, 'name = "ok"\n\nmain = = 1\n')
    assert msg.startswith(f"{tmp_path / 'edgeworks.toml'}:3:8: invalid TOML")


def test_config_errors_name_file_field_value_and_allowed(tmp_path: Path) -> None:
    file = str(tmp_path / "edgeworks.toml")
    cases = {
        "[limits]\ncpu_ms = -5\n": ["limits.cpu_ms", "-5", "greater than 0"],
        '[limits]\nwall_ms = "x"\n': ["limits.wall_ms", "'x'", "must be an integer"],
        "[limits]\nsubrequests = 1.5\n": ["limits.subrequests", "1.5", "integer"],
        "[limits]\ncpu_ms = true\n": ["limits.cpu_ms", "integer"],
        '[kv]\ninvalidation = "redis"\n': ["kv.invalidation", "'redis'", "'none' or 'pubsub'"],
        "[kv]\ncache_ttl = 10\n": ["kv.cache_ttl", "10", "at least 30"],
        '[kv]\nstore = "memroy"\n': ["kv.store", "'memroy'", "did you mean 'memory'", "redis://"],
        '[kv]\nstore = "ftp://host"\n': ["kv.store", "ftp://host", "sqlite:///"],
        'name = "bad name!"\n': ["name", "'bad name!'", "letters, digits"],
        '[site]\nbucket = "p"\nhtml_handling = "x"\n': ["site.html_handling", "'x'", "none"],
        '[site]\nbucket = "p"\nkeep = 0\n': ["site.keep", "0", "at least 1"],
        '[site]\nbucket = "p"\ncache_control = "a\\nb"\n': ["site.cache_control", "control"],
        "[site]\n": ["site.bucket is required"],
        '[[kv_namespaces]]\nbinding = "A"\n': ["kv_namespaces[0].id is required"],
        '[[kv_namespaces]]\nbinding = "A"\nid = ""\n': ["kv_namespaces[0].id", "empty"],
        'origin = "ftp://x"\n': ["origin", "'ftp://x'", "http://"],
        "kv = 5\n": ["kv = 5", "table"],
        "[vars]\nD = 1979-05-27\n": ["vars", "'D'", "quote them"],
        'main = ""\n': ["main", "give a path"],
    }
    for text, fragments in cases.items():
        msg = error_of(tmp_path, text)
        assert msg.startswith(file), (text, msg)
        for fragment in fragments:
            assert fragment in msg, (text, fragment, msg)


def test_config_reports_every_bad_field(tmp_path: Path) -> None:
    msg = error_of(tmp_path, "[limits]\ncpu_ms = 0\nwall_ms = 0\n")
    assert "limits.cpu_ms" in msg and "limits.wall_ms" in msg


def test_config_duplicate_binding_names(tmp_path: Path) -> None:
    two_kv = (
        '[[kv_namespaces]]\nbinding = "A"\nid = "a"\n[[kv_namespaces]]\nbinding = "A"\nid = "b"\n'
    )
    msg = error_of(tmp_path, two_kv)
    assert "kv_namespaces[1].binding" in msg and "kv_namespaces[0].binding" in msg
    assert "unique" in msg
    msg = error_of(tmp_path, '[vars]\nA = 1\n[[kv_namespaces]]\nbinding = "A"\nid = "a"\n')
    assert "vars.A" in msg and "kv_namespaces[0].binding" in msg
    msg = error_of(tmp_path, '[vars]\n__STATIC_CONTENT = "x"\n[site]\nbucket = "p"\n')
    assert "__STATIC_CONTENT" in msg and "reserved" in msg


def test_config_bad_binding_identifiers(tmp_path: Path) -> None:
    for bad in ("1abc", "with-dash", "class", "a b"):
        msg = error_of(tmp_path, f'[[kv_namespaces]]\nbinding = "{bad}"\nid = "x"\n')
        assert f"kv_namespaces[0].binding = '{bad}'" in msg and "Python identifier" in msg
    msg = error_of(tmp_path, '[vars]\n"my-var" = "x"\n')
    assert "'my-var'" in msg and "Python identifier" in msg


def test_config_bad_cron(tmp_path: Path) -> None:
    for bad in ("* * *", "61 * * * *", "*/5 * * * * *", "every minute"):
        msg = error_of(tmp_path, f'[triggers]\ncrons = ["0 * * * *", "{bad}"]\n')
        assert f"triggers.crons[1] = '{bad}'" in msg and "cron expression" in msg


def test_config_env_errors_name_the_variable(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"^EDGEWORKS_LIMITS_CPU_MS: limits.cpu_ms = 'abc'"):
        load_config(cwd=tmp_path, environ={"EDGEWORKS_LIMITS_CPU_MS": "abc"})
    with pytest.raises(
        ConfigError, match=r"^EDGEWORKS_LIMITS_CPU_MS: limits.cpu_ms = 0 .*greater than 0"
    ):
        load_config(cwd=tmp_path, environ={"EDGEWORKS_LIMITS_CPU_MS": "0"})
    with pytest.raises(ConfigError, match="did you mean EDGEWORKS_KV_STORE"):
        load_config(cwd=tmp_path, environ={"EDGEWORKS_KV_STOR": "memory"})
    with pytest.raises(ConfigError, match=r"^EDGEWORKS_KV_STORE: kv.store = 'nope'"):
        load_config(cwd=tmp_path, environ={"EDGEWORKS_KV_STORE": "nope"})


def test_config_unknown_override_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"kv\.foo"):
        load_config(cwd=tmp_path, environ={}, overrides={"kv.foo": 1})


# --- bindings, worker and secrets ---------------------------------------------------------


def test_config_kv_namespace_id_lists_bindings(tmp_path: Path) -> None:
    write(tmp_path, FULL)
    config = load_config(cwd=tmp_path, environ={})
    assert config.kv_namespace_id("COUNTER") == "counter"
    assert config.kv_namespace_id(STATIC_CONTENT_BINDING) == config.site_namespace_id
    with pytest.raises(ConfigError, match=r"no KV binding 'NOPE'.*COUNTER, SHARED"):
        config.kv_namespace_id("NOPE")


def test_config_worker_path(tmp_path: Path) -> None:
    config = load_config(cwd=tmp_path, environ={})
    with pytest.raises(ConfigError, match="no worker to run"):
        config.worker_path()
    write(tmp_path, '[site]\nbucket = "public"\n')
    site_worker = load_config(cwd=tmp_path, environ={}).worker_path()
    assert site_worker.name == "static_site.py" and site_worker.parent.name == "workers"
    write(tmp_path, 'main = "missing.py"\n')
    with pytest.raises(ConfigError, match=r"main = .*missing.py' does not exist"):
        load_config(cwd=tmp_path, environ={}).worker_path()


def test_config_is_frozen(tmp_path: Path) -> None:
    config = load_config(cwd=tmp_path, environ={})
    with pytest.raises(ValueError):
        config.name = "x"  # type: ignore[misc]
    assert isinstance(config, Config)


def test_config_dev_vars_loading(tmp_path: Path) -> None:
    write(tmp_path, '[vars]\nGREETING = "hi"\n')
    config = load_config(cwd=tmp_path, environ={})
    assert load_dev_vars(config) == {}  # optional file
    (tmp_path / ".dev.vars").write_text(
        '# secrets\nAPI_TOKEN=abc123\nQUOTED="two words"\nexport EXPORTED=yes\nREF=${API_TOKEN}\n'
    )
    secrets = load_dev_vars(config)
    assert secrets == {
        "API_TOKEN": "abc123",
        "QUOTED": "two words",
        "EXPORTED": "yes",
        "REF": "${API_TOKEN}",
    }
    with_secrets = config.with_secrets(secrets, source=str(config.dev_vars_path))
    assert with_secrets.secrets["API_TOKEN"] == "abc123" and with_secrets.vars == config.vars


def test_config_env_file_errors(tmp_path: Path) -> None:
    write(tmp_path, '[vars]\nTOKEN = "a"\n')
    config = load_config(cwd=tmp_path, environ={})
    with pytest.raises(ConfigError, match="cannot read the env file"):
        load_dev_vars(config, tmp_path / "missing.env")
    bad = tmp_path / "bad.env"
    bad.write_text("OK=1\nNOVALUE\n")
    with pytest.raises(ConfigError, match=r"bad.env:2: NOVALUE has no value"):
        load_dev_vars(config, bad)
    bad.write_text("OK=1\n'broken\n")
    with pytest.raises(ConfigError, match=r"bad.env:2: cannot parse"):
        load_dev_vars(config, bad)
    with pytest.raises(ConfigError, match=r"^\.dev\.vars: 'bad-name' is not a valid binding"):
        config.with_secrets({"bad-name": "x"}, source=".dev.vars")
    config = load_config(cwd=tmp_path, overrides={"kv_namespaces": [{"binding": "KV", "id": "k"}]})
    with pytest.raises(ConfigError, match=r"secrets.KV is already used by kv_namespaces"):
        config.with_secrets({"KV": "x"}, source=".dev.vars")
    with pytest.raises(ConfigError, match=r"vars.KV is already used|KV.*already used"):
        config.with_secrets({}, source=".dev.vars", vars={"KV": "x"})


def test_config_table_and_array_mixups_say_how_to_write_them(tmp_path: Path) -> None:
    msg = error_of(tmp_path, '[kv_namespaces]\nbinding = "A"\nid = "a"\n')
    assert "kv_namespaces" in msg and "must be an array" in msg and "[[kv_namespaces]]" in msg
    msg = error_of(tmp_path, '[[site]]\nbucket = "p"\n')
    assert "must be a table" in msg and "write [site], not [[site]]" in msg


def test_config_file_with_a_byte_order_mark(tmp_path: Path) -> None:
    (tmp_path / "edgeworks.toml").write_bytes('\ufeffname = "bom"\n'.encode())
    assert load_config(cwd=tmp_path, environ={}).name == "bom"


@pytest.mark.parametrize(
    "body",
    [
        "[vars]\nA = " + "[" * 1000 + "]" * 1000,
        "[vars]\nA = " + "{a=" * 1000 + "1" + "}" * 1000,
        "[" + ".".join(["vars"] + ["a"] * 1000) + "]\nx = 1",
    ],
    ids=["arrays", "inline-tables", "table-header"],
)
def test_config_nested_a_thousand_levels_deep_is_one_line_exit_2(
    tmp_path: Path, body: str, capsys: pytest.CaptureFixture[str]
) -> None:
    import cli

    (tmp_path / "edgeworks.toml").write_text(f'name = "deep"\n{body}\n')
    assert cli.main(["kv", "namespace", "list", "--config", str(tmp_path / "edgeworks.toml")]) == 2
    err = capsys.readouterr().err
    assert err == f"error: {tmp_path / 'edgeworks.toml'}: {limits.MSG_CONFIG_TOO_DEEP}\n"


def test_config_public_names_are_documented() -> None:
    import runtime.config as module

    for name in module.__all__:
        obj = getattr(module, name)
        if isinstance(obj, type) or callable(obj):
            assert (obj.__doc__ or "").strip(), name
