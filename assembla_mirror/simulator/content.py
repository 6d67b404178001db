"""The bytes of simulated files, derived on demand instead of stored.

A world can hold tens of thousands of documents; keeping their bytes would cost
gigabytes. A document's content is a pure function of ``(id, version, size,
content_type)``: 64 KiB blocks of SHAKE-256 output keyed by the id, version and
block index, so any byte range is made without the bytes before it. Text types
(``text/*``, JSON, SVG, source code) are mapped onto printable characters and
line breaks; a few binary types start with their real magic number, so a file
looks like what its name says to anything that sniffs it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from functools import lru_cache

BLOCK = 64 * 1024
OCTET_STREAM = "application/octet-stream"
MAGIC = {
    "image/png": b"\x89PNG\r\n\x1a\n",
    "image/jpeg": b"\xff\xd8\xff\xe0",
    "image/gif": b"GIF89a",
    "application/pdf": b"%PDF-1.4\n",
    "application/zip": b"PK\x03\x04",
    "application/gzip": b"\x1f\x8b\x08",
}
TEXT_TYPES = frozenset(
    {"application/json", "application/xml", "image/svg+xml", "application/x-ruby"}
)
#: content types by file extension (lower case), for files added without one
EXTENSION_TYPES = {
    "png": "image/png",
    "jpg": "image/jpeg",
    "jpeg": "image/jpeg",
    "gif": "image/gif",
    "svg": "image/svg+xml",
    "pdf": "application/pdf",
    "zip": "application/zip",
    "gz": "application/gzip",
    "json": "application/json",
    "xml": "application/xml",
    "rb": "application/x-ruby",
    "txt": "text/plain",
    "log": "text/plain",
    "md": "text/markdown",
    "csv": "text/csv",
    "html": "text/html",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
_PRINTABLE = b"etaoinshrdlucmfwypvbgkqjxz ETAOINSHRDLU    0123456789.,;:-_()=/\n\n"
#: byte -> printable character, for text types
_TEXT_TABLE = bytes.maketrans(bytes(range(256)), (_PRINTABLE * (256 // len(_PRINTABLE) + 1))[:256])


def _base_type(content_type: str) -> str:
    return content_type.split(";", 1)[0].strip().lower()


def guess_type(filename: str) -> str:
    """The content type of ``filename`` by its extension (``application/octet-stream``)."""
    _, dot, extension = filename.rpartition(".")
    if not dot:
        return OCTET_STREAM
    return EXTENSION_TYPES.get(extension.lower(), OCTET_STREAM)


def is_text(content_type: str) -> bool:
    """Whether files of ``content_type`` are made of printable text."""
    kind = _base_type(content_type)
    return kind.startswith("text/") or kind in TEXT_TYPES


def _block(doc_id: str, version: int, index: int) -> bytes:
    return hashlib.shake_256(f"{doc_id}/{version}/{index}".encode()).digest(BLOCK)


def chunks(
    doc_id: str,
    version: int,
    size: int,
    content_type: str,
    start: int = 0,
    stop: int | None = None,
) -> Iterator[bytes]:
    """The bytes ``[start, stop)`` of a document's content, in pieces of at most 64 KiB."""
    stop = size if stop is None else min(stop, size)
    if start >= stop:
        return
    text = is_text(content_type)
    magic = MAGIC.get(_base_type(content_type), b"")
    for index in range(start // BLOCK, (stop + BLOCK - 1) // BLOCK):
        block = _block(doc_id, version, index)
        if text:
            block = block.translate(_TEXT_TABLE)
        if index == 0 and magic:
            block = magic + block[len(magic) :]
        offset = index * BLOCK
        yield block[max(start - offset, 0) : min(stop - offset, BLOCK)]


def data(doc_id: str, version: int, size: int, content_type: str) -> bytes:
    """A document's whole content (``size`` bytes)."""
    return b"".join(chunks(doc_id, version, size, content_type))


@lru_cache(maxsize=65536)
def sha256(doc_id: str, version: int, size: int, content_type: str) -> str:
    """The hex SHA-256 of a document's content, computed once per version and cached."""
    digest = hashlib.sha256()
    for piece in chunks(doc_id, version, size, content_type):
        digest.update(piece)
    return digest.hexdigest()
