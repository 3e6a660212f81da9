"""``edgeworks kv``: namespaces, keys and bulk files in the configured store (docs/kv-cli.md).

Output follows wrangler's ``kv`` commands: JSON lists, raw values on stdout,
messages and warnings on stderr.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import re
import sys
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from runtime.commands.common import (
    EXIT_FAILURE,
    EXIT_OK,
    Subparsers,
    UsageError,
    add_common,
    confirm,
    input_file,
    load_config,
    with_store,
)

if TYPE_CHECKING:
    from kv.backends import Store
    from runtime.config import Config


def register(sub: Subparsers) -> None:
    """``edgeworks kv namespace|key|bulk ...``."""
    kv = sub.add_parser("kv", help="manage KV namespaces and keys in the configured store")
    groups = kv.add_subparsers(dest="kv_group", metavar="GROUP", required=True)

    def leaf(
        group: Subparsers,
        name: str,
        help: str,
        func: Callable[[argparse.Namespace], int],
        selector: bool = True,
    ) -> argparse.ArgumentParser:
        parser = group.add_parser(name, help=help, description=help)
        add_common(parser)
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
    config = load_config(args)
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


def _print_json(value: Any) -> None:
    print(json.dumps(value, indent=2, ensure_ascii=False))


def _kv_namespace_list(args: argparse.Namespace) -> int:
    config = _kv_config(args)
    ids = with_store(config, lambda store: store.list_namespaces())
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

    if not with_store(config, create):
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
        if not confirm(f"Delete namespace {ns_id!r} and every key in it?", args.yes):
            return "kept", known
        await store.delete_namespace(ns_id)
        return "deleted", known

    outcome, known = with_store(config, delete)
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
    path = None if args.path in (None, "-") else input_file(args.path, "--path")

    async def put(store: Store) -> None:
        value = args.value if args.path is None else _file_chunks(path)
        await KVNamespace(store, ns_id).put(
            args.key, value, expiration=args.expiration, expiration_ttl=args.ttl, metadata=metadata
        )

    with_store(config, put)
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

    if not with_store(config, get):
        print("Value not found", file=sys.stderr)
        return EXIT_FAILURE
    return EXIT_OK


def _kv_key_delete(args: argparse.Namespace) -> int:
    from kv import KVNamespace

    config, ns_id = _kv_target(args)
    with_store(config, lambda store: KVNamespace(store, ns_id).delete(args.key))
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

    _print_json(with_store(config, list_all))
    return EXIT_OK


def _kv_bulk_put(args: argparse.Namespace) -> int:
    from kv import KVNamespace
    from kv.bulk import parse_put_file, write_batch

    config, ns_id = _kv_target(args)
    file = input_file(args.file, "bulk file")
    ops, warnings = parse_put_file(file.read_bytes(), now=time.time(), source=args.file)
    for warning in warnings:
        print(f"warning: {warning}", file=sys.stderr)
    with_store(config, lambda store: write_batch(KVNamespace(store, ns_id), ops))
    print(f"Wrote {len(ops)} key(s) to namespace {ns_id!r}.")
    return EXIT_OK


def _kv_bulk_delete(args: argparse.Namespace) -> int:
    from kv import KVNamespace
    from kv.backends import WriteOp
    from kv.bulk import parse_keys_file, write_batch
    from kv.limits import OP_DELETE

    config, ns_id = _kv_target(args)
    file = input_file(args.file, "bulk file")
    keys = parse_keys_file(file.read_bytes(), op=OP_DELETE, source=args.file)
    if not confirm(f"Delete {len(keys)} key(s) from namespace {ns_id!r}?", args.force):
        print("Not deleted.", file=sys.stderr)
        return EXIT_FAILURE
    ops = [WriteOp(key, None) for key in keys]
    with_store(config, lambda store: write_batch(KVNamespace(store, ns_id), ops))
    print(f"Deleted {len(keys)} key(s) from namespace {ns_id!r}.")
    return EXIT_OK


def _kv_bulk_get(args: argparse.Namespace) -> int:
    from kv import KVNamespace
    from kv.bulk import parse_keys_file
    from kv.limits import BULK_KEYS_PER_GET, OP_GET_BULK

    config, ns_id = _kv_target(args)
    file = input_file(args.file, "bulk file")
    keys = list(dict.fromkeys(parse_keys_file(file.read_bytes(), op=OP_GET_BULK, source=args.file)))

    async def get_all(store: Store) -> dict[str, Any]:
        ns = KVNamespace(store, ns_id)
        values: dict[str, Any] = {}
        for start in range(0, len(keys), BULK_KEYS_PER_GET):
            values.update(await ns.get(keys[start : start + BULK_KEYS_PER_GET], "text"))
        return values

    _print_json(with_store(config, get_all) if keys else {})
    return EXIT_OK
