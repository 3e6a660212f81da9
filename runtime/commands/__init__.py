"""The ``edgeworks`` command groups: one module per group (``kv``, ``sites``, ``serve``,
``dev``, ``init``), each with ``register(subparsers)`` that declares its parser(s) and
sets the handler ``func(args) -> int``.

A module imports only argparse and light constants at its top: the packages a
command drives (uvicorn, starlette, watchfiles, rich, ...) are imported inside
its handler, so ``edgeworks kv key get`` never loads the servers. What every
group shares (options, config loading, the store, ``UsageError``) is in
``runtime.commands.common``.
"""

__all__: list[str] = []
