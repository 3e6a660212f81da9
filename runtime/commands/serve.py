"""``edgeworks serve``: the production server (docs/runtime.md)."""

from __future__ import annotations

import argparse

from runtime.commands.common import (
    Subparsers,
    UsageError,
    add_admin_token,
    add_common,
    add_listen,
    add_vars,
    admin_token,
    config_overrides,
)


def register(sub: Subparsers) -> None:
    """``edgeworks serve``."""
    parser = sub.add_parser(
        "serve",
        help="run the production server",
        description="Serve the worker with uvicorn (uvloop, httptools): N processes, each a "
        "location with its own KV cache; no reload, no dev endpoints (docs/runtime.md).",
    )
    add_common(parser)
    from runtime.limits import SERVE_DEFAULT_HOST, SERVE_DEFAULT_PORT

    add_listen(parser, SERVE_DEFAULT_HOST, SERVE_DEFAULT_PORT)
    add_vars(parser)
    parser.add_argument("--workers", type=int, default=1, metavar="N", help="processes (1)")
    parser.add_argument(
        "--env-file", metavar="PATH", help="secrets in .dev.vars format (NAME=value lines)"
    )
    parser.add_argument(
        "--access-log",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="one line per request: 127.0.0.1 GET /path 200 12 1.8ms (default: on)",
    )
    add_admin_token(
        parser, "serve the admin API and data browser under /__edgeworks/ to this Bearer token"
    )
    parser.add_argument(
        "--metrics",
        action=argparse.BooleanOptionalAction,
        default=False,
        help="serve Prometheus metrics at /__edgeworks/metrics (default: off; docs/operations.md)",
    )
    parser.set_defaults(func=_run_serve)


def _run_serve(args: argparse.Namespace) -> int:
    from runtime.serve import ServeOptions, run_serve

    if args.workers < 1:
        raise UsageError(f"--workers must be 1 or more, got {args.workers}")
    options = ServeOptions(
        config=args.config,
        host=args.host,
        port=args.port,
        workers=args.workers,
        overrides=config_overrides(args),
        env_file=args.env_file,
        access_log=args.access_log,
        debug=args.debug,
        admin_token=admin_token(args),
        env=args.env,
        vars=tuple(args.vars),
        metrics=args.metrics,
    )
    return run_serve(options)
