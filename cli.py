"""The ``edgeworks`` command line: thin, it parses arguments and calls into the packages.

Exit codes: 0 success (also after Ctrl-C or SIGTERM with a clean drain),
1 runtime failure, 2 usage or config error. Errors are one line on stderr,
with a traceback only under ``--debug``.

Each command group has one ``_add_<group>`` function that declares its parser
and sets ``func`` to a handler ``(args) -> int``.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from importlib import metadata

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_USAGE = 2


class UsageError(Exception):
    """Bad arguments or configuration: exit code 2."""


def _version() -> str:
    try:
        return metadata.version("edgeworks")
    except metadata.PackageNotFoundError:  # pragma: no cover - running from a checkout
        return "0+unknown"


def _add_common(parser: argparse.ArgumentParser) -> None:
    """Options every command takes (spec/dev.md §0)."""
    parser.add_argument("--config", metavar="PATH", help="edgeworks.toml to use")
    parser.add_argument("--kv", metavar="URL", help="KV store URL (overrides [kv] store)")
    parser.add_argument("--debug", action="store_true", help="show tracebacks")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="edgeworks",
        description="A Workers-style serverless runtime for Python.",
    )
    parser.add_argument("--version", action="version", version=f"edgeworks {_version()}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for add in (_add_kv, _add_sites, _add_serve, _add_dev, _add_init):
        add(sub)
    return parser


# --- kv ---------------------------------------------------------------------


def _add_kv(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    pass


# --- sites --------------------------------------------------------------------


def _add_sites(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    pass


# --- serve --------------------------------------------------------------------


def _add_serve(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    pass


# --- dev ----------------------------------------------------------------------


def _add_dev(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser(
        "dev",
        help="run the hot-reloading dev server",
        description="Serve the worker on 127.0.0.1:8787, reload it on every save, keep KV "
        "state in .edgeworks/state (spec/dev.md §1).",
    )
    parser.add_argument("worker", nargs="?", metavar="WORKER.py", help="worker file (else main)")
    _add_common(parser)
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (127.0.0.1)")
    parser.add_argument("--port", type=int, default=8787, help="port (8787; 0 = a free port)")
    state = parser.add_mutually_exclusive_group()
    state.add_argument("--persist-to", metavar="DIR", help="keep KV state in DIR (SQLite)")
    state.add_argument("--ephemeral", action="store_true", help="KV in memory, gone on exit")
    parser.add_argument(
        "--live-reload",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="reload open pages after each reload (default: on for [site] projects)",
    )
    parser.add_argument(
        "--poll", action="store_true", help="watch by polling (network drives, containers)"
    )
    parser.set_defaults(func=_run_dev)


def _run_dev(args: argparse.Namespace) -> int:
    from pathlib import Path

    from runtime.dev import DevOptions, run_dev

    options = DevOptions(
        worker=Path(args.worker) if args.worker else None,
        config=Path(args.config) if args.config else None,
        host=args.host,
        port=args.port,
        kv=args.kv,
        persist_to=Path(args.persist_to) if args.persist_to else None,
        ephemeral=args.ephemeral,
        live_reload=args.live_reload,
        force_polling=True if args.poll else None,
    )
    return run_dev(options)


# --- init ---------------------------------------------------------------------


def _add_init(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    from runtime.init import TEMPLATES

    parser = sub.add_parser(
        "init",
        help="write a new project from a template",
        description="Write a ready-to-run project (worker, edgeworks.toml, .gitignore, "
        "a pytest config and a test) into DIR. Existing files are never overwritten.",
    )
    parser.add_argument("dir", nargs="?", default=".", metavar="DIR", help="target folder")
    parser.add_argument("--template", choices=TEMPLATES, default=TEMPLATES[0])
    parser.add_argument("--name", help="project name (default: the folder's name)")
    parser.add_argument("--debug", action="store_true", help="show tracebacks")
    parser.set_defaults(func=_run_init)


def _run_init(args: argparse.Namespace) -> int:
    from pathlib import Path

    from runtime.init import init_project

    target = Path(args.dir)
    try:
        written = init_project(target, template=args.template, name=args.name)
    except (FileExistsError, ValueError) as exc:
        raise UsageError(str(exc)) from exc
    for path in written:
        print(f"  created {path}")
    where = "" if target.resolve() == Path.cwd().resolve() else f"cd {args.dir} && "
    print(f"Project ready ({args.template}). Next: {where}edgeworks dev")
    return EXIT_OK


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
