"""``FormData``, ``Blob`` and ``File`` as in Cloudflare's Python SDK, plus form parsing.

>>> form = FormData({"name": "Ada"})
>>> form.append("file", Blob([b"%PDF"], content_type="application/pdf"), filename="a.pdf")
>>> form["name"], form.get_all("file")[0].name
('Ada', 'a.pdf')
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterable, Iterator, MutableMapping
from typing import Any
from urllib.parse import parse_qsl

__all__ = ["Blob", "File", "FormData", "parse_form"]

FormDataValue = Any  # str or Blob/File


class Blob:
    """Immutable bytes with a content type: ``size``, ``content_type``, ``await text()``."""

    def __init__(
        self,
        parts: Iterable[Any] = (),
        content_type: str | None = None,
        endings: str | None = None,
    ) -> None:
        chunks = []
        for part in parts:
            if isinstance(part, Blob):
                chunks.append(part.data)
            elif isinstance(part, str):
                text = (
                    part.replace("\r\n", "\n").replace("\n", "\r\n")
                    if endings == "native"
                    else part
                )
                chunks.append(text.encode("utf-8"))
            elif isinstance(part, bytes | bytearray | memoryview):
                chunks.append(bytes(part))
            else:
                raise TypeError(f"Blob parts must be str, bytes or Blob, not {type(part).__name__}")
        self.data: bytes = b"".join(chunks)
        self.content_type = content_type or ""

    @property
    def size(self) -> int:
        return len(self.data)

    @property
    def type(self) -> str:  # the JS name
        return self.content_type

    async def text(self) -> str:
        return self.data.decode("utf-8", "replace")

    async def bytes(self) -> bytes:
        return self.data

    async def array_buffer(self) -> memoryview:
        return memoryview(self.data)

    arrayBuffer = array_buffer  # the JS name

    def slice(
        self, start: int = 0, end: int | None = None, content_type: str | None = None
    ) -> Blob:
        return Blob([self.data[start:end]], content_type=content_type or "")


class File(Blob):
    """A ``Blob`` with a ``name`` and ``last_modified`` (ms since the epoch)."""

    def __init__(
        self,
        parts: Iterable[Any],
        filename: str,
        content_type: str | None = None,
        endings: str | None = None,
        last_modified: int | None = None,
    ) -> None:
        super().__init__(parts, content_type, endings)
        self.name = filename
        self.last_modified = int(time.time() * 1000) if last_modified is None else last_modified


class FormData(MutableMapping[str, FormDataValue]):
    """Ordered form fields; ``form[k]`` is the first value of ``k``."""

    def __init__(self, form: Any = None) -> None:
        self._items: list[tuple[str, FormDataValue]] = []
        if isinstance(form, FormData):
            self._items = list(form._items)
        elif isinstance(form, dict):
            for key, value in form.items():
                self.append(key, value)
        elif form is not None:
            raise TypeError(f"FormData() takes a dict or None, not {type(form).__name__}")

    def append(self, key: str, value: FormDataValue, filename: str | None = None) -> None:
        if isinstance(value, Blob) and filename is not None:
            value = File([value], filename, content_type=value.content_type)
        elif not isinstance(value, Blob):
            value = str(value)
        self._items.append((key, value))

    def get_all(self, key: str) -> list[FormDataValue]:
        return [v for k, v in self._items if k == key]

    getAll = get_all  # the JS name

    def delete(self, key: str) -> None:
        self._items = [(k, v) for k, v in self._items if k != key]

    def has(self, key: str) -> bool:
        return any(k == key for k, _ in self._items)

    def set(self, key: str, value: FormDataValue, filename: str | None = None) -> None:
        self.delete(key)
        self.append(key, value, filename)

    def __getitem__(self, key: str) -> FormDataValue:
        for k, v in self._items:
            if k == key:
                return v
        raise KeyError(key)

    def __setitem__(self, key: str, value: FormDataValue) -> None:
        self.set(key, value)

    def __delitem__(self, key: str) -> None:
        if not self.has(key):
            raise KeyError(key)
        self.delete(key)

    def __iter__(self) -> Iterator[str]:
        return iter(dict.fromkeys(k for k, _ in self._items))

    def __len__(self) -> int:
        return len(dict.fromkeys(k for k, _ in self._items))

    def items(self) -> Any:  # every pair, duplicates included (JS entries())
        return list(self._items)

    def encode_multipart(self) -> tuple[bytes, str]:
        """The multipart/form-data body and its content type."""
        boundary = f"----edgeworks{uuid.uuid4().hex}"
        out = bytearray()
        for key, value in self._items:
            out += f"--{boundary}\r\n".encode()
            if isinstance(value, Blob):
                name = value.name if isinstance(value, File) else "blob"
                out += (
                    f'Content-Disposition: form-data; name="{key}"; filename="{name}"\r\n'.encode()
                )
                out += f"Content-Type: {value.content_type or 'application/octet-stream'}\r\n\r\n".encode()
                out += value.data
            else:
                out += f'Content-Disposition: form-data; name="{key}"\r\n\r\n'.encode()
                out += value.encode("utf-8")
            out += b"\r\n"
        out += f"--{boundary}--\r\n".encode()
        return bytes(out), f"multipart/form-data; boundary={boundary}"


def parse_form(data: bytes, content_type: str) -> FormData:
    """A urlencoded or multipart body as ``FormData`` (files as ``File``)."""
    form = FormData()
    kind = content_type.split(";", 1)[0].strip().lower()
    if kind == "multipart/form-data":
        from email.parser import BytesParser
        from email.policy import HTTP

        message = BytesParser(policy=HTTP).parsebytes(
            f"Content-Type: {content_type}\r\n\r\n".encode("latin-1") + data
        )
        for part in message.iter_parts():
            name = part.get_param("name", header="content-disposition")
            if not isinstance(name, str):
                continue
            payload = part.get_payload(decode=True)
            raw = payload if isinstance(payload, bytes) else b""
            filename = part.get_filename()
            if filename is not None:
                form.append(name, File([raw], filename, content_type=part.get_content_type()))
            else:
                form.append(name, raw.decode(part.get_content_charset() or "utf-8", "replace"))
        return form
    if kind in ("application/x-www-form-urlencoded", ""):
        for key, value in parse_qsl(data.decode("utf-8", "replace"), keep_blank_values=True):
            form.append(key, value)
        return form
    raise TypeError(f"cannot read a form from a {kind} body")
