"""``edgeworks sites``: deploy a static site folder into KV (docs/sites.md)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from runtime.commands.common import (
    EXIT_OK,
    Subparsers,
    UsageError,
    add_common,
    load_config,
    with_store,
)

if TYPE_CHECKING:
    from kv.backends import Store


def register(sub: Subparsers) -> None:
    """``edgeworks sites deploy``."""
    sites = sub.add_parser("sites", help="deploy a static site folder into KV")
    sites_sub = sites.add_subparsers(dest="sites_command", metavar="COMMAND")
    sites_sub.required = True
    deploy = sites_sub.add_parser(
        "deploy",
        help="upload the site bucket and switch to it",
        description="Store each file of DIR (default: [site] bucket) under a content-hashed "
        "key in the app's __STATIC_CONTENT namespace, upload only what is missing, switch to "
        "the new manifest in one write, then delete assets no recent version uses "
        "(docs/sites.md).",
    )
    add_common(deploy)
    deploy.add_argument("dir", nargs="?", metavar="DIR", help="folder to deploy")
    deploy.add_argument("-v", "--verbose", action="store_true", help="one line per file")
    deploy.add_argument(
        "--dry-run", action="store_true", help="show what would change, write nothing"
    )
    deploy.set_defaults(func=_sites_deploy)


def _sites_deploy(args: argparse.Namespace) -> int:
    from kv import KVNamespace
    from sites import DeployResult, deploy

    config = load_config(args, {"site.bucket": args.dir})
    site = config.site
    if site is None:
        raise UsageError(
            'no site to deploy: give DIR or set [site] bucket = "public" in edgeworks.toml'
        )

    async def work(store: Store) -> DeployResult:
        namespace = KVNamespace(store, config.site_namespace_id)
        with _DeployProgress() as progress:
            return await deploy(
                site.bucket,
                namespace,
                **site.deploy_options(),
                dry_run=args.dry_run,
                progress=progress,
            )

    result = with_store(config, work)
    for warning in result.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    if args.verbose or args.dry_run:
        for change in result.changes:
            print(change)
    print(result.summary())
    return EXIT_OK


class _DeployProgress:
    """A rich progress bar on stderr while hashing and uploading (only on a terminal).

    ``with _DeployProgress() as progress:`` gives the ``progress`` callback of
    ``sites.deploy`` (``None`` when stderr is not a terminal)."""

    def __init__(self) -> None:
        self._bar: Any = None
        self._tasks: dict[str, Any] = {}

    def __enter__(self) -> Callable[[str, int, int], None] | None:
        if not sys.stderr.isatty():
            return None
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

        self._bar = Progress(
            TextColumn("{task.description:>10}"),
            BarColumn(),
            MofNCompleteColumn(),
            console=Console(stderr=True),
            transient=True,
        )
        self._bar.start()
        return self._update

    def _update(self, phase: str, done: int, total: int) -> None:
        if phase not in self._tasks:
            label = {"hash": "hashing", "upload": "uploading"}.get(phase, phase)
            self._tasks[phase] = self._bar.add_task(label, total=total)
        self._bar.update(self._tasks[phase], completed=done, total=total)

    def __exit__(self, *exc: object) -> None:
        if self._bar is not None:
            self._bar.stop()
