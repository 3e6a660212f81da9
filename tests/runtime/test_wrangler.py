"""wrangler.jsonc / wrangler.json / wrangler.toml as the project's config (runtime.wrangler)."""

from __future__ import annotations

from pathlib import Path

import pytest

from runtime.config import load_config, load_dev_vars
from runtime.errors import ConfigError

JSONC = """\
// a comment, as pywrangler init writes them
{
  "$schema": "node_modules/wrangler/config-schema.json",
  "name": "py-app",
  "main": "src/entry.py",
  "compatibility_date": "2025-11-02",
  "compatibility_flags": ["python_workers"],
  "observability": {"enabled": true},  /* platform only */
  "vars": {"API_URL": "https://api.example.com", "MODE": "prod"},
  "kv_namespaces": [
    {"binding": "KV", "id": "<YOUR_KV_NAMESPACE_ID>", "preview_id": "x"},
  ],
  "triggers": {"crons": ["*/5 * * * *"]},
  "limits": {"cpu_ms": 50},
  "assets": {"directory": "./public", "binding": "ASSETS", "run_worker_first": ["/api/*"]},
  "env": {
    "staging": {
      "vars": {"MODE": "staging"},
      "kv_namespaces": [{"binding": "STAGE_KV", "id": "stage"}],
    },
  },
}
"""

TOML = """\
name = "py-app"
main = "src/entry.py"
compatibility_date = "2025-11-02"
compatibility_flags = ["python_workers"]
workers_dev = true

[vars]
API_URL = "https://api.example.com"
MODE = "prod"

[[kv_namespaces]]
binding = "KV"
id = "<YOUR_KV_NAMESPACE_ID>"

[triggers]
crons = ["*/5 * * * *"]

[limits]
cpu_ms = 50

[assets]
directory = "./public"
binding = "ASSETS"
run_worker_first = ["/api/*"]

[env.staging.vars]
MODE = "staging"

[[env.staging.kv_namespaces]]
binding = "STAGE_KV"
id = "stage"
"""


def project(tmp_path: Path, filename: str, text: str) -> Path:
    (tmp_path / filename).write_text(text)
    (tmp_path / "src").mkdir(exist_ok=True)
    (tmp_path / "src" / "entry.py").write_text("")
    return tmp_path


@pytest.mark.parametrize(("filename", "text"), [("wrangler.jsonc", JSONC), ("wrangler.toml", TOML)])
def test_wrangler_keys_map_onto_the_config(tmp_path: Path, filename: str, text: str) -> None:
    config = load_config(cwd=project(tmp_path, filename, text), environ={})
    assert config.path == tmp_path / filename and config.is_cloudflare
    assert config.name == "py-app" and config.main == tmp_path / "src" / "entry.py"
    assert config.vars == {"API_URL": "https://api.example.com", "MODE": "prod"}
    assert config.kv_bindings["KV"] == "<YOUR_KV_NAMESPACE_ID>"  # a local namespace name
    assert config.triggers.crons == ("*/5 * * * *",) and config.limits.cpu_ms == 50
    assert config.site is not None and config.site.bucket == tmp_path / "public"
    assert config.site.not_found_handling == "none"  # a miss goes to the worker
    assert config.cloudflare is not None
    assert config.cloudflare.assets_binding == "ASSETS"
    assert config.cloudflare.run_worker_first == ("/api/*",)
    assert config.cloudflare.compatibility_flags == ("python_workers",)
    assert config.cloudflare.warnings == ()


@pytest.mark.parametrize(("filename", "text"), [("wrangler.jsonc", JSONC), ("wrangler.toml", TOML)])
def test_wrangler_env_section_inherits_main_but_not_vars_or_bindings(
    tmp_path: Path, filename: str, text: str
) -> None:
    config = load_config(cwd=project(tmp_path, filename, text), environ={}, env_name="staging")
    assert config.name == "py-app-staging" and config.main == tmp_path / "src" / "entry.py"
    assert config.vars == {"MODE": "staging"}
    assert {ns.binding for ns in config.kv_namespaces} == {"STAGE_KV"}
    assert config.triggers.crons == ("*/5 * * * *",) and config.site is not None
    with pytest.raises(ConfigError, match=r"--env prod: no env.prod section; defined: staging"):
        load_config(cwd=tmp_path, environ={}, env_name="prod")


def test_wrangler_discovery_order_and_edgeworks_toml_first(tmp_path: Path) -> None:
    (tmp_path / "wrangler.toml").write_text('name = "from-toml"\n')
    sub = tmp_path / "a" / "b"
    sub.mkdir(parents=True)
    assert load_config(cwd=sub, environ={}).name == "from-toml"
    (tmp_path / "wrangler.json").write_text('{"name": "from-json"}')
    assert load_config(cwd=sub, environ={}).name == "from-json"
    (tmp_path / "wrangler.jsonc").write_text('{"name": "from-jsonc", // c\n}')
    assert load_config(cwd=sub, environ={}).name == "from-jsonc"
    (tmp_path / "edgeworks.toml").write_text('name = "native"\n')
    config = load_config(cwd=sub, environ={})
    assert config.name == "native" and not config.is_cloudflare
    assert load_config(tmp_path / "wrangler.toml", environ={}).name == "from-toml"
    with pytest.raises(ConfigError, match="environments need a wrangler config"):
        load_config(cwd=sub, environ={}, env_name="staging")


def test_wrangler_syntax_errors_name_file_line_and_column(tmp_path: Path) -> None:
    (tmp_path / "wrangler.jsonc").write_text('{\n  "name": "x"\n  "main": "a.py"\n}\n')
    with pytest.raises(ConfigError, match=r"wrangler.jsonc:3:3: invalid JSONC: ") as info:
        load_config(cwd=tmp_path, environ={})
    assert "\n" not in str(info.value)
    (tmp_path / "wrangler.jsonc").unlink()
    (tmp_path / "wrangler.toml").write_text('name = "x"\nmain = \n')
    with pytest.raises(ConfigError, match=r"wrangler.toml:2:8: invalid TOML"):
        load_config(cwd=tmp_path, environ={})


def test_wrangler_wrong_types_are_one_line_naming_the_key(tmp_path: Path) -> None:
    cases = {
        '{"kv_namespaces": {"binding": "KV"}}': "kv_namespaces = ",
        '{"vars": ["a"]}': "vars = ",
        '{"assets": {"directory": "p", "run_worker_first": 3}}': "assets.run_worker_first = 3",
        '{"triggers": {"crons": ["not a cron"]}}': "triggers.crons[0] = 'not a cron'",
        '{"limits": {"cpu_ms": "fast"}}': "limits.cpu_ms = 'fast'",
        '{"compatibility_flags": "python_workers"}': "compatibility_flags = ",
    }
    for text, expected in cases.items():
        (tmp_path / "wrangler.json").write_text(text)
        with pytest.raises(ConfigError) as info:
            load_config(cwd=tmp_path, environ={})
        message = str(info.value)
        assert expected in message and "\n" not in message, message
        assert message.startswith(str(tmp_path / "wrangler.json"))


def test_wrangler_unknown_keys_and_unsupported_bindings_are_warnings(tmp_path: Path) -> None:
    (tmp_path / "wrangler.jsonc").write_text(
        """{
      "name": "x", "main": "entry.py", "routes": ["example.com/*"], "account_id": "abc",
      "future_feature": {"on": true}, "var": {},
      "d1_databases": [{"binding": "DB", "database_name": "d", "database_id": "1"}],
      "durable_objects": {"bindings": [{"name": "ROOMS", "class_name": "Room"}]},
      "ai": {"binding": "AI"},
    }"""
    )
    config = load_config(cwd=tmp_path, environ={})
    assert config.cloudflare is not None
    assert config.cloudflare.unsupported == {
        "DB": "D1 database",
        "ROOMS": "Durable Object namespace",
        "AI": "Workers AI",
    }
    lines = config.cloudflare.warnings
    assert len(lines) == 5, lines
    assert any("unknown key 'future_feature' ignored" in line for line in lines)
    assert any("unknown key 'var' ignored (did you mean 'vars'?)" in line for line in lines)
    assert any("binding 'DB' (D1 database) is not supported" in line for line in lines)
    assert not any("routes" in line or "account_id" in line for line in lines)


def test_dev_vars_override_vars_and_dotenv_is_read_only_without_dev_vars(tmp_path: Path) -> None:
    (tmp_path / "wrangler.toml").write_text(
        'name = "x"\n[vars]\nAPI_URL = "https://prod"\nKEEP = "k"\n'
        '[[kv_namespaces]]\nbinding = "KV"\nid = "kv"\n'
    )
    (tmp_path / ".env").write_text("API_URL=http://from-dotenv\nONLY_DOTENV=1\n")
    config = load_config(cwd=tmp_path, environ={})
    secrets = load_dev_vars(config)
    assert secrets == {"API_URL": "http://from-dotenv", "ONLY_DOTENV": "1"}
    (tmp_path / ".dev.vars").write_text("API_URL=http://localhost:9000\n")
    secrets = load_dev_vars(config)
    assert secrets == {"API_URL": "http://localhost:9000"}  # .env is not read now
    local = config.with_secrets(secrets, source=".dev.vars")
    from runtime.env import env_from_config

    env = env_from_config(local, None if not local.kv_bindings else _memory())
    assert env.API_URL == "http://localhost:9000" and env.KEEP == "k"
    cli = config.with_secrets(secrets, source=".dev.vars", vars={"API_URL": "http://cli"})
    assert env_from_config(cli, _memory()).API_URL == "http://cli"
    with pytest.raises(ConfigError, match=r"secrets\.KV is already used by kv_namespaces"):
        config.with_secrets({"KV": "shadow"}, source=".dev.vars")


def test_dev_vars_override_vars_in_edgeworks_toml_too(tmp_path: Path) -> None:
    (tmp_path / "edgeworks.toml").write_text('name = "x"\n[vars]\nAPI_URL = "https://prod"\n')
    (tmp_path / ".dev.vars").write_text("API_URL=http://localhost\n")
    config = load_config(cwd=tmp_path, environ={})
    local = config.with_secrets(load_dev_vars(config))
    from runtime.env import env_from_config

    assert env_from_config(local, None).API_URL == "http://localhost"


def _memory() -> object:
    from kv import open_store

    return open_store("memory://")


def test_wrangler_queues_map_onto_queues_config(tmp_path: Path) -> None:
    (tmp_path / "wrangler.jsonc").write_text(
        """{
      "name": "q", "main": "entry.py",
      "queues": {
        "producers": [{"binding": "JOBS", "queue": "jobs", "delivery_delay": 5}],
        "consumers": [
          {"queue": "jobs", "max_batch_size": 20, "max_retries": 1,
           "dead_letter_queue": "jobs-dlq", "visibility_timeout_ms": 9},
          {"queue": "pulled", "type": "http_pull"},
        ],
      },
      "env": {"staging": {}},
    }"""
    )
    config = load_config(cwd=tmp_path, environ={})
    assert [(p.binding, p.queue, p.delivery_delay) for p in config.queues.producers] == [
        ("JOBS", "jobs", 5)
    ]
    [consumer] = config.queues.consumers
    assert (consumer.queue, consumer.max_batch_size, consumer.dead_letter_queue) == (
        "jobs",
        20,
        "jobs-dlq",
    )
    assert config.cloudflare is not None
    assert config.cloudflare.warnings == (
        f"{tmp_path / 'wrangler.jsonc'}: queues.consumers[0].visibility_timeout_ms ignored",
        f"{tmp_path / 'wrangler.jsonc'}: queues.consumers[1] is an HTTP pull consumer of "
        "'pulled': edgeworks runs only worker consumers; ignored",
    )
    staging = load_config(cwd=tmp_path, environ={}, env_name="staging")
    assert staging.queues.producers == () and staging.queues.consumers == ()  # not inherited
    (tmp_path / "wrangler.jsonc").write_text('{"queues": {"consumers": {"queue": "x"}}}')
    with pytest.raises(ConfigError, match=r"queues.consumers = .* must be an array of objects"):
        load_config(cwd=tmp_path, environ={})
    (tmp_path / "wrangler.jsonc").write_text(
        '{"queues": {"consumers": [{"queue": "x", "max_batch_size": 1000}]}}'
    )
    with pytest.raises(ConfigError, match=r"queues.consumers\[0\].max_batch_size = 1000"):
        load_config(cwd=tmp_path, environ={})


def test_wrangler_errors_name_the_assets_keys_as_written(tmp_path: Path) -> None:
    (tmp_path / "wrangler.json").write_text('{"assets": {"directory": 5}}')
    with pytest.raises(ConfigError, match=r"wrangler.json: assets.directory = 5 is invalid"):
        load_config(cwd=tmp_path, environ={})
    (tmp_path / "wrangler.json").write_text(
        '{"assets": {"directory": "p", "not_found_handling": "spa"}}'
    )
    with pytest.raises(ConfigError, match=r"assets.not_found_handling = 'spa' is invalid"):
        load_config(cwd=tmp_path, environ={})
    (tmp_path / "wrangler.json").write_text('{"site": {"bucket": 5}}')  # Workers Sites
    with pytest.raises(ConfigError, match=r"wrangler.json: site.bucket = 5 is invalid"):
        load_config(cwd=tmp_path, environ={})
