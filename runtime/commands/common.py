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
    "ADMIN_TOKEN_ENV",
    "CONFIG_FLAGS",
    "EXIT_FAILURE",
    "EXIT_OK",
    "EXIT_USAGE",
    "Subparsers",
    "UsageError",
    "add_admin_token",
    "add_common",
    "add_debug",
    "add_listen",
    "add_vars",
    "admin_token",
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
    """Options every command that reads the config takes (docs/config.md)."""
    parser.add_argument(
        "--config",
        metavar="PATH",
        help="config to use: edgeworks.toml or wrangler.jsonc/.json/.toml (default: found "
        "from the current folder up)",
    )
    parser.add_argument(
        "--env", metavar="NAME", help="use the env.NAME section of a wrangler config"
    )
    parser.add_argument("--kv", metavar="URL", help="KV store URL (overrides [kv] store)")
    add_debug(parser)


def add_debug(parser: argparse.ArgumentParser) -> None:
    """``--debug``: errors show their traceback (every command takes it)."""
    parser.add_argument("--debug", action="store_true", help="show tracebacks")


def add_vars(parser: argparse.ArgumentParser) -> None:
    """``--var NAME:VALUE`` of the servers: wins over [vars] and secrets (wrangler's flag)."""
    parser.add_argument(
        "--var",
        action="append",
        default=[],
        type=_var,
        metavar="NAME:VALUE",
        dest="vars",
        help="set env.NAME to VALUE, over [vars] and .dev.vars (repeatable)",
    )


def _var(text: str) -> tuple[str, str]:
    name, sep, value = text.partition(":")
    if not sep or not name:
        raise argparse.ArgumentTypeError(
            f"{text!r}: write NAME:VALUE, e.g. API_URL:http://localhost"
        )
    return name, value


def add_listen(parser: argparse.ArgumentParser, host: str, port: int) -> None:
    """``--host``/``--port`` of the servers (``--port 0``: a free port, printed)."""
    parser.add_argument("--host", default=host, help=f"address to bind ({host})")
    parser.add_argument("--port", type=int, default=port, help=f"port ({port}; 0 = a free port)")


ADMIN_TOKEN_ENV = "EDGEWORKS_ADMIN_TOKEN"  # the admin token when --admin-token is not given


def add_admin_token(parser: argparse.ArgumentParser, help: str) -> None:
    """``--admin-token TOKEN`` of the servers (docs/admin-api.md)."""
    parser.add_argument("--admin-token", metavar="TOKEN", help=f"{help} (or ${ADMIN_TOKEN_ENV})")


def admin_token(args: argparse.Namespace) -> str | None:
    """The admin token: ``--admin-token``, else ``$EDGEWORKS_ADMIN_TOKEN`` (empty: unset),
    else ``None``."""
    import os

    if args.admin_token is None:
        return os.environ.get(ADMIN_TOKEN_ENV) or None
    if not args.admin_token.strip():
        raise UsageError("--admin-token must not be empty")
    token: str = args.admin_token
    return token


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
        getattr(args, "config", None),
        overrides={**config_overrides(args), **(overrides or {})},
        env_name=getattr(args, "env", None),
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
    """A regular file named on the command line (exit 2 otherwise, saying why: a
    directory or a device would otherwise be read as data or block forever)."""
    file = Path(path)
    if file.is_file():
        return file
    if file.is_dir():
        raise UsageError(f"{what} {path!r}: is a directory; give a file")
    if file.exists():
        raise UsageError(f"{what} {path!r}: not a regular file (a device, FIFO or socket)")
    raise UsageError(f"{what} {path!r}: no such file")
