"""What every command group shares: exit codes, ``UsageError``, the common options and
the one place where flags become config overrides, and the store a command works on."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeAlias, TypeVar

if TYPE_CHECKING:
    from kv.backends import Store
    from queues import QueueStore
    from runtime.config import Config

__all__ = [
    "CONFIG_FLAGS",
    "EXIT_FAILURE",
    "EXIT_OK",
    "EXIT_USAGE",
    "Subparsers",
    "UsageError",
    "add_common",
    "add_debug",
    "add_listen",
    "config_overrides",
    "confirm",
    "input_file",
    "load_config",
    "with_queue_store",
    "with_store",
]

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_USAGE = 2

# argparse dest of a flag -> the dotted config field it overrides (the only place
# command-line flags turn into configuration; see docs/config.md for the precedence).
CONFIG_FLAGS: Mapping[str, str] = {"kv": "kv.store"}

Subparsers: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"
_T = TypeVar("_T")


class UsageError(Exception):
    """Bad arguments or configuration: exit code 2."""


def add_common(parser: argparse.ArgumentParser) -> None:
    """Options every command that reads edgeworks.toml takes (docs/config.md)."""
    parser.add_argument("--config", metavar="PATH", help="edgeworks.toml to use")
    parser.add_argument("--kv", metavar="URL", help="KV store URL (overrides [kv] store)")
    add_debug(parser)


def add_debug(parser: argparse.ArgumentParser) -> None:
    """``--debug``: errors show their traceback (every command takes it)."""
    parser.add_argument("--debug", action="store_true", help="show tracebacks")


def add_listen(parser: argparse.ArgumentParser, host: str, port: int) -> None:
    """``--host``/``--port`` of the servers (``--port 0``: a free port, printed)."""
    parser.add_argument("--host", default=host, help=f"address to bind ({host})")
    parser.add_argument("--port", type=int, default=port, help=f"port ({port}; 0 = a free port)")


def config_overrides(args: argparse.Namespace) -> dict[str, Any]:
    """The config fields the command line sets (``CONFIG_FLAGS``; flags not given are left out)."""
    return {
        field: getattr(args, dest)
        for dest, field in CONFIG_FLAGS.items()
        if getattr(args, dest, None) is not None
    }


def load_config(args: argparse.Namespace, overrides: Mapping[str, Any] | None = None) -> Config:
    """The configuration of a command: ``--config`` (else discovery from the cwd), then
    ``EDGEWORKS_*`` variables, then flags; ``overrides`` (dotted field -> value,
    ``None`` skipped) are the command's own and win."""
    from runtime.config import load_config

    return load_config(
        getattr(args, "config", None), overrides={**config_overrides(args), **(overrides or {})}
    )


def _open_store(config: Config) -> Store:
    """The configured store, not yet touched (``kv.open_store`` does no I/O)."""
    from kv import open_store

    try:
        return open_store(config.kv.store_url)
    except ValueError as exc:
        raise UsageError(str(exc)) from exc


def with_store(config: Config, work: Callable[[Store], Awaitable[_T]]) -> _T:
    """Run ``work(store)`` on the configured store after its quick check; always closed."""
    return _run_on(_open_store(config), work)


def with_queue_store(config: Config, work: Callable[[QueueStore], Awaitable[_T]]) -> _T:
    """Run ``work(store)`` on the queue store at the configured store URL; always closed."""
    from queues import open_queue_store

    try:
        store = open_queue_store(config.kv.store_url)
    except ValueError as exc:
        raise UsageError(str(exc)) from exc
    return _run_on(store, work)


def _run_on(store: Any, work: Callable[[Any], Awaitable[_T]]) -> _T:
    async def run() -> _T:
        try:
            await store.check()
            return await work(store)
        finally:
            await store.aclose()

    return asyncio.run(run())


def confirm(question: str, assume_yes: bool) -> bool:
    """Ask on a terminal; scripts (no TTY on stdin) and ``--yes`` proceed."""
    if assume_yes or not sys.stdin.isatty():
        return True
    try:
        return input(f"{question} [y/N] ").strip().lower() in ("y", "yes")
    except EOFError:
        return False


def input_file(path: str, what: str) -> Path:
    """A file named on the command line, which must exist (exit 2 otherwise)."""
    file = Path(path)
    if not file.is_file():
        raise UsageError(f"{what} {path!r}: no such file")
    return file
