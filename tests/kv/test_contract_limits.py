"""Limits and messages of docs/kv.md, each at, under and over its boundary, with the
messages to the letter, against every store kind."""

from __future__ import annotations

import math
import tracemalloc
from collections.abc import AsyncIterator

import pytest

from kv import KVError, KVNamespace
from kv.limits import MAX_VALUE_BYTES, STREAM_CHUNK_BYTES
from runtime.testing import FakeClock

MIB = 1024 * 1024


def key_of_bytes(n: int) -> str:
    """A key of exactly ``n`` UTF-8 bytes made mostly of 3- and 4-byte characters."""
    astral, rest = divmod(n, 4)
    return "\U0001f600" * astral + "é" * (rest // 2) + "a" * (rest % 2)


async def expect_kv_error(coro: object, message: str, status: int, op: str) -> None:
    with pytest.raises(KVError) as err:
        await coro  # type: ignore[misc]
    assert str(err.value) == message
    assert (err.value.status, err.value.operation) == (status, op)


# --- keys ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "message"),
    [
        ("", "Key name cannot be empty."),
        (".", '"." is not allowed as a key name.'),
        ("..", '".." is not allowed as a key name.'),
    ],
)
async def test_key_empty_dot_dotdot_are_typeerrors_for_every_op(
    ns: KVNamespace, key: str, message: str
) -> None:
    for call in (ns.get(key), ns.get_with_metadata(key), ns.put(key, "v"), ns.delete(key)):
        with pytest.raises(TypeError) as err:
            await call
        assert str(err.value) == message
    assert (await ns.list()).keys == []


async def test_key_dots_inside_names_are_fine(ns: KVNamespace) -> None:
    for key in ("...", "./a", "a/..", " .", ". "):
        await ns.put(key, key)
        assert await ns.get(key) == key


async def test_key_of_512_multibyte_bytes_is_accepted(ns: KVNamespace) -> None:
    key = key_of_bytes(512)
    assert len(key.encode()) == 512 and len(key) < 512
    await ns.put(key, "v")
    assert await ns.get(key) == "v"
    assert (await ns.list()).keys[0].name == key
    await ns.delete(key)
    assert await ns.get(key) is None


@pytest.mark.parametrize("op", ["GET", "PUT", "DELETE"])
async def test_key_of_513_bytes_is_414_naming_the_operation(ns: KVNamespace, op: str) -> None:
    key = key_of_bytes(513)
    calls = {
        "GET": lambda: ns.get(key),
        "PUT": lambda: ns.put(key, "v"),
        "DELETE": lambda: ns.delete(key),
    }
    await expect_kv_error(
        calls[op](),
        f"KV {op} failed: 414 UTF-8 encoded length of 513 exceeds key length limit of 512.",
        414,
        op,
    )


async def test_key_with_lone_surrogate_is_400_and_nothing_is_stored(ns: KVNamespace) -> None:
    with pytest.raises(KVError) as err:
        await ns.put("a\ud800", "v")
    assert err.value.status == 400
    assert (await ns.list()).keys == []


async def test_key_that_is_not_a_string_is_typeerror(ns: KVNamespace) -> None:
    with pytest.raises(TypeError):
        await ns.put(1, "v")  # type: ignore[arg-type]


# --- values ------------------------------------------------------------------------


async def test_value_of_exactly_25_mib_is_accepted_and_one_more_byte_is_413(
    ns: KVNamespace,
) -> None:
    big = bytes(MAX_VALUE_BYTES)
    await ns.put("big", big)
    await expect_kv_error(
        ns.put("big", bytearray(MAX_VALUE_BYTES + 1)),
        "KV PUT failed: 413 Value length of 26214401 exceeds limit of 26214400.",
        413,
        "PUT",
    )
    # The failed put left the old value; it streams back in bounded chunks, never
    # holding the whole value in memory.
    tracemalloc.start()
    try:
        stream = await ns.get("big", "stream")
        total, largest = 0, 0
        async for chunk in stream:
            total += len(chunk)
            largest = max(largest, len(chunk))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert total == MAX_VALUE_BYTES
    assert 0 < largest <= STREAM_CHUNK_BYTES
    assert peak < 4 * MIB


async def test_value_text_is_measured_in_utf8_bytes(ns: KVNamespace) -> None:
    await expect_kv_error(
        ns.put("k", "é" * (MAX_VALUE_BYTES // 2 + 1)),
        "KV PUT failed: 413 Value length of 26214402 exceeds limit of 26214400.",
        413,
        "PUT",
    )


async def test_value_stream_aborts_as_soon_as_it_passes_the_limit(ns: KVNamespace) -> None:
    pulled = 0

    async def endless() -> AsyncIterator[bytes]:
        nonlocal pulled
        while True:
            pulled += 1
            yield bytes(MIB)

    await ns.put("k", "old")
    with pytest.raises(KVError) as err:
        await ns.put("k", endless())
    assert (err.value.status, err.value.operation) == (413, "PUT")
    assert str(err.value) == (
        f"KV PUT failed: 413 Value length of {26 * MIB} exceeds limit of 26214400."
    )
    assert pulled == 26  # stopped at the first chunk past 25 MiB
    assert await ns.get("k") == "old"


async def test_value_with_lone_surrogate_is_400(ns: KVNamespace) -> None:
    with pytest.raises(KVError) as err:
        await ns.put("k", "bad \udc80")
    assert (err.value.status, err.value.operation) == (400, "PUT")


# --- metadata ------------------------------------------------------------------------


def metadata_of_bytes(n: int) -> str:
    """A JSON string value whose compact JSON text is ``n`` bytes (2 are the quotes)."""
    body = n - 2
    return "€" * (body // 3) + "a" * (body % 3)


async def test_metadata_of_1024_bytes_is_accepted_1025_is_413(ns: KVNamespace) -> None:
    await ns.put("k", "v", metadata=metadata_of_bytes(1024))
    assert (await ns.get_with_metadata("k")).metadata == metadata_of_bytes(1024)
    await expect_kv_error(
        ns.put("k", "new", metadata=metadata_of_bytes(1025)),
        "KV PUT failed: 413 Metadata length of 1025 exceeds limit of 1024.",
        413,
        "PUT",
    )
    assert await ns.get("k") == "v"


async def test_metadata_size_is_compact_json(ns: KVNamespace) -> None:
    # {"a":"x..."}: 8 bytes of punctuation and name + the string.
    await ns.put("k", "v", metadata={"a": "x" * 1016})
    await expect_kv_error(
        ns.put("k", "v", metadata={"a": "x" * 1017}),
        "KV PUT failed: 413 Metadata length of 1025 exceeds limit of 1024.",
        413,
        "PUT",
    )


@pytest.mark.parametrize(
    "bad",
    [
        {"x": math.nan},
        {"x": math.inf},
        {"s": {1, 2}},
        object(),
        {"k": b"bytes"},
        {1.5j: 1},
        {"s": "\ud800"},
    ],
    ids=["nan", "inf", "set", "object", "bytes", "complex-key", "lone-surrogate"],
)
async def test_metadata_not_json_serialisable_is_400(ns: KVNamespace, bad: object) -> None:
    await ns.put("k", "v")
    await expect_kv_error(
        ns.put("k", "new", metadata=bad),
        "KV PUT failed: 400 Metadata must be JSON-serialisable.",
        400,
        "PUT",
    )
    assert await ns.get("k") == "v"


async def test_metadata_deeply_nested_is_400_not_a_crash(ns: KVNamespace) -> None:
    nested: list[object] = []
    for _ in range(100_000):
        nested = [nested]
    with pytest.raises(KVError) as err:
        await ns.put("k", "v", metadata=nested)
    assert err.value.status in (400, 413)


# --- expiration ------------------------------------------------------------------


async def test_expiration_ttl_boundaries(ns: KVNamespace, clock: FakeClock) -> None:
    await ns.put("k", "v", expiration_ttl=60)
    await expect_kv_error(
        ns.put("k", "v", expiration_ttl=59),
        "KV PUT failed: 400 Invalid expiration_ttl of 59. Expiration TTL must be at least 60.",
        400,
        "PUT",
    )


@pytest.mark.parametrize(
    ("bad", "shown"),
    [(0, "0"), (-1, "-1"), (1.5, "1.5"), ("60", "60"), (True, "True"), (math.nan, "nan")],
)
async def test_expiration_ttl_not_positive_integer(
    ns: KVNamespace, bad: object, shown: str
) -> None:
    await expect_kv_error(
        ns.put("k", "v", expiration_ttl=bad),  # type: ignore[arg-type]
        f"KV PUT failed: 400 Invalid expiration_ttl of {shown}. Please specify integer greater than 0.",
        400,
        "PUT",
    )
    assert await ns.get("k") is None


async def test_expiration_ttl_integral_float_is_accepted(ns: KVNamespace, clock: FakeClock) -> None:
    await ns.put("k", "v", expiration_ttl=120.0)
    assert (await ns.list()).keys[0].expiration == int(clock()) + 120


async def test_expiration_boundaries(ns: KVNamespace, clock: FakeClock) -> None:
    now = int(clock())
    await ns.put("k", "v", expiration=now + 60)
    await expect_kv_error(
        ns.put("k", "v", expiration=now + 59),
        f"KV PUT failed: 400 Invalid expiration of {now + 59}. Expiration times must be at least 60 seconds in the future.",
        400,
        "PUT",
    )
    for past in (now, now - 1, 0):
        await expect_kv_error(
            ns.put("k", "v", expiration=past),
            f"KV PUT failed: 400 Invalid expiration of {past}. Please specify integer greater than the current number of seconds since the UNIX epoch.",
            400,
            "PUT",
        )


@pytest.mark.parametrize("bad", ["1800000000", 1.8e9 + 0.5, True, math.nan])
async def test_expiration_not_integer(ns: KVNamespace, bad: object) -> None:
    with pytest.raises(KVError) as err:
        await ns.put("k", "v", expiration=bad)  # type: ignore[arg-type]
    assert str(err.value).endswith(
        "Please specify integer greater than the current number of seconds since the UNIX epoch."
    )


async def test_expiration_with_fractional_now(ns: KVNamespace, clock: FakeClock) -> None:
    clock.advance(0.5)
    now = int(clock())
    with pytest.raises(KVError):  # now+60 is 59.5 s ahead
        await ns.put("k", "v", expiration=now + 60)
    await ns.put("k", "v", expiration=now + 61)
    await ns.put("t", "v", expiration_ttl=60)
    assert (await ns.list(prefix="t")).keys[0].expiration == now + 60


async def test_expiration_ttl_wins_and_expiration_is_not_validated(
    ns: KVNamespace, clock: FakeClock
) -> None:
    await ns.put("k", "v", expiration=5, expiration_ttl=100)
    await ns.put("j", "v", {"expiration": "garbage", "expirationTtl": 100})
    assert [k.expiration for k in (await ns.list()).keys] == [int(clock()) + 100] * 2


async def test_expiration_far_future_limits(ns: KVNamespace) -> None:
    await ns.put("k", "v", expiration=253_402_300_799)
    assert (await ns.list()).keys[0].expiration == 253_402_300_799
    for call in (
        ns.put("k", "v", expiration=253_402_300_800),
        ns.put("k", "v", expiration_ttl=2**63),
        ns.put("k", "v", expiration_ttl=1e30),
    ):
        with pytest.raises(KVError) as err:
            await call
        assert err.value.status == 400
    assert (await ns.list()).keys[0].expiration == 253_402_300_799


# --- order of checks in put: key, expiration, metadata, value size ---------------------


async def test_put_checks_key_then_expiration_then_metadata_then_size(ns: KVNamespace) -> None:
    big = bytes(MAX_VALUE_BYTES + 1)
    huge_meta = "x" * 2000
    with pytest.raises(KVError, match="414"):
        await ns.put("k" * 513, big, expiration_ttl=1, metadata=huge_meta)
    with pytest.raises(KVError, match="expiration_ttl"):
        await ns.put("k", big, expiration_ttl=1, metadata=huge_meta)
    with pytest.raises(KVError, match="Metadata length"):
        await ns.put("k", big, metadata=huge_meta)
    with pytest.raises(KVError, match="Value length"):
        await ns.put("k", big)


async def test_failed_put_never_touches_previous_entry(ns: KVNamespace, clock: FakeClock) -> None:
    await ns.put("k", "v1", expiration_ttl=600, metadata={"a": 1})
    for bad in (
        ns.put("k", "v2", expiration_ttl=10),
        ns.put("k", "v2", metadata={"x": math.nan}),
        ns.put("k", "v2", metadata="m" * 2000),
        ns.put("k", bytes(MAX_VALUE_BYTES + 1)),
    ):
        with pytest.raises(KVError):
            await bad
    got = await ns.get_with_metadata("k")
    assert (got.value, got.metadata) == ("v1", {"a": 1})
    assert (await ns.list()).keys[0].expiration == int(clock()) + 600


# --- reliability checklist B12: the same answers on every store ------------------------


@pytest.mark.parametrize(
    ("options", "accepted"),
    [
        ({"expiration_ttl": -1}, False),
        ({"expiration_ttl": 0}, False),
        ({"expiration_ttl": 59}, False),
        ({"expiration_ttl": 60}, True),
        ({"expiration_ttl": "abc"}, False),
        ({"expiration_ttl": 1e30}, False),
        ({"expiration_ttl": 2**63}, False),
        ({"expiration": -1}, False),
        ({"expiration": 30}, False),
        ({"expiration": 3600}, True),
        ({"expiration": 253_402_300_799 - 1_700_000_000}, True),  # 9999-12-31T23:59:59Z
    ],
)
async def test_ttl_and_expiration_table_b12(
    ns: KVNamespace, clock: FakeClock, options: dict[str, object], accepted: bool
) -> None:
    if "expiration" in options:
        options = {"expiration": int(clock()) + int(options["expiration"])}  # type: ignore[call-overload]
    if accepted:
        await ns.put("k", "v", options)
        assert await ns.get("k") == "v"
    else:
        with pytest.raises(KVError) as err:
            await ns.put("k", "v", options)
        assert (err.value.status, err.value.operation) == (400, "PUT")
        assert await ns.get("k") is None
