"""``edgeworks dev``: the hot-reloading dev server (docs/dev.md)."""

from __future__ import annotations

import argparse

from runtime.commands.common import Subparsers, UsageError, add_common, add_listen, config_overrides


def register(sub: Subparsers) -> None:
    """``edgeworks dev``."""
    from runtime.limits import DEV_DEFAULT_HOST, DEV_DEFAULT_PORT, STATE_DIR

    parser = sub.add_parser(
        "dev",
        help="run the hot-reloading dev server",
        description=f"Serve the worker on {DEV_DEFAULT_HOST}:{DEV_DEFAULT_PORT}, reload it on "
        f"every save, keep KV state in {STATE_DIR} (docs/dev.md).",
    )
    parser.add_argument("worker", nargs="?", metavar="WORKER.py", help="worker file (else main)")
    add_common(parser)
    add_listen(parser, DEV_DEFAULT_HOST, DEV_DEFAULT_PORT)
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
    parser.add_argument(
        "--locations",
        metavar="N|NAMES",
        help="simulate N locations (or sfo,ams,...) each with its own KV cache (docs/dev.md)",
    )
    parser.set_defaults(func=_run_dev)


def _run_dev(args: argparse.Namespace) -> int:
    from pathlib import Path

    from runtime.dev import DevOptions, run_dev

    if args.locations is not None:
        from runtime.dev.locations import parse_locations

        try:
            parse_locations(args.locations)
        except ValueError as exc:
            raise UsageError(str(exc)) from exc
    options = DevOptions(
        worker=Path(args.worker) if args.worker else None,
        config=Path(args.config) if args.config else None,
        host=args.host,
        port=args.port,
        overrides=config_overrides(args),
        persist_to=Path(args.persist_to) if args.persist_to else None,
        ephemeral=args.ephemeral,
        live_reload=args.live_reload,
        force_polling=True if args.poll else None,
        locations=args.locations,
    )
    return run_dev(options)
