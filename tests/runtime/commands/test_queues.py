"""The ``edgeworks queues`` commands through ``cli.main``, on the project's SQLite store."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest

import cli
from queues import Consumer, ConsumerSettings, MessageBatch, open_queue_store

CONFIG = """
[[queues.producers]]
binding = "JOBS"
queue = "jobs"

[[queues.consumers]]
queue = "jobs"
max_retries = 0
dead_letter_queue = "jobs-dlq"

[kv]
store = "state/kv.sqlite3"
"""


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name in list(os.environ):
        if name.startswith("EDGEWORKS_"):
            monkeypatch.delenv(name)
    (tmp_path / "edgeworks.toml").write_text(CONFIG)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("COLUMNS", "200")
    return tmp_path


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = cli.main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def fail_everything(project: Path) -> None:
    """Deliver the queue once with a failing handler (max_retries 0: dead-lettered)."""

    async def work() -> None:
        store = open_queue_store(f"sqlite:///{project}/state/kv.sqlite3")

        async def handler(batch: MessageBatch) -> None:
            raise RuntimeError("fail")

        settings = ConsumerSettings("jobs", max_retries=0, dead_letter_queue="jobs-dlq")
        await Consumer(store, settings, handler).deliver_ready()
        await store.aclose()

    asyncio.run(work())


def test_queues_send_list_info_retry_dead_purge(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(capsys, "queues", "send", "jobs", '{"n": 1}')[:2] == (
        0,
        "Sent 1 message to queue 'jobs'.\n",
    )
    assert (
        run(capsys, "queues", "send", "jobs", "hi", "--content-type", "text", "--delay", "60")[0]
        == 0
    )
    code, out, _ = run(capsys, "queues", "list")
    assert code == 0
    row = next(line for line in out.splitlines() if " jobs " in line)
    assert [cell.strip() for cell in row.split("│")[1:-1]] == ["jobs", "1", "1", "0", "0", "0s"]
    code, out, _ = run(capsys, "queues", "info", "jobs")
    assert code == 0 and "dead_letter_queue" in out and "JOBS" in out

    fail_everything(project)
    code, out, _ = run(capsys, "queues", "list")
    row = next(line for line in out.splitlines() if " jobs " in line)
    assert [cell.strip() for cell in row.split("│")[1:-1]][4] == "1"  # dead-lettered
    code, out, _ = run(capsys, "queues", "retry-dead", "jobs-dlq")
    assert (code, out) == (0, "Moved 1 message(s) from 'jobs-dlq' back to 'jobs'.\n")
    code, out, _ = run(capsys, "queues", "purge", "jobs", "--yes")
    assert (code, out) == (0, "Purged 2 message(s) from queue 'jobs'.\n")


def test_queues_bad_input(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "queues", "send", "nope", "1")
    assert code == 2 and "no queue 'nope' in edgeworks.toml or the store" in err
    code, _, err = run(capsys, "queues", "send", "bad/name", "1")
    assert code == 2 and "queue name 'bad/name' is invalid" in err
    code, _, err = run(capsys, "queues", "send", "jobs", "not json")
    assert code == 2 and "BODY is not JSON" in err
    code, _, err = run(capsys, "queues", "send", "jobs", "1", "--delay", "90000")
    assert code == 1 and "message delay 90000 is invalid" in err
    code, _, err = run(capsys, "queues", "retry-dead", "other")
    assert code == 2 and "no consumer of 'other' has a dead letter queue" in err
