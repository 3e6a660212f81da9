"""The Redis store's connection: a lazily imported redis-py asyncio client with
bounded timeouts, and the mapping of "Redis cannot answer" to ``StoreUnavailable``."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING
from urllib.parse import urlsplit, urlunsplit

from kv.errors import StoreUnavailable
from kv.limits import (
    REDIS_CONNECT_TIMEOUT,
    REDIS_HEALTH_CHECK_INTERVAL,
    REDIS_RETRIES,
    REDIS_RETRY_BACKOFF_BASE,
    REDIS_RETRY_BACKOFF_CAP,
    REDIS_SOCKET_TIMEOUT,
)

if TYPE_CHECKING:
    from redis.asyncio import Redis

# Error replies redis-py keeps as plain ResponseError that mean "Redis is there but
# cannot serve this now" (a failed RDB save stops writes; too few replicas): a 503.
# A pipeline error message is prefixed with "Command # n (...) of pipeline caused error: ".
_UNAVAILABLE_REPLY = re.compile(r"(^|error: )(MISCONF|NOREPLICAS)\b")


def redact(url: str) -> str:
    """``url`` with its password (if any) replaced by ``***``."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    user = parts.username or ""
    host = parts.netloc.rsplit("@", 1)[1]
    return urlunsplit(parts._replace(netloc=f"{user}:***@{host}"))


def new_client(url: str) -> Redis:
    """A client (with its own pool) for ``url``; it connects on first use."""
    from redis.asyncio import Redis
    from redis.asyncio.retry import Retry
    from redis.backoff import ExponentialBackoff
    from redis.exceptions import ConnectionError as RedisConnectionError

    return Redis.from_url(
        url,
        socket_connect_timeout=REDIS_CONNECT_TIMEOUT,
        socket_timeout=REDIS_SOCKET_TIMEOUT,
        # Retry a dropped connection (Redis restarted, idle socket cut), never a
        # timeout: a slow Redis would then cost twice the budget before the 503.
        retry=Retry(
            ExponentialBackoff(cap=REDIS_RETRY_BACKOFF_CAP, base=REDIS_RETRY_BACKOFF_BASE),
            REDIS_RETRIES,
            supported_errors=(RedisConnectionError,),
        ),
        health_check_interval=REDIS_HEALTH_CHECK_INTERVAL,
    )


@contextmanager
def unavailable_as_store_error(shown_url: str) -> Iterator[None]:
    """Turn "Redis cannot answer" into ``StoreUnavailable``; let real bugs through."""
    from redis import exceptions as rex

    unavailable = (
        rex.ConnectionError,  # also LOADING (BusyLoadingError) and failed AUTH
        rex.TimeoutError,
        rex.ReadOnlyError,  # a replica, e.g. right after a failover
        rex.OutOfMemoryError,  # maxmemory reached with noeviction: writes refused
        rex.MasterDownError,
        rex.TryAgainError,
        rex.ClusterDownError,
        OSError,
        TimeoutError,
    )
    try:
        yield
    except unavailable as exc:
        code = getattr(exc, "status_code", None)
        detail = f"{code} {exc}" if code and not str(exc).startswith(str(code)) else str(exc)
        raise StoreUnavailable(f"{shown_url}: {detail}") from exc
    except rex.ResponseError as exc:
        if _UNAVAILABLE_REPLY.search(str(exc)):
            raise StoreUnavailable(f"{shown_url}: {exc}") from exc
        raise


class LoopClient:
    """The client of ``url`` for the running event loop (a redis-py pool is bound to
    one loop): the first call on a loop creates it, ``aclose`` closes it.

    >>> clients = LoopClient("redis://127.0.0.1:6379/0")
    >>> await clients.get().ping()
    """

    def __init__(self, url: str) -> None:
        self.url = url
        self._client: Redis | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def get(self) -> Redis:
        loop = asyncio.get_running_loop()
        if self._client is None or self._loop is not loop:
            self._client = new_client(self.url)
            self._loop = loop
        return self._client

    async def aclose(self) -> None:
        """Close the client if it belongs to the running loop (others died with theirs)."""
        client, self._client = self._client, None
        if client is None:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # pragma: no cover - closing outside a loop
            return
        if loop is self._loop:
            with unavailable_as_store_error(redact(self.url)):
                await client.aclose()
