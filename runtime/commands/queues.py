"""``edgeworks queues``: list, inspect, send to, purge and re-drive queues in the
configured store (docs/queues.md), with wrangler's verbs and rich tables.

Every command works on the store ``[kv] store`` / ``--kv URL`` selects, the
same data ``edgeworks dev`` and ``serve`` use.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from runtime.commands.common import (
    EXIT_FAILURE,
    EXIT_OK,
    Subparsers,
    UsageError,
    add_common,
    confirm,
    load_config,
    with_queue_store,
)

if TYPE_CHECKING:
    from queues import QueueStore
    from runtime.config import Config


def register(sub: Subparsers) -> None:
    """``edgeworks queues list|info|send|purge|retry-dead``."""
    queues = sub.add_parser("queues", help="inspect and manage queues in the configured store")
    commands = queues.add_subparsers(dest="queues_command", metavar="COMMAND", required=True)

    def leaf(name: str, help: str, func: Callable[[argparse.Namespace], int]) -> Any:
        parser = commands.add_parser(name, help=help, description=help)
        add_common(parser)
        parser.set_defaults(func=func)
        return parser

    leaf("list", "every queue with ready, delayed, in-flight and dead-lettered counts", _list)
    p = leaf("info", "one queue's counts, producers and consumer settings", _info)
    p.add_argument("name", metavar="NAME")
    p = leaf("send", "send one message (BODY is JSON unless --content-type says otherwise)", _send)
    p.add_argument("name", metavar="NAME")
    p.add_argument("body", metavar="BODY")
    p.add_argument(
        "--content-type", choices=("json", "text", "bytes"), default="json", help="(json)"
    )
    p.add_argument("--delay", type=int, default=None, metavar="S", help="deliver after S seconds")
    p = leaf("purge", "delete every message of a queue (delayed and in flight too)", _purge)
    p.add_argument("name", metavar="NAME")
    p.add_argument("-y", "--yes", action="store_true", help="do not ask for confirmation")
    p = leaf(
        "retry-dead",
        "move a dead letter queue's messages back to the queue it serves "
        "(NAME: the queue or its dead letter queue)",
        _retry_dead,
    )
    p.add_argument("name", metavar="NAME")


# --- helpers -------------------------------------------------------------------------


def _checked_name(name: str) -> str:
    from queues import check_queue_name

    try:
        return check_queue_name(name)
    except ValueError as exc:
        raise UsageError(str(exc)) from None


async def _known(config: Config, store: QueueStore, name: str) -> None:
    """A ``UsageError`` unless ``name`` is configured or held in the store."""
    from runtime.consumers import queue_names

    known = sorted({*queue_names(config), *await store.list_queues()})
    if name not in known:
        listed = ", ".join(known) or "none"
        raise UsageError(
            f"no queue {name!r} in edgeworks.toml or the store; known queues: {listed}"
        )


def _age(oldest: float | None, now: float) -> str:
    if oldest is None:
        return "-"
    seconds = max(0, int(now - oldest))
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def _console() -> Any:
    from rich.console import Console

    return Console()


# --- commands --------------------------------------------------------------------------


def _list(args: argparse.Namespace) -> int:
    from rich.table import Table

    from runtime.consumers import queue_overview

    config = load_config(args)
    now = time.time()
    rows = with_queue_store(config, lambda store: queue_overview(config, store, now=now))
    table = Table(title=f"Queues in {config.kv.store_url}")
    for column in ("name", "ready", "delayed", "in flight", "dead", "oldest"):
        table.add_column(column, justify="left" if column == "name" else "right")
    for row in rows:
        table.add_row(
            row["name"],
            str(row["ready"]),
            str(row["delayed"]),
            str(row["in_flight"]),
            str(row["dead_lettered"]),
            _age(row["oldest_timestamp"], now),
        )
    if not rows:
        print("No queues.")
        return EXIT_OK
    _console().print(table)
    return EXIT_OK


def _info(args: argparse.Namespace) -> int:
    from rich.table import Table

    config = load_config(args)
    name = _checked_name(args.name)
    now = time.time()

    async def work(store: QueueStore) -> Any:
        await _known(config, store, name)
        return await store.counts(name, now)

    counts = with_queue_store(config, work)
    table = Table(title=f"Queue {name}", show_header=False)
    table.add_column("field")
    table.add_column("value")
    table.add_row("ready", str(counts.ready))
    table.add_row("delayed", str(counts.delayed))
    table.add_row("in flight", str(counts.in_flight))
    table.add_row("backlog bytes", str(counts.backlog_bytes))
    table.add_row("oldest message", _age(counts.oldest_timestamp, now))
    producers = [p.binding for p in config.queues.producers if p.queue == name]
    table.add_row("producers", ", ".join(producers) or "-")
    consumer = config.queues.consumer(name)
    if consumer is None:
        table.add_row("consumer", "-")
    else:
        for field, value in consumer.model_dump(exclude={"queue", "type"}).items():
            table.add_row(field, "-" if value is None else str(value))
    _console().print(table)
    return EXIT_OK


def _send(args: argparse.Namespace) -> int:
    from queues import Queue, QueueError

    config = load_config(args)
    name = _checked_name(args.name)
    body: Any = args.body
    if args.content_type == "json":
        try:
            body = json.loads(args.body)
        except json.JSONDecodeError as exc:
            raise UsageError(
                f"BODY is not JSON ({exc.msg}); quote it as JSON or pass --content-type text"
            ) from None
    elif args.content_type == "bytes":
        body = args.body.encode()

    async def work(store: QueueStore) -> None:
        await _known(config, store, name)
        await Queue(store, name).send(
            body, content_type=args.content_type, delay_seconds=args.delay
        )

    try:
        with_queue_store(config, work)
    except (QueueError, TypeError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_FAILURE
    delay = f" (delivered after {args.delay} s)" if args.delay else ""
    print(f"Sent 1 message to queue {name!r}{delay}.")
    return EXIT_OK


def _purge(args: argparse.Namespace) -> int:
    config = load_config(args)
    name = _checked_name(args.name)

    async def work(store: QueueStore) -> int | None:
        await _known(config, store, name)
        if not confirm(f"Delete every message of queue {name!r}?", args.yes):
            return None
        return await store.purge(name)

    purged = with_queue_store(config, work)
    if purged is None:
        print("Not purged.", file=sys.stderr)
        return EXIT_FAILURE
    print(f"Purged {purged} message(s) from queue {name!r}.")
    return EXIT_OK


def _retry_dead(args: argparse.Namespace) -> int:
    config = load_config(args)
    name = _checked_name(args.name)
    source = target = None
    for consumer in config.queues.consumers:
        if consumer.dead_letter_queue is None:
            continue
        if name in (consumer.queue, consumer.dead_letter_queue):
            source, target = consumer.dead_letter_queue, consumer.queue
    if source is None or target is None:
        raise UsageError(
            f"no consumer of {name!r} has a dead letter queue, and {name!r} is no consumer's "
            "dead letter queue: set dead_letter_queue in its [[queues.consumers]] entry"
        )
    moved = with_queue_store(config, lambda store: store.transfer(source, target, time.time()))
    print(f"Moved {moved} message(s) from {source!r} back to {target!r}.")
    return EXIT_OK
