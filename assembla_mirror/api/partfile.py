"""Writing one answer's body to a ``.part`` file: resumed at the range asked for, hashed on
the way, never past a size limit, and flushed to disk before it counts as whole.

The body is written as it comes, so memory stays flat whatever the file's size;
the SHA-256 of a resumed file is first brought up to date from the bytes already
on disk. What an answer means (see :mod:`.downloads`)::

    206 from N (the .part's size)   append; the range must then reach the file's end
    200                             the server ignored the range: start again from zero
    416 (bytes */N)                 the .part is already whole; of another size: start again
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from assembla_mirror.errors import ApiError

#: Bytes read from a .part being resumed at a time.
CHUNK = 64 * 1024


class DownloadError(ApiError):
    """One file could not be downloaded; the message names it (and at most a host)."""


class TryAgain(Exception):
    """One attempt failed in a way worth another (from where the .part stands);
    ``wait``: after the usual backoff (else at once)."""

    def __init__(self, cause: str, *, wait: bool = True) -> None:
        super().__init__(cause)
        self.cause = cause
        self.wait = wait


@dataclass(frozen=True)
class Downloaded:
    """A file now whole in its ``.part``: the SHA-256 (hex) of its bytes, their count,
    and how many were already there from an earlier attempt or run."""

    sha256: str
    size: int
    resumed_from: int = 0


def receive(
    response: httpx.Response, part: Path, offset: int, label: str, limit: int
) -> Downloaded:
    """Write a 2xx (or 416) answer's body to ``part``, resuming at ``offset`` when it is
    the range asked for. Raises :class:`TryAgain` to try again, :class:`DownloadError`
    (naming the file by ``label``) for more than ``limit`` bytes."""
    status = response.status_code
    if status == 416:
        whole = _complete_length(response.headers.get("Content-Range", ""))
        if offset and whole == offset:
            return Downloaded(_hash_of(part, offset), offset, offset)
        part.unlink(missing_ok=True)
        raise TryAgain("the server refused the range asked for; starting over", wait=False)
    start = 0
    if status == 206:
        if _range_start(response.headers.get("Content-Range", "")) != offset:
            part.unlink(missing_ok=True)
            raise TryAgain("the server sent another range than asked for", wait=False)
        start = offset
    declared = response.headers.get("Content-Length", "")
    expected = start + int(declared) if declared.isdigit() else None
    if expected is not None and expected > limit:
        part.unlink(missing_ok=True)
        raise DownloadError(
            f"{label}: the server offers {expected:,} bytes, over the {limit:,} expected"
        )
    hasher = hashlib.sha256()
    if start:
        _hash_into(hasher, part, start)
    size = start
    with part.open("r+b" if start else "wb") as out:
        out.seek(start)
        out.truncate()
        for chunk in response.iter_raw():  # as they come: a chunker would lose its buffer
            size += len(chunk)
            if size > limit:
                out.close()
                part.unlink(missing_ok=True)
                raise DownloadError(
                    f"{label}: the server sent more than the {limit:,} bytes expected"
                )
            out.write(chunk)
            hasher.update(chunk)
        out.flush()
        os.fsync(out.fileno())
    if expected is not None and size != expected:
        raise TryAgain(f"the body ended after {size:,} of {expected:,} bytes")
    whole = _complete_length(response.headers.get("Content-Range", "")) if status == 206 else None
    if whole is not None and size != whole:
        raise TryAgain(f"the range sent ended at byte {size:,} of {whole:,}")
    return Downloaded(hasher.hexdigest(), size, start)


def _range_start(content_range: str) -> int | None:
    """The first byte of ``bytes START-END/TOTAL`` (None if unreadable)."""
    unit, _, spec = content_range.strip().partition(" ")
    first = spec.partition("-")[0]
    return int(first) if unit.lower() == "bytes" and first.isdigit() else None


def _complete_length(content_range: str) -> int | None:
    """The total of ``bytes */TOTAL`` (a 416's Content-Range), None if unreadable."""
    total = content_range.strip().rpartition("/")[2]
    return int(total) if total.isdigit() else None


def _hash_into(hasher: Any, part: Path, size: int) -> None:
    """Feed the first ``size`` bytes of ``part`` to ``hasher``, a chunk at a time."""
    left = size
    with part.open("rb") as stored:
        while left > 0:
            chunk = stored.read(min(CHUNK, left))
            if not chunk:
                raise TryAgain("the partial file is shorter than it was", wait=False)
            hasher.update(chunk)
            left -= len(chunk)


def _hash_of(part: Path, size: int) -> str:
    hasher = hashlib.sha256()
    _hash_into(hasher, part, size)
    return hasher.hexdigest()
