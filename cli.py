"""The ``edgeworks`` command line: thin, it parses arguments and calls into the packages.

Exit codes: 0 success (also after Ctrl-C or SIGTERM with a clean drain),
1 runtime failure, 2 usage or config error. Errors are one line on stderr,
with a traceback only under ``--debug``.

Each command group has one ``_add_<group>`` function that declares its parser
and sets ``func`` to a handler ``(args) -> int``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import re
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from kv import Store
    from runtime.config import Config

KV_SQLITE_FILENAME = "kv.sqlite3"  # the store file inside --persist-to DIR
_T = TypeVar("_T")

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_USAGE = 2


class UsageError(Exception):
    """Bad arguments or configuration: exit code 2."""


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


def _add_common(parser: argparse.ArgumentParser) -> None:
    """Options every command takes (spec/dev.md §0)."""
    parser.add_argument("--config", metavar="PATH", help="edgeworks.toml to use")
    parser.add_argument("--kv", metavar="URL", help="KV store URL (overrides [kv] store)")
    parser.add_argument("--debug", action="store_true", help="show tracebacks")


def _add_listen(parser: argparse.ArgumentParser, host: str, port: int) -> None:
    """``--host``/``--port`` of the servers (``--port 0``: a free port, printed)."""
    parser.add_argument("--host", default=host, help=f"address to bind ({host})")
    parser.add_argument("--port", type=int, default=port, help=f"port ({port}; 0 = a free port)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="edgeworks",
        description="A Workers-style serverless runtime for Python.",
    )
    parser.add_argument("--version", action=_VersionAction)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for add in (_add_kv, _add_sites, _add_serve, _add_dev, _add_init):
        add(sub)
    return parser


# --- config and store (shared by every command) -------------------------------


def _load_config(args: argparse.Namespace, overrides: Mapping[str, Any] | None = None) -> Config:
    """The configuration of a command: ``--config`` (else discovery from the cwd), then
    ``EDGEWORKS_*`` variables, then flags. Reads ``--kv`` and, when a command declares
    them, ``--persist-to DIR`` (SQLite in DIR) and ``--ephemeral`` (memory) as
    ``[kv] store``; ``overrides`` (dotted field -> value, ``None`` skipped) win."""
    from runtime.config import load_config

    store = getattr(args, "kv", None)
    if getattr(args, "persist_to", None):
        store = str(Path(args.persist_to) / KV_SQLITE_FILENAME)
    if getattr(args, "ephemeral", False):
        store = "memory"
    return load_config(
        getattr(args, "config", None), overrides={"kv.store": store, **(overrides or {})}
    )


def _open_store(args: argparse.Namespace, config: Config) -> Store:
    """The configured store, not yet touched (``kv.open_store`` does no I/O)."""
    from kv import open_store

    try:
        return open_store(config.kv.store_url)
    except ValueError as exc:
        raise UsageError(str(exc)) from exc


def _with_store(
    args: argparse.Namespace, config: Config, work: Callable[[Store], Awaitable[_T]]
) -> _T:
    """Run ``work(store)`` on the configured store after its quick check; always closed."""

    async def run() -> _T:
        store = _open_store(args, config)
        try:
            await store.check()
            return await work(store)
        finally:
            await store.aclose()

    return asyncio.run(run())


def _input_file(path: str, what: str) -> Path:
    """A file named on the command line, which must exist (exit 2 otherwise)."""
    file = Path(path)
    if not file.is_file():
        raise UsageError(f"{what} {path!r}: no such file")
    return file


# --- kv ---------------------------------------------------------------------


def _add_kv(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    kv = sub.add_parser("kv", help="manage KV namespaces and keys in the configured store")
    groups = kv.add_subparsers(dest="kv_group", metavar="GROUP", required=True)

    def leaf(
        group: argparse._SubParsersAction[argparse.ArgumentParser],
        name: str,
        help: str,
        func: Callable[[argparse.Namespace], int],
        selector: bool = True,
    ) -> argparse.ArgumentParser:
        parser = group.add_parser(name, help=help, description=help)
        _add_common(parser)
        if selector:
            one = parser.add_mutually_exclusive_group()
            one.add_argument("--binding", metavar="NAME", help="KV binding in edgeworks.toml")
            one.add_argument("--namespace-id", metavar="ID", help="namespace id in the store")
        parser.set_defaults(func=func)
        return parser

    namespace = groups.add_parser("namespace", help="list, create and delete namespaces")
    ns = namespace.add_subparsers(dest="kv_command", metavar="COMMAND", required=True)
    leaf(ns, "list", "list the namespaces in the store (JSON)", _kv_namespace_list, False)
    p = leaf(ns, "create", "create an empty namespace", _kv_namespace_create, False)
    p.add_argument("name", metavar="NAME")
    p = leaf(ns, "delete", "delete a namespace and every key in it", _kv_namespace_delete)
    p.add_argument(
        "name", nargs="?", metavar="NAME", help="namespace id (or --binding/--namespace-id)"
    )
    p.add_argument("-y", "--yes", action="store_true", help="do not ask for confirmation")

    key = groups.add_parser("key", help="put, get, delete and list keys")
    keys = key.add_subparsers(dest="kv_command", metavar="COMMAND", required=True)
    p = leaf(keys, "put", "write one key (VALUE or --path FILE)", _kv_key_put)
    p.add_argument("key", metavar="KEY")
    p.add_argument("value", nargs="?", metavar="VALUE", help="the value as text")
    p.add_argument(
        "--path", metavar="FILE", help="read the value from FILE (raw bytes; - is stdin)"
    )
    p.add_argument("--ttl", type=int, metavar="S", help="expire S seconds from now (>= 60)")
    p.add_argument("--expiration", type=int, metavar="EPOCH", help="expire at EPOCH seconds")
    p.add_argument("--metadata", metavar="JSON", help="a JSON object stored with the key")
    p = leaf(keys, "get", "print a key's value (raw bytes; --text decodes UTF-8)", _kv_key_get)
    p.add_argument("key", metavar="KEY")
    p.add_argument("--text", action="store_true", help="decode as UTF-8 text, add a newline")
    p = leaf(keys, "delete", "delete one key", _kv_key_delete)
    p.add_argument("key", metavar="KEY")
    p = leaf(keys, "list", "list keys as JSON [{name, expiration?, metadata?}]", _kv_key_list)
    p.add_argument("--prefix", default=None, metavar="P", help="only keys starting with P")

    bulk = groups.add_parser("bulk", help="put, delete or get many keys from a JSON file")
    bulks = bulk.add_subparsers(dest="kv_command", metavar="COMMAND", required=True)
    p = leaf(bulks, "put", "write every {key, value, ...} of FILE in one batch", _kv_bulk_put)
    p.add_argument("file", metavar="FILE")
    p = leaf(bulks, "delete", "delete the keys listed in FILE in one batch", _kv_bulk_delete)
    p.add_argument("file", metavar="FILE")
    p.add_argument("-f", "--force", action="store_true", help="do not ask for confirmation")
    p = leaf(bulks, "get", "print the values of the keys in FILE (JSON object)", _kv_bulk_get)
    p.add_argument("file", metavar="FILE")


def _kv_config(args: argparse.Namespace) -> Config:
    """The config of a ``kv`` command; warns when the store forgets everything on exit."""
    config = _load_config(args)
    if config.kv.store_url.startswith("memory:"):
        print(
            "warning: the KV store is memory://: changes are lost when this command exits",
            file=sys.stderr,
        )
    return config


def _kv_target(args: argparse.Namespace) -> tuple[Config, str]:
    """The config and the namespace id chosen by ``--binding`` or ``--namespace-id``."""
    config = _kv_config(args)
    if args.namespace_id is not None:
        if not args.namespace_id:
            raise UsageError("--namespace-id must not be empty")
        return config, str(args.namespace_id)
    if args.binding is None:
        raise UsageError(
            "choose a namespace: --binding NAME (from edgeworks.toml) or --namespace-id ID"
        )
    if not config.found:
        raise UsageError(
            f"--binding {args.binding}: no edgeworks.toml in {config.root} or its parents; "
            "pass --config PATH or use --namespace-id ID"
        )
    return config, config.kv_namespace_id(args.binding)


def _confirm(question: str, assume_yes: bool) -> bool:
    """Ask on a terminal; scripts (no TTY on stdin) and ``--yes`` proceed."""
    if assume_yes or not sys.stdin.isatty():
        return True
    try:
        return input(f"{question} [y/N] ").strip().lower() in ("y", "yes")
    except EOFError:
        return False


def _print_json(value: Any) -> None:
    print(json.dumps(value, indent=2, ensure_ascii=False))


def _kv_namespace_list(args: argparse.Namespace) -> int:
    config = _kv_config(args)
    ids = _with_store(args, config, lambda store: store.list_namespaces())
    bound: dict[str, list[str]] = {}
    for binding, ns_id in config.kv_bindings.items():
        bound.setdefault(ns_id, []).append(binding)
    _print_json([{"id": i, "bindings": sorted(bound.get(i, []))} for i in ids])
    return EXIT_OK


def _kv_namespace_create(args: argparse.Namespace) -> int:
    config = _kv_config(args)
    name = str(args.name)
    if not name.strip():
        raise UsageError("namespace name must not be empty")

    async def create(store: Store) -> bool:
        if name in await store.list_namespaces():
            return False
        await store.create_namespace(name)
        return True

    if not _with_store(args, config, create):
        print(f"error: namespace {name!r} already exists", file=sys.stderr)
        return EXIT_FAILURE
    binding = re.sub(r"\W", "_", name).upper()
    binding = binding if binding.isidentifier() else f"KV_{binding}"
    print(f"Created namespace {name!r}. To use it from a worker, add to edgeworks.toml:")
    print(f'\n[[kv_namespaces]]\nbinding = "{binding}"\nid = "{name}"')
    return EXIT_OK


def _kv_namespace_delete(args: argparse.Namespace) -> int:
    if args.name is not None and (args.binding or args.namespace_id):
        raise UsageError("give NAME or --binding/--namespace-id, not both")
    if args.name is not None:
        config, ns_id = _kv_config(args), str(args.name)
    else:
        config, ns_id = _kv_target(args)

    async def delete(store: Store) -> tuple[str, list[str]]:
        known = await store.list_namespaces()
        if ns_id not in known:
            return "missing", known
        if not _confirm(f"Delete namespace {ns_id!r} and every key in it?", args.yes):
            return "kept", known
        await store.delete_namespace(ns_id)
        return "deleted", known

    outcome, known = _with_store(args, config, delete)
    if outcome == "kept":
        print("Not deleted.", file=sys.stderr)
        return EXIT_FAILURE
    if outcome == "missing":
        listed = ", ".join(repr(k) for k in known) or "none"
        print(f"error: no namespace {ns_id!r} in the store; namespaces: {listed}", file=sys.stderr)
        return EXIT_FAILURE
    print(f"Deleted namespace {ns_id!r}.")
    return EXIT_OK


async def _file_chunks(path: Path | None) -> AsyncIterator[bytes]:
    """A file (``None``: stdin) as chunks, so ``put`` stops reading at the size limit."""
    from kv.limits import STREAM_CHUNK_BYTES

    with contextlib.ExitStack() as stack:
        stream = sys.stdin.buffer if path is None else stack.enter_context(path.open("rb"))
        while chunk := stream.read(STREAM_CHUNK_BYTES):
            yield chunk


def _no_json_constant(name: str) -> Any:
    """``NaN`` and ``Infinity`` are not JSON, whatever Python's json module accepts."""
    raise ValueError(f"{name} is not valid JSON")


def _json_object_arg(flag: str, text: str | None) -> dict[str, Any] | None:
    """A flag's JSON object (wrangler's messages); ``None`` when not given."""
    if text is None:
        return None
    try:
        value = json.loads(text, parse_constant=_no_json_constant)
    except ValueError:
        raise UsageError(f"{flag} must be valid JSON. Received: {text}") from None
    if not isinstance(value, dict):
        raise UsageError(f"{flag} must be a JSON object. Received: {text}")
    return value


def _kv_key_put(args: argparse.Namespace) -> int:
    from kv import KVNamespace

    config, ns_id = _kv_target(args)
    if (args.value is None) == (args.path is None):
        raise UsageError("give exactly one of VALUE or --path FILE")
    metadata = _json_object_arg("--metadata", args.metadata)
    path = None if args.path in (None, "-") else _input_file(args.path, "--path")

    async def put(store: Store) -> None:
        value = args.value if args.path is None else _file_chunks(path)
        await KVNamespace(store, ns_id).put(
            args.key, value, expiration=args.expiration, expiration_ttl=args.ttl, metadata=metadata
        )

    _with_store(args, config, put)
    print(f"Wrote key {args.key!r} to namespace {ns_id!r}.")
    return EXIT_OK


def _kv_key_get(args: argparse.Namespace) -> int:
    from kv import KVNamespace

    config, ns_id = _kv_target(args)

    async def get(store: Store) -> bool:
        ns = KVNamespace(store, ns_id)
        if args.text:
            text = await ns.get(args.key, "text")
            if text is not None:
                print(text)
            return text is not None
        chunks = await ns.get(args.key, "stream")
        if chunks is None:
            return False
        sys.stdout.flush()
        async for chunk in chunks:
            sys.stdout.buffer.write(chunk)
        sys.stdout.buffer.flush()
        return True

    if not _with_store(args, config, get):
        print("Value not found", file=sys.stderr)
        return EXIT_FAILURE
    return EXIT_OK


def _kv_key_delete(args: argparse.Namespace) -> int:
    from kv import KVNamespace

    config, ns_id = _kv_target(args)
    _with_store(args, config, lambda store: KVNamespace(store, ns_id).delete(args.key))
    print(f"Deleted key {args.key!r} from namespace {ns_id!r}.")
    return EXIT_OK


def _kv_key_list(args: argparse.Namespace) -> int:
    from kv import KVNamespace

    config, ns_id = _kv_target(args)

    async def list_all(store: Store) -> list[dict[str, Any]]:
        ns = KVNamespace(store, ns_id)
        items: list[dict[str, Any]] = []
        cursor = None
        while True:
            page = await ns.list(prefix=args.prefix, cursor=cursor)
            items.extend(item.to_dict() for item in page.keys)
            if page.list_complete:
                return items
            cursor = page.cursor

    _print_json(_with_store(args, config, list_all))
    return EXIT_OK


def _kv_bulk_put(args: argparse.Namespace) -> int:
    from kv import KVNamespace
    from kv.bulk import parse_put_file, write_batch

    config, ns_id = _kv_target(args)
    file = _input_file(args.file, "bulk file")
    ops, warnings = parse_put_file(file.read_bytes(), now=time.time(), source=args.file)
    for warning in warnings:
        print(f"warning: {warning}", file=sys.stderr)
    _with_store(args, config, lambda store: write_batch(KVNamespace(store, ns_id), ops))
    print(f"Wrote {len(ops)} key(s) to namespace {ns_id!r}.")
    return EXIT_OK


def _kv_bulk_delete(args: argparse.Namespace) -> int:
    from kv import KVNamespace, WriteOp
    from kv.bulk import parse_keys_file, write_batch
    from kv.limits import OP_DELETE

    config, ns_id = _kv_target(args)
    file = _input_file(args.file, "bulk file")
    keys = parse_keys_file(file.read_bytes(), op=OP_DELETE, source=args.file)
    if not _confirm(f"Delete {len(keys)} key(s) from namespace {ns_id!r}?", args.force):
        print("Not deleted.", file=sys.stderr)
        return EXIT_FAILURE
    ops = [WriteOp(key, None) for key in keys]
    _with_store(args, config, lambda store: write_batch(KVNamespace(store, ns_id), ops))
    print(f"Deleted {len(keys)} key(s) from namespace {ns_id!r}.")
    return EXIT_OK


def _kv_bulk_get(args: argparse.Namespace) -> int:
    from kv import KVNamespace
    from kv.bulk import parse_keys_file
    from kv.limits import BULK_KEYS_PER_GET, OP_GET_BULK

    config, ns_id = _kv_target(args)
    file = _input_file(args.file, "bulk file")
    keys = list(dict.fromkeys(parse_keys_file(file.read_bytes(), op=OP_GET_BULK, source=args.file)))

    async def get_all(store: Store) -> dict[str, Any]:
        ns = KVNamespace(store, ns_id)
        values: dict[str, Any] = {}
        for start in range(0, len(keys), BULK_KEYS_PER_GET):
            values.update(await ns.get(keys[start : start + BULK_KEYS_PER_GET], "text"))
        return values

    _print_json(_with_store(args, config, get_all) if keys else {})
    return EXIT_OK


# --- sites --------------------------------------------------------------------


def _add_sites(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    sites = sub.add_parser("sites", help="deploy a static site folder into KV")
    sites_sub = sites.add_subparsers(dest="sites_command", metavar="COMMAND")
    sites_sub.required = True
    deploy = sites_sub.add_parser(
        "deploy",
        help="upload the site bucket and switch to it",
        description="Store each file of DIR (default: [site] bucket) under a content-hashed "
        "key in the app's __STATIC_CONTENT namespace, upload only what is missing, switch to "
        "the new manifest in one write, then delete assets no recent version uses "
        "(spec/sites.md §1).",
    )
    _add_common(deploy)
    deploy.add_argument("dir", nargs="?", metavar="DIR", help="folder to deploy")
    deploy.add_argument("-v", "--verbose", action="store_true", help="one line per file")
    deploy.add_argument(
        "--dry-run", action="store_true", help="show what would change, write nothing"
    )
    deploy.set_defaults(func=_sites_deploy)


def _sites_deploy(args: argparse.Namespace) -> int:
    from kv import KVNamespace
    from sites import DeployResult, deploy

    config = _load_config(args, {"site.bucket": args.dir})
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

    result = _with_store(args, config, work)
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


# --- serve --------------------------------------------------------------------


def _add_serve(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser(
        "serve",
        help="run the production server",
        description="Serve the worker with uvicorn (uvloop, httptools): N processes, each a "
        "location with its own KV cache; no reload, no dev endpoints (spec/dev.md §3).",
    )
    _add_common(parser)
    from runtime.limits import SERVE_DEFAULT_HOST, SERVE_DEFAULT_PORT

    _add_listen(parser, SERVE_DEFAULT_HOST, SERVE_DEFAULT_PORT)
    parser.add_argument("--workers", type=int, default=1, metavar="N", help="processes (1)")
    parser.add_argument(
        "--env-file", metavar="PATH", help="secrets in .dev.vars format (NAME=value lines)"
    )
    parser.add_argument(
        "--access-log",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="one line per request: GET /path 200 1.8ms (default: on)",
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
        kv=args.kv,
        env_file=args.env_file,
        access_log=args.access_log,
        debug=args.debug,
    )
    return run_serve(options)


# --- dev ----------------------------------------------------------------------


def _add_dev(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    from runtime.limits import DEV_DEFAULT_HOST, DEV_DEFAULT_PORT

    parser = sub.add_parser(
        "dev",
        help="run the hot-reloading dev server",
        description="Serve the worker on 127.0.0.1:8787, reload it on every save, keep KV "
        "state in .edgeworks/state (spec/dev.md §1).",
    )
    parser.add_argument("worker", nargs="?", metavar="WORKER.py", help="worker file (else main)")
    _add_common(parser)
    _add_listen(parser, DEV_DEFAULT_HOST, DEV_DEFAULT_PORT)
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
        help="simulate N locations (or sfo,ams,...) each with its own KV cache (spec/dev.md §2)",
    )
    parser.set_defaults(func=_run_dev)


def _run_dev(args: argparse.Namespace) -> int:
    from pathlib import Path

    from runtime.dev.server import DevOptions, run_dev

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
        kv=args.kv,
        persist_to=Path(args.persist_to) if args.persist_to else None,
        ephemeral=args.ephemeral,
        live_reload=args.live_reload,
        force_polling=True if args.poll else None,
        locations=args.locations,
    )
    return run_dev(options)


# --- init ---------------------------------------------------------------------


def _add_init(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
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
