"""The ``edgeworks`` command line: builds the top-level parser and dispatches.

Each command group lives in its own module, ``runtime/commands/<group>.py``, whose
``register(subparsers)`` declares its parser(s) and sets ``func``, a handler
``(args) -> int``. A new group is one module there and one line in ``GROUPS``.

Exit codes: 0 success (also after Ctrl-C or SIGTERM with a clean drain),
1 runtime failure, 2 usage or config error. Errors are one line on stderr,
with a traceback only under ``--debug``.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from collections.abc import Sequence
from typing import Any

from runtime.commands import dev, init, kv, queues, serve, sites
from runtime.commands.common import EXIT_FAILURE, EXIT_OK, EXIT_USAGE, UsageError

# The command groups, in the order `edgeworks --help` lists them.
GROUPS = (kv, queues, sites, serve, dev, init)


def _version() -> str:
    # importlib.metadata costs ~20 ms to import: only `--version` pays for it.
    from importlib import metadata

    try:
        return metadata.version("edgeworks")
    except metadata.PackageNotFoundError:  # pragma: no cover - running from a checkout
        return "0+unknown"


class _VersionAction(argparse.Action):
    """``--version`` that looks the version up only when asked."""

    def __init__(self, option_strings: list[str], dest: str, **kwargs: Any) -> None:
        super().__init__(option_strings, dest, nargs=0, help="show the version and exit")

    def __call__(self, parser: argparse.ArgumentParser, *args: Any, **kwargs: Any) -> None:
        print(f"edgeworks {_version()}")
        parser.exit()


def build_parser() -> argparse.ArgumentParser:
    """The ``edgeworks`` parser with every group of ``GROUPS`` registered."""
    parser = argparse.ArgumentParser(
        prog="edgeworks",
        description="A Workers-style serverless runtime for Python.",
    )
    parser.add_argument("--version", action=_VersionAction)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for group in GROUPS:
        group.register(sub)
    return parser


# --- entry point --------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the exit code (the console script exits with it)."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse exits 2 on usage errors, 0 on --help/--version
        return int(exc.code or 0)
    debug = bool(getattr(args, "debug", False))
    try:
        return int(args.func(args))
    except KeyboardInterrupt:
        return EXIT_OK
    except BrokenPipeError:
        # The reader went away (`edgeworks kv key list | head`): stop quietly, and keep
        # Python from complaining again when it flushes stdout at exit.
        with contextlib.suppress(OSError, ValueError):
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_FAILURE
    except Exception as exc:
        if debug:
            raise
        code = EXIT_USAGE if _is_usage_error(exc) else EXIT_FAILURE
        print(f"error: {exc}", file=sys.stderr)
        return code


def _is_usage_error(exc: BaseException) -> bool:
    """Config and argument errors exit 2; everything else exits 1."""
    if isinstance(exc, UsageError):
        return True
    # ConfigError lives in runtime; import lazily so `edgeworks --version` stays fast.
    from runtime.errors import ConfigError

    return isinstance(exc, ConfigError)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
