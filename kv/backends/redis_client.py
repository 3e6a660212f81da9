"""Connections to Redis for every edgeworks store on Redis (the KV store; queues reuse it).

One place for: the store URL (parsed and validated without I/O), the redis-py client
for one Redis or a Redis Cluster, a bounded number of connections per store, bounded
timeouts, and the mapping of "Redis cannot answer" to ``StoreUnavailable``.

URLs (docs/kv.md, docs/operations.md)::

    redis://[user:password@]host[:port][/db][?options]            one Redis
    rediss://...                                                   the same over TLS
    redis+cluster://[user:password@]host:port[,host:port...][/][?options]
    rediss+cluster://...                                           seed nodes of a cluster

Options: ``max_connections``, ``pool_timeout``, ``socket_timeout``,
``socket_connect_timeout``, ``client_name``; with TLS also ``ssl_cert_reqs``,
``ssl_ca_certs``, ``ssl_certfile``, ``ssl_keyfile``, ``ssl_check_hostname``.

>>> target = parse_redis_url("redis+cluster://10.0.0.1:7000,10.0.0.2:7000")
>>> connection = RedisConnection(target)        # no I/O yet
>>> async with connection.command() as client:  # waits for a free connection
...     await client.ping()
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AbstractContextManager, asynccontextmanager, contextmanager
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit, urlunsplit

from kv.errors import StoreUnavailable
from kv.limits import (
    MSG_REDIS_POOL_BUSY,
    MSG_REDIS_URL,
    REDIS_CLUSTER_RETRIES,
    REDIS_CLUSTER_SCHEMES,
    REDIS_CONNECT_TIMEOUT,
    REDIS_DEFAULT_PORT,
    REDIS_HEALTH_CHECK_INTERVAL,
    REDIS_MAX_CONNECTIONS,
    REDIS_MAX_PORT,
    REDIS_POOL_TIMEOUT,
    REDIS_PUBSUB_RESERVE,
    REDIS_RETRIES,
    REDIS_RETRY_BACKOFF_BASE,
    REDIS_RETRY_BACKOFF_CAP,
    REDIS_SCHEMES,
    REDIS_SOCKET_TIMEOUT,
    REDIS_TLS_OPTIONS,
    REDIS_URL_OPTIONS,
)

__all__ = [
    "RedisConnection",
    "RedisURL",
    "is_redis_url",
    "parse_redis_url",
    "redact",
    "unavailable_as_store_error",
    "with_max_connections",
]

# Error replies redis-py keeps as plain ResponseError that mean "Redis is there but
# cannot serve this now" (a failed RDB save stops writes; too few replicas): a 503.
# A pipeline error message is prefixed with "Command # n (...) of pipeline caused error: ".
_UNAVAILABLE_REPLY = re.compile(r"(^|error: )(MISCONF|NOREPLICAS)\b")
_MAX_DB = 2**31 - 1  # Redis keeps database numbers in an int


@dataclass(frozen=True, slots=True)
class RedisURL:
    """A validated Redis store URL (``parse_redis_url``)."""

    url: str
    cluster: bool = False
    tls: bool = False
    nodes: tuple[tuple[str, int], ...] = (("127.0.0.1", REDIS_DEFAULT_PORT),)
    db: int = 0
    username: str | None = None
    password: str | None = None
    max_connections: int = REDIS_MAX_CONNECTIONS
    pool_timeout: float = REDIS_POOL_TIMEOUT
    socket_timeout: float = REDIS_SOCKET_TIMEOUT
    socket_connect_timeout: float = REDIS_CONNECT_TIMEOUT
    client_name: str | None = None
    #: TLS options as given (names of ``REDIS_TLS_OPTIONS``), already converted.
    tls_options: tuple[tuple[str, Any], ...] = field(default=())

    @property
    def shown(self) -> str:
        """The URL for banners and messages, with any password masked."""
        return redact(self.url)


def redact(url: str) -> str:
    """``url`` with its password (if any) replaced by ``***``."""
    scheme, sep, rest = url.partition("://")
    netloc = rest.split("/", 1)[0].split("?", 1)[0]
    userinfo, at, hosts = netloc.rpartition("@")
    if not at or ":" not in userinfo:
        return url
    user = userinfo.split(":", 1)[0]
    return f"{scheme}{sep}{user}:***@{hosts}{rest[len(netloc) :]}"


def parse_redis_url(url: str) -> RedisURL:
    """Validate a Redis store URL without I/O; ``ValueError`` says what is wrong, with
    the value, and what is allowed (one line, password masked)."""

    def bad(problem: str) -> ValueError:
        return ValueError(MSG_REDIS_URL.format(url=repr(redact(url)), problem=problem))

    scheme, sep, rest = url.partition("://")
    if not sep or scheme not in REDIS_SCHEMES:
        allowed = ", ".join(f"{s}://" for s in REDIS_SCHEMES)
        raise bad(f"the scheme must be one of {allowed}")
    cluster = scheme in REDIS_CLUSTER_SCHEMES
    tls = scheme.startswith("rediss")
    parts = urlsplit("x://" + rest)
    if parts.fragment:
        raise bad(f"'#{parts.fragment}' is not allowed: give options as ?name=value")
    userinfo, at, hosts = parts.netloc.rpartition("@")
    username = password = None
    if at:
        user, colon, secret = userinfo.partition(":")
        username = unquote(user) or None
        password = unquote(secret) if colon else None
    nodes = tuple(_node(item, bad) for item in hosts.split(","))
    if len(nodes) > 1 and not cluster:
        raise bad(
            f"{len(nodes)} hosts given: one Redis takes one host; for a Redis Cluster use "
            f"{'rediss' if tls else 'redis'}+cluster://host:port,host:port"
        )
    db_text = parts.path.strip("/")
    if db_text and not (db_text.isascii() and db_text.isdigit() and int(db_text) <= _MAX_DB):
        raise bad(f"database {db_text!r} is not a number: use /0, /1, ... (default /0)")
    db = int(db_text or 0)
    if cluster and db != 0:
        raise bad(f"database /{db}: a Redis Cluster has only database 0; drop the /{db}")
    target = RedisURL(url, cluster, tls, nodes, db, username, password)
    return _with_options(target, parts.query, bad)


def _node(item: str, bad: Callable[[str], ValueError]) -> tuple[str, int]:
    """``host[:port]`` (``[v6]:port`` for IPv6) of a URL's host list."""
    parts = urlsplit("x://" + item)
    try:
        host, port = parts.hostname, parts.port
    except ValueError:
        port_text = item.rpartition(":")[2]
        raise bad(f"port {port_text!r} is not a number from 1 to {REDIS_MAX_PORT}") from None
    if not host or parts.netloc != item:
        raise bad(f"host {item!r} is not a host[:port]: give e.g. 127.0.0.1:6379")
    if port == 0:
        raise bad(f"port 0 is not a number from 1 to {REDIS_MAX_PORT}")
    return host, port or REDIS_DEFAULT_PORT


def _with_options(target: RedisURL, query: str, bad: Callable[[str], ValueError]) -> RedisURL:
    allowed = dict(REDIS_URL_OPTIONS)
    if target.tls:
        allowed.update(REDIS_TLS_OPTIONS)
    changes: dict[str, Any] = {}
    tls_options: dict[str, Any] = {}
    for name, raw in parse_qsl(query, keep_blank_values=True):
        if name not in allowed:
            names = ", ".join(allowed)
            tls_note = (
                ""
                if target.tls or name not in REDIS_TLS_OPTIONS
                else " (TLS options need rediss://)"
            )
            raise bad(f"unknown option {name!r}{tls_note}: allowed are {names}")
        value = _option_value(name, raw)
        if value is None:
            raise bad(f"option {name}={raw!r} is invalid: must be {allowed[name]}")
        if name in REDIS_TLS_OPTIONS:
            tls_options[name] = value
        else:
            changes[name] = value
    return replace(target, tls_options=tuple(tls_options.items()), **changes)


def _option_value(name: str, raw: str) -> Any:
    """The converted option value, or ``None`` when ``raw`` is not allowed."""
    if name == "max_connections":
        return int(raw) if raw.isascii() and raw.isdigit() and int(raw) >= 1 else None
    if name in ("pool_timeout", "socket_timeout", "socket_connect_timeout"):
        try:
            seconds = float(raw)
        except ValueError:
            return None
        return seconds if 0 < seconds < float("inf") else None
    if name == "ssl_cert_reqs":
        return raw if raw in ("none", "optional", "required") else None
    if name == "ssl_check_hostname":
        return {"true": True, "false": False}.get(raw.lower())
    return raw if raw and not any(c.isspace() for c in raw) else None


def is_redis_url(url: str) -> bool:
    """True for a URL of a Redis store (one Redis or a cluster, with or without TLS)."""
    return url.partition("://")[0] in REDIS_SCHEMES


def with_max_connections(url: str, max_connections: int) -> str:
    """``url`` with ``?max_connections=`` set (the ``[kv] max_connections`` setting);
    ``ValueError`` when the URL already gives a different number."""
    target = parse_redis_url(url)
    given = dict(parse_qsl(urlsplit(url).query)).get("max_connections")
    if given is not None:
        if target.max_connections != max_connections:
            raise ValueError(
                f"max_connections is given twice: {target.max_connections} in the store URL "
                f"and {max_connections} in [kv] max_connections; give it once"
            )
        return url
    parts = urlsplit(url)
    query = f"{parts.query}&" if parts.query else ""
    return urlunsplit(parts._replace(query=f"{query}max_connections={max_connections}"))


class RedisConnection:
    """A store's bounded connection to one Redis or one Redis Cluster.

    At most ``max_connections`` calls are in flight at once; more wait for a free
    connection, up to ``pool_timeout`` seconds, then fail as ``StoreUnavailable``.
    The redis-py client (and its pool) belongs to one event loop: a store used from
    another loop gets a new one.
    """

    def __init__(self, target: RedisURL | str) -> None:
        self.target = target if isinstance(target, RedisURL) else parse_redis_url(target)
        #: The URL for banners and messages, with any password masked.
        self.url = self.target.shown
        self.cluster = self.target.cluster
        self._client: Any = None
        self._gate: asyncio.Semaphore | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def client(self) -> Any:
        """The redis-py client (``Redis`` or ``RedisCluster``) of the running loop.
        Calls made on it directly are not counted against ``max_connections``:
        use ``command()`` for everything but long-lived subscriptions."""
        loop = asyncio.get_running_loop()
        if self._client is None or self._loop is not loop:
            self._client = new_client(self.target)
            self._gate = asyncio.Semaphore(self.target.max_connections)
            self._loop = loop
        return self._client

    @asynccontextmanager
    async def command(self) -> AsyncIterator[Any]:
        """The client, holding one of ``max_connections`` permits; errors that mean
        "Redis cannot answer" become ``StoreUnavailable``."""
        client = self.client()
        gate = self._gate
        assert gate is not None
        if gate.locked():
            started = time.monotonic()
            try:
                async with asyncio.timeout(self.target.pool_timeout):
                    await gate.acquire()
            except TimeoutError:
                busy = MSG_REDIS_POOL_BUSY.format(
                    size=self.target.max_connections, waited=time.monotonic() - started
                )
                raise StoreUnavailable(f"{self.url}: {busy}") from None
        else:
            await gate.acquire()  # free: returns at once
        try:
            with unavailable_as_store_error(self.url):
                yield client
        finally:
            gate.release()

    def errors(self) -> AbstractContextManager[None]:
        """``unavailable_as_store_error`` for this URL (calls outside ``command()``)."""
        return unavailable_as_store_error(self.url)

    async def aclose(self) -> None:
        """Close the client's connections (when it belongs to the running loop)."""
        client, self._client = self._client, None
        if client is None:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # pragma: no cover - closing outside a loop
            return
        if loop is self._loop:
            with unavailable_as_store_error(self.url):
                await client.aclose()


def new_client(target: RedisURL) -> Any:
    """A redis-py asyncio client for ``target`` (connects on first use): ``Redis`` on a
    blocking pool, or ``RedisCluster`` for ``redis+cluster://``."""
    from redis.asyncio.retry import Retry
    from redis.backoff import ExponentialBackoff
    from redis.exceptions import ConnectionError as RedisConnectionError

    backoff = ExponentialBackoff(cap=REDIS_RETRY_BACKOFF_CAP, base=REDIS_RETRY_BACKOFF_BASE)
    common: dict[str, Any] = {
        "username": target.username,
        "password": target.password,
        "client_name": target.client_name,
        "socket_connect_timeout": target.socket_connect_timeout,
        "socket_timeout": target.socket_timeout,
        "health_check_interval": REDIS_HEALTH_CHECK_INTERVAL,
        # Commands wait for a permit in RedisConnection.command(); pub/sub
        # subscriptions take connections beyond those.
        "max_connections": target.max_connections + REDIS_PUBSUB_RESERVE,
        **dict(target.tls_options),
    }
    if target.cluster:
        from redis.asyncio.cluster import ClusterNode, RedisCluster

        # The cluster client follows MOVED/ASK itself and, after a node error or
        # during a failover, refreshes the slot map and retries a few times.
        return RedisCluster(
            startup_nodes=[ClusterNode(host, port) for host, port in target.nodes],
            ssl=target.tls,
            retry=Retry(backoff, REDIS_CLUSTER_RETRIES),
            **common,
        )
    from redis.asyncio import BlockingConnectionPool, Redis
    from redis.asyncio.connection import Connection, SSLConnection

    [(host, port)] = target.nodes
    pool = BlockingConnectionPool(
        connection_class=SSLConnection if target.tls else Connection,
        timeout=target.pool_timeout,
        host=host,
        port=port,
        db=target.db,
        # Retry a dropped connection (Redis restarted, idle socket cut), never a
        # timeout: a slow Redis would then cost twice the budget before the 503.
        retry=Retry(backoff, REDIS_RETRIES, supported_errors=(RedisConnectionError,)),
        **common,
    )
    return Redis.from_pool(pool)


@contextmanager
def unavailable_as_store_error(shown_url: str) -> Iterator[None]:
    """Turn "Redis cannot answer" into ``StoreUnavailable``; let real bugs through."""
    from redis import exceptions as rex

    unavailable = (
        rex.ConnectionError,  # also LOADING (BusyLoadingError), failed AUTH, pool exhausted
        rex.TimeoutError,
        rex.ReadOnlyError,  # a replica, e.g. right after a failover
        rex.OutOfMemoryError,  # maxmemory reached with noeviction: writes refused
        rex.MasterDownError,
        rex.TryAgainError,  # a slot migrating (multi-key command during resharding)
        rex.ClusterDownError,  # a failover in progress, a slot not covered
        rex.ClusterError,  # the cluster client gave up following redirects
        rex.SlotNotCoveredError,
        OSError,
        TimeoutError,
    )
    try:
        yield
    except unavailable as exc:
        code = getattr(exc, "status_code", None)
        detail = f"{code} {exc}" if code and not str(exc).startswith(str(code)) else str(exc)
        raise StoreUnavailable(f"{shown_url}: {detail or type(exc).__name__}") from exc
    except rex.ResponseError as exc:
        if _UNAVAILABLE_REPLY.search(str(exc)):
            raise StoreUnavailable(f"{shown_url}: {exc}") from exc
        raise
    except rex.RedisClusterException as exc:
        # "Redis Cluster cannot be connected" (no seed node answers) wraps the
        # connection error; other cluster exceptions are bugs and pass through.
        if isinstance(exc.__cause__, unavailable):
            raise StoreUnavailable(f"{shown_url}: {exc}") from exc
        raise
