"""``edgeworks init``: write a new project from a template (docs/dev.md)."""

from __future__ import annotations

import argparse

from runtime.commands.common import EXIT_OK, Subparsers, UsageError, add_debug


def register(sub: Subparsers) -> None:
    """``edgeworks init``."""
    # runtime.limits, not runtime.init: building the parser must not import the
    # template machinery for every command.
    from runtime.limits import INIT_TEMPLATES as TEMPLATES

    parser = sub.add_parser(
        "init",
        help="write a new project from a template",
        description="Write a ready-to-run project (worker, edgeworks.toml, .gitignore, "
        "a pytest config and a test) into DIR. Existing files are never overwritten.",
    )
    parser.add_argument("dir", nargs="?", default=".", metavar="DIR", help="target folder")
    parser.add_argument("--template", choices=TEMPLATES, default=TEMPLATES[0])
    parser.add_argument("--name", help="project name (default: the folder's name)")
    add_debug(parser)
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
