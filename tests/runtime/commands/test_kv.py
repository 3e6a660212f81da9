"""The ``edgeworks kv`` commands (``runtime/commands/kv.py``) and the shared config/store
handling (``runtime/commands/common.py``), through ``cli.main``."""

from __future__ import annotations

import base64
import json
import os
import time
from pathlib import Path

import pytest

import cli
from kv.limits import MAX_KEY_BYTES, MAX_VALUE_BYTES
from tests.support import free_port

CONFIG = """
[[kv_namespaces]]
binding = "COUNTER"
id = "counter"

[[kv_namespaces]]
binding = "SHARED"
id = "counter"

[[kv_namespaces]]
binding = "OTHER"
id = "other"

[kv]
store = "state/kv.sqlite3"
"""


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A project folder as the cwd, with its own SQLite store and no EDGEWORKS_* leaking in."""
    for name in list(os.environ):
        if name.startswith("EDGEWORKS_"):
            monkeypatch.delenv(name)
    (tmp_path / "edgeworks.toml").write_text(CONFIG)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def ok(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    code, out, err = run(capsys, *argv)
    assert code == 0, (argv, out, err)
    return out


def listed(capsys: pytest.CaptureFixture[str], *selector: str) -> list[dict[str, object]]:
    result: list[dict[str, object]] = json.loads(ok(capsys, "kv", "key", "list", *selector))
    return result


def one_line_error(err: str) -> str:
    assert err.startswith("error: ") and "Traceback" not in err
    assert err.count("\n") == 1, err
    return err


# --- keys ---------------------------------------------------------------------------


def test_cli_key_round_trip(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = ok(capsys, "kv", "key", "put", "--binding", "COUNTER", "greeting", "héllo")
    assert "greeting" in out and "counter" in out
    assert ok(capsys, "kv", "key", "get", "--binding", "COUNTER", "greeting") == "héllo"
    assert ok(capsys, "kv", "key", "get", "--binding", "COUNTER", "greeting", "--text") == "héllo\n"
    assert listed(capsys, "--binding", "COUNTER") == [{"name": "greeting"}]
    ok(capsys, "kv", "key", "delete", "--binding", "COUNTER", "greeting")
    assert listed(capsys, "--binding", "COUNTER") == []
    code, out, err = run(capsys, "kv", "key", "get", "--binding", "COUNTER", "greeting")
    assert (code, out, err) == (1, "", "Value not found\n")
    # The data lives in the configured store, relative to the config file.
    assert (project / "state" / "kv.sqlite3").is_file()


def test_cli_key_get_writes_raw_bytes(
    project: Path, capsysbinary: pytest.CaptureFixture[bytes]
) -> None:
    blob = bytes(range(256)) * 300
    (project / "blob.bin").write_bytes(blob)
    assert (
        cli.main(["kv", "key", "put", "--namespace-id", "counter", "b", "--path", "blob.bin"]) == 0
    )
    capsysbinary.readouterr()
    assert cli.main(["kv", "key", "get", "--namespace-id", "counter", "b"]) == 0
    assert capsysbinary.readouterr().out == blob


def test_cli_key_put_ttl_expiration_and_metadata(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = int(time.time())
    ok(capsys, "kv", "key", "put", "--binding", "COUNTER", "a", "1", "--ttl", "3600")
    ok(
        capsys, "kv", "key", "put", "--binding", "COUNTER", "b", "2",
        "--expiration", str(before + 7200), "--metadata", '{"owner": "me"}',
    )  # fmt: skip
    items = listed(capsys, "--binding", "COUNTER")
    assert items[0]["name"] == "a" and "metadata" not in items[0]
    assert before + 3600 <= int(str(items[0]["expiration"])) <= int(time.time()) + 3600
    assert items[1] == {"name": "b", "expiration": before + 7200, "metadata": {"owner": "me"}}


def test_cli_key_put_rejects_bad_input(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    base = ["kv", "key", "put", "--binding", "COUNTER"]
    cases = [
        ([*base, "k", "v", "--ttl", "10"], 1, "KV PUT failed: 400 Invalid expiration_ttl of 10."),
        ([*base, "k", "v", "--expiration", "5"], 1, "KV PUT failed: 400 Invalid expiration of 5."),
        ([*base, "", "v"], 1, "Key name cannot be empty."),
        ([*base, "..", "v"], 1, '".." is not allowed as a key name.'),
        ([*base, "k" * (MAX_KEY_BYTES + 1), "v"], 1, "414 UTF-8 encoded length of 513"),
        ([*base, "k", "v", "--metadata", "{nope"], 2, "--metadata must be valid JSON"),
        ([*base, "k", "v", "--metadata", "[1]"], 2, "--metadata must be a JSON object"),
        ([*base, "k"], 2, "exactly one of VALUE or --path"),
        ([*base, "k", "v", "--path", "x"], 2, "exactly one of VALUE or --path"),
        ([*base, "k", "--path", "missing.bin"], 2, "--path 'missing.bin': no such file"),
    ]
    for argv, code, fragment in cases:
        got, _, err = run(capsys, *argv)
        assert got == code and fragment in one_line_error(err), (argv, err)
    assert listed(capsys, "--binding", "COUNTER") == []  # nothing written


def test_cli_key_put_too_large_file_is_a_413(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (project / "big.bin").write_bytes(b"x" * (MAX_VALUE_BYTES + 1))
    code, _, err = run(
        capsys, "kv", "key", "put", "--binding", "COUNTER", "big", "--path", "big.bin"
    )
    assert code == 1 and "KV PUT failed: 413 Value length of" in one_line_error(err)
    assert listed(capsys, "--binding", "COUNTER") == []


# --- namespaces and selection ----------------------------------------------------------


def test_cli_namespace_create_list_delete(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert json.loads(ok(capsys, "kv", "namespace", "list")) == []
    out = ok(capsys, "kv", "namespace", "create", "my-cache")
    assert 'binding = "MY_CACHE"' in out and 'id = "my-cache"' in out
    code, _, err = run(capsys, "kv", "namespace", "create", "my-cache")
    assert code == 1 and "already exists" in err
    ok(capsys, "kv", "key", "put", "--binding", "SHARED", "k", "v")
    assert json.loads(ok(capsys, "kv", "namespace", "list")) == [
        {"id": "counter", "bindings": ["COUNTER", "SHARED"]},
        {"id": "my-cache", "bindings": []},
    ]
    ok(capsys, "kv", "namespace", "delete", "my-cache")
    ok(capsys, "kv", "namespace", "delete", "--binding", "COUNTER")
    assert json.loads(ok(capsys, "kv", "namespace", "list")) == []
    assert listed(capsys, "--binding", "SHARED") == []  # its keys went with it
    code, _, err = run(capsys, "kv", "namespace", "delete", "nope")
    assert code == 1 and "no namespace 'nope'" in err


def test_cli_binding_and_namespace_id_select_the_same_data(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ok(capsys, "kv", "key", "put", "--binding", "COUNTER", "k", "one")
    assert ok(capsys, "kv", "key", "get", "--namespace-id", "counter", "k") == "one"
    assert ok(capsys, "kv", "key", "get", "--binding", "SHARED", "k") == "one"  # same id
    code, _, _ = run(capsys, "kv", "key", "get", "--binding", "OTHER", "k")
    assert code == 1  # namespaces are isolated


def test_cli_namespace_selection_errors_exit_2(
    project: Path, tmp_path_factory: pytest.TempPathFactory, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(capsys, "kv", "key", "list")
    assert code == 2 and "--binding NAME" in one_line_error(err)
    code, _, err = run(capsys, "kv", "key", "list", "--binding", "NOPE")
    assert code == 2 and "NOPE" in err and "COUNTER, OTHER, SHARED" in one_line_error(err)
    code, _, err = run(capsys, "kv", "key", "list", "--binding", "A", "--namespace-id", "b")
    assert code == 2 and "not allowed with" in err  # argparse: mutually exclusive
    empty = tmp_path_factory.mktemp("no-config")
    os.chdir(empty)
    code, _, err = run(capsys, "kv", "key", "list", "--binding", "COUNTER")
    assert code == 2 and "no edgeworks.toml" in one_line_error(err) and "--namespace-id" in err
    assert not (empty / ".edgeworks").exists()  # nothing created on an error


def test_cli_store_override_flag_and_env(
    project: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    ok(capsys, "kv", "key", "put", "--binding", "COUNTER", "k", "flag", "--kv", "other.sqlite3")
    assert (project / "other.sqlite3").is_file()
    assert listed(capsys, "--binding", "COUNTER") == []  # the configured store is untouched
    monkeypatch.setenv("EDGEWORKS_KV_STORE", "other.sqlite3")
    assert ok(capsys, "kv", "key", "get", "--binding", "COUNTER", "k") == "flag"


def test_cli_config_error_exits_2(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (project / "edgeworks.toml").write_text('[kv]\nstor = "memory"\n')
    code, _, err = run(capsys, "kv", "key", "list", "--namespace-id", "x")
    assert code == 2 and "did you mean 'store'" in one_line_error(err)


def test_cli_store_unavailable_is_one_line(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"redis://127.0.0.1:{free_port()}/0"
    code, _, err = run(capsys, "kv", "key", "get", "--namespace-id", "x", "k", "--kv", url)
    assert code == 1 and url in one_line_error(err)


def test_cli_corrupt_store_is_a_clear_error(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (project / "state").mkdir()
    (project / "state" / "kv.sqlite3").write_bytes(b"not a database" * 512)
    code, _, err = run(capsys, "kv", "key", "list", "--binding", "COUNTER")
    assert code == 1 and "kv.sqlite3" in one_line_error(err) and "damaged" in err
    assert (project / "state" / "kv.sqlite3").read_bytes() == b"not a database" * 512


def test_cli_debug_shows_the_traceback(project: Path) -> None:
    with pytest.raises(TypeError, match="Key name cannot be empty"):
        cli.main(["kv", "key", "put", "--binding", "COUNTER", "", "v", "--debug"])


# --- bulk ---------------------------------------------------------------------------------


def write_json(folder: Path, value: object, name: str = "bulk.json") -> str:
    (folder / name).write_text(json.dumps(value))
    return name


def test_cli_bulk_put_get_delete(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    now = int(time.time())
    items = [
        {"key": "plain", "value": "text"},
        {"key": "bin", "value": base64.b64encode(b"\xff\x00raw").decode(), "base64": True},
        {"key": "ttl", "value": "t", "expiration_ttl": 600, "expiration": 1},  # TTL wins
        {"key": "abs", "value": "a", "expiration": now + 3600, "metadata": {"m": [1, 2]}},
    ]
    out = ok(capsys, "kv", "bulk", "put", "--binding", "COUNTER", write_json(project, items))
    assert "Wrote 4 key(s)" in out
    by_name = {i["name"]: i for i in listed(capsys, "--binding", "COUNTER")}
    assert sorted(by_name) == ["abs", "bin", "plain", "ttl"]
    assert by_name["abs"] == {"name": "abs", "expiration": now + 3600, "metadata": {"m": [1, 2]}}
    assert now + 600 <= int(str(by_name["ttl"]["expiration"])) <= int(time.time()) + 600
    keys = write_json(project, ["plain", {"name": "abs"}, "missing"], "keys.json")
    got = json.loads(ok(capsys, "kv", "bulk", "get", "--binding", "COUNTER", keys))
    assert got == {"plain": "text", "abs": "a", "missing": None}
    ok(capsys, "kv", "bulk", "delete", "--binding", "COUNTER", keys)
    assert [i["name"] for i in listed(capsys, "--binding", "COUNTER")] == ["bin", "ttl"]


def test_cli_bulk_raw_bytes_round_trip(
    project: Path, capsysbinary: pytest.CaptureFixture[bytes]
) -> None:
    raw = b"\xff\x00\x80binary"
    name = write_json(
        project, [{"key": "b", "value": base64.b64encode(raw).decode(), "base64": True}]
    )
    assert cli.main(["kv", "bulk", "put", "--namespace-id", "n", name]) == 0
    capsysbinary.readouterr()
    assert cli.main(["kv", "key", "get", "--namespace-id", "n", "b"]) == 0
    assert capsysbinary.readouterr().out == raw


def test_cli_bulk_put_is_one_batch_and_list_follows_cursors(
    project: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from kv.backends.sqlite import SQLiteStore

    batches: list[int] = []
    original = SQLiteStore.write_batch

    async def counting(self: SQLiteStore, namespace: str, ops: list[object]) -> None:
        batches.append(len(ops))
        await original(self, namespace, ops)  # type: ignore[arg-type]

    monkeypatch.setattr(SQLiteStore, "write_batch", counting)
    items = [{"key": f"k{i:05d}", "value": str(i)} for i in range(2500)]
    ok(capsys, "kv", "bulk", "put", "--binding", "COUNTER", write_json(project, items))
    assert batches == [2500]
    names = [i["name"] for i in listed(capsys, "--binding", "COUNTER")]
    assert names == [item["key"] for item in items]  # 3 pages of at most 1000
    prefixed = listed(capsys, "--binding", "COUNTER", "--prefix", "k0001")
    assert len(prefixed) == 10
    keys = write_json(project, [item["key"] for item in items[:150]], "keys.json")
    got = json.loads(ok(capsys, "kv", "bulk", "get", "--binding", "COUNTER", keys))
    assert len(got) == 150 and got["k00149"] == "149"  # more than one bulk get of 100


def test_cli_bulk_put_reports_every_bad_item_and_writes_nothing(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    now = int(time.time())
    items: list[object] = [
        {"key": "good", "value": "ok"},  # 0: fine, but nothing may be written
        "just a string",  # 1
        {"value": "no key"},  # 2
        {"key": "k3"},  # 3
        {"key": 4, "value": "v"},  # 4
        {"key": "k5", "value": 5},  # 5
        {"key": "k6", "value": "!!not base64!!", "base64": True},  # 6
        {"key": "k7", "value": "v", "expiration_ttl": 30},  # 7
        {"key": "k8", "value": "v", "expiration": now - 10},  # 8
        {"key": "k9", "value": "v", "expiration_ttl": "60"},  # 9
        {"key": "k" * (MAX_KEY_BYTES + 1), "value": "v"},  # 10
        {"key": "k11", "value": "v", "metadata": {"x": "y" * 1100}},  # 11
        {"key": "k12", "value": "v", "metadata": "not an object"},  # 12
        {"key": "", "value": "v"},  # 13
        {"key": "k14", "value": "v", "base64": "yes"},  # 14
        {"key": "k15", "value": "x" * (MAX_VALUE_BYTES + 1)},  # 15
    ]
    code, _, err = run(
        capsys, "kv", "bulk", "put", "--binding", "COUNTER", write_json(project, items)
    )
    assert code == 1 and "Traceback" not in err
    lines = err.splitlines()
    assert lines[0] == "error: bulk.json: 15 invalid item(s), nothing was written"
    expected = {
        1: "must be an object",
        2: "key is required",
        3: "value is required",
        4: "key must be a string, got a number",
        5: "value must be a string, got a number",
        6: "not valid base64",
        7: "Expiration TTL must be at least 60",
        8: f"Invalid expiration of {now - 10}",
        9: "expiration_ttl must be a number, got a string",
        10: "414 UTF-8 encoded length of 513",
        11: "413 Metadata length of",
        12: "metadata must be an object, got a string",
        13: "Key name cannot be empty.",
        14: "base64 must be a boolean",
        15: "413 Value length of 26214401 exceeds limit of 26214400.",
    }
    assert len(lines) == 1 + len(expected)
    for line, (index, fragment) in zip(lines[1:], sorted(expected.items()), strict=True):
        assert line.startswith(f"  item {index}") and fragment in line, (index, line)
    assert listed(capsys, "--binding", "COUNTER") == []


def test_cli_bulk_files_that_are_not_arrays(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (project / "bad.json").write_text('[{"key": "a", "value": ')
    for command in ("put", "delete", "get"):
        code, _, err = run(capsys, "kv", "bulk", command, "--binding", "COUNTER", "bad.json")
        assert code == 1 and "bad.json: not valid JSON" in one_line_error(err)
    name = write_json(project, {"key": "a", "value": "b"})
    code, _, err = run(capsys, "kv", "bulk", "put", "--binding", "COUNTER", name)
    assert "must be a JSON array" in one_line_error(err) and "got an object" in err
    code, _, err = run(capsys, "kv", "bulk", "put", "--binding", "COUNTER", "nope.json")
    assert code == 2 and "no such file" in one_line_error(err)


def test_cli_bulk_delete_and_get_report_bad_keys(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ok(capsys, "kv", "key", "put", "--binding", "COUNTER", "keep", "v")
    name = write_json(project, ["keep", "", {"nam": "x"}, 7, {"name": 8}, "."])
    code, _, err = run(capsys, "kv", "bulk", "delete", "--binding", "COUNTER", name)
    lines = err.splitlines()
    assert code == 1 and lines[0] == "error: bulk.json: 5 invalid item(s), nothing was written"
    assert "item 1" in lines[1] and "Key name cannot be empty." in lines[1]
    assert "item 2" in lines[2] and "name is required" in lines[2]
    assert "item 3" in lines[3] and "got a number" in lines[3]
    assert "item 4" in lines[4] and "name must be a string" in lines[4]
    assert "item 5" in lines[5] and '"." is not allowed' in lines[5]
    assert [i["name"] for i in listed(capsys, "--binding", "COUNTER")] == ["keep"]
    code, _, err = run(capsys, "kv", "bulk", "get", "--binding", "COUNTER", name)
    assert code == 1 and "5 invalid item(s)" in err


def test_cli_bulk_put_warns_about_unknown_fields(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    name = write_json(project, [{"key": "a", "value": "v", "expiration_tll": 600}])
    code, _, err = run(capsys, "kv", "bulk", "put", "--binding", "COUNTER", name)
    assert code == 0 and "unknown field 'expiration_tll' ignored" in err
    assert "did you mean 'expiration_ttl'" in err


def test_cli_bulk_put_rejects_what_json_and_kv_do_not_allow(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = (
        '[{"key": "\\ud800", "value": "v"},'
        ' {"key": "k1", "value": "\\udfff"},'
        ' {"key": "k2", "value": "v", "expiration_ttl": 1e30},'
        ' {"key": "k3", "value": "v", "expiration": 253402300800000},'
        ' {"key": "k4", "value": "v", "expiration_ttl": 60.5}]'
    )
    (project / "odd.json").write_text(text)
    code, _, err = run(capsys, "kv", "bulk", "put", "--binding", "COUNTER", "odd.json")
    lines = err.splitlines()
    assert code == 1 and lines[0].endswith("5 invalid item(s), nothing was written")
    assert "item 0" in lines[1] and "400" in lines[1] and "UTF-8" in lines[1]
    assert "item 1" in lines[2] and "400" in lines[2] and "UTF-8" in lines[2]
    assert "item 2" in lines[3] and "Invalid expiration_ttl" in lines[3]
    assert "item 3" in lines[4] and "Invalid expiration of" in lines[4]
    assert "item 4" in lines[5] and "Please specify integer" in lines[5]
    (project / "nan.json").write_text('[{"key": "k", "value": "v", "metadata": {"x": NaN}}]')
    code, _, err = run(capsys, "kv", "bulk", "put", "--binding", "COUNTER", "nan.json")
    assert code == 1 and "NaN is not valid JSON" in one_line_error(err)
    (project / "deep.json").write_text("[" * 100_000 + "]" * 100_000)
    code, _, err = run(capsys, "kv", "bulk", "put", "--binding", "COUNTER", "deep.json")
    assert code == 1 and "not valid JSON" in one_line_error(err)
    code, _, err = run(
        capsys, "kv", "key", "put", "--binding", "COUNTER", "k", "v", "--metadata", '{"x": NaN}'
    )
    assert code == 2 and "--metadata must be valid JSON" in one_line_error(err)
    assert listed(capsys, "--binding", "COUNTER") == []


def test_cli_bulk_file_with_a_byte_order_mark(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (project / "bom.json").write_bytes(b"\xef\xbb\xbf" + b'[{"key": "a", "value": "b"}]')
    ok(capsys, "kv", "bulk", "put", "--binding", "COUNTER", "bom.json")
    assert listed(capsys, "--binding", "COUNTER") == [{"name": "a"}]


def test_cli_memory_store_warns(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(
        capsys, "kv", "key", "put", "--namespace-id", "n", "k", "v", "--kv", "memory"
    )
    assert code == 0 and "warning: the KV store is memory://" in err


def test_cli_broken_pipe_is_quiet(
    project: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    def closed_reader(args: object) -> int:
        raise BrokenPipeError(32, "Broken pipe")

    from runtime.commands import kv as kv_commands

    monkeypatch.setattr(kv_commands, "_kv_key_list", closed_reader)
    code, _, err = run(capsys, "kv", "key", "list", "--binding", "COUNTER")
    assert code == 1 and err == ""


def test_cli_real_process_pipe_closed_early(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`edgeworks kv key list | head -c 100`: the reader leaves; no traceback, no hang."""
    import signal
    import subprocess

    from tests.support import EDGEWORKS, REPO_ROOT

    items = [{"key": f"key-{i:05d}", "value": "v"} for i in range(3000)]
    ok(capsys, "kv", "bulk", "put", "--binding", "COUNTER", write_json(project, items))
    env = {k: v for k, v in os.environ.items() if not k.startswith("EDGEWORKS_")}
    env["PYTHONPATH"] = str(REPO_ROOT)
    proc = subprocess.Popen(
        [*EDGEWORKS, "kv", "key", "list", "--binding", "COUNTER"],
        cwd=project,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    try:
        assert proc.stdout is not None and proc.stderr is not None
        assert proc.stdout.read(100).startswith(b"[")
        proc.stdout.close()
        code = proc.wait(timeout=30)
        err = proc.stderr.read().decode()
    finally:
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait()
    assert code == 1 and err == "", err  # no traceback, no "Exception ignored"


def test_cli_key_put_from_stdin(
    project: Path, capsysbinary: pytest.CaptureFixture[bytes], monkeypatch: pytest.MonkeyPatch
) -> None:
    import io
    import sys

    raw = b"\x00piped\xff" * 1000
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(raw)))
    assert cli.main(["kv", "key", "put", "--binding", "COUNTER", "p", "--path", "-"]) == 0
    capsysbinary.readouterr()
    assert cli.main(["kv", "key", "get", "--binding", "COUNTER", "p"]) == 0
    assert capsysbinary.readouterr().out == raw
