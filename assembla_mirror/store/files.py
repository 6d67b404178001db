"""The questions and writes of ``--with files``: which files to download, what was downloaded.

An attachment needs downloading when ``attachment_files`` has no row for it, or
its row was made from another version or ``updated_at`` of the attachment (a
new upload). Recording a download upserts that row in the caller's
transaction, the one that also moved the bytes into place, so a row always
names bytes that are on disk. A row goes with its attachment (the foreign key
cascades); the bytes no row names any more are then for the caller to remove
(:func:`referenced_hashes`).

Timestamps are compared and stored as the UTC text every ``moment`` column holds.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, bindparam, text

from assembla_mirror.model.columns import format_utc
from assembla_mirror.store.backends import dialect_of
from assembla_mirror.store.writes import chunks

_COLUMNS = ("attachment_id", "sha256", "size", "version", "updated_at", "downloaded_at")

# Null-safe "the row was made from this version": the same values, or both null.
_STALE = (
    "(f.attachment_id IS NULL "
    "OR coalesce(f.version, -1) != coalesce(a.version, -1) "
    "OR coalesce(f.updated_at, '') != coalesce(a.updated_at, ''))"
)
_PENDING = text(
    "SELECT a.id, a.space_id, a.name, a.filename, a.filesize, a.version, a.updated_at "
    "FROM attachments a LEFT JOIN attachment_files f ON f.attachment_id = a.id "
    f"WHERE a.space_id IN :spaces AND {_STALE} ORDER BY a.id"
).bindparams(bindparam("spaces", expanding=True))
_ATTACHMENTS = text(
    "SELECT a.id, a.space_id, a.name, a.filename, a.filesize, a.version, a.updated_at "
    "FROM attachments a WHERE a.id IN :ids ORDER BY a.id"
).bindparams(bindparam("ids", expanding=True))
_RECORDED = text(
    "SELECT f.attachment_id, f.sha256, f.size FROM attachment_files f "
    "JOIN attachments a ON a.id = f.attachment_id WHERE a.space_id IN :spaces"
).bindparams(bindparam("spaces", expanding=True))
_EXISTS = text("SELECT 1 FROM attachment_files WHERE attachment_id = :id")
_HASHES = text("SELECT DISTINCT sha256 FROM attachment_files")
_SUMMARY = text(
    "SELECT count(a.id), coalesce(sum(a.filesize), 0), "
    f"count(CASE WHEN {_STALE} THEN 1 END), "
    f"coalesce(sum(CASE WHEN {_STALE} THEN a.filesize END), 0) "
    "FROM attachments a LEFT JOIN attachment_files f ON f.attachment_id = a.id"
)
_STORED = text(
    "SELECT count(*), coalesce(sum(size), 0), count(DISTINCT sha256) FROM attachment_files"
)


@dataclass(frozen=True)
class FileToFetch:
    """An attachment whose bytes are to be downloaded (``updated_at`` as stored text)."""

    id: str
    space_id: str
    name: str | None
    filename: str | None
    filesize: int | None
    version: int | None
    updated_at: str | None

    @property
    def shown_name(self) -> str:
        """The name a person knows the file by."""
        return self.filename or self.name or self.id


@dataclass(frozen=True)
class FilesSummary:
    """What ``mirror status`` says of the files: attachments known (and their declared
    bytes), downloads recorded (their bytes, and distinct contents), and still pending."""

    attachments: int
    attachment_bytes: int
    downloaded: int
    downloaded_bytes: int
    contents: int
    pending: int
    pending_bytes: int


def pending_files(conn: Connection, space_ids: Collection[str]) -> list[FileToFetch]:
    """The attachments of ``space_ids`` with no download, or one of another version, by id."""
    if not space_ids:
        return []
    rows = conn.execute(_PENDING, {"spaces": list(space_ids)})
    return [FileToFetch(*row) for row in rows]


def files_by_id(conn: Connection, attachment_ids: Collection[str]) -> list[FileToFetch]:
    """The attachments with these ids (those that exist), by id."""
    found: list[FileToFetch] = []
    for part in chunks(sorted(attachment_ids)):
        found += [FileToFetch(*row) for row in conn.execute(_ATTACHMENTS, {"ids": list(part)})]
    return sorted(found, key=lambda item: item.id)


def recorded_files(conn: Connection, space_ids: Collection[str]) -> list[tuple[str, str, int]]:
    """Every recorded download of the attachments of ``space_ids``: (attachment id,
    sha256, size)."""
    if not space_ids:
        return []
    rows = conn.execute(_RECORDED, {"spaces": list(space_ids)})
    return [(str(key), str(sha), int(size)) for key, sha, size in rows]


def record_download(
    conn: Connection, item: FileToFetch, sha256: str, size: int, downloaded_at: datetime
) -> bool:
    """Record that ``item``'s bytes (as it is now) are stored under ``sha256``; True when
    it had no download recorded before (an insert rather than an update)."""
    new = conn.execute(_EXISTS, {"id": item.id}).first() is None
    dialect = dialect_of(conn)
    values = (item.id, sha256, size, item.version, item.updated_at, format_utc(downloaded_at))
    conn.exec_driver_sql(
        dialect.upsert_sql("attachment_files", _COLUMNS, ("attachment_id",)), values
    )
    return new


def referenced_hashes(conn: Connection) -> set[str]:
    """The SHA-256 of every content some recorded download names (any space)."""
    return {str(row[0]) for row in conn.execute(_HASHES)}


def files_summary(conn: Connection) -> FilesSummary:
    """Counts of attachments, recorded downloads and pending ones, over every space."""
    attachments, attachment_bytes, pending, pending_bytes = conn.execute(_SUMMARY).one()
    downloaded, downloaded_bytes, contents = conn.execute(_STORED).one()
    return FilesSummary(
        attachments=int(attachments),
        attachment_bytes=int(attachment_bytes),
        downloaded=int(downloaded),
        downloaded_bytes=int(downloaded_bytes),
        contents=int(contents),
        pending=int(pending),
        pending_bytes=int(pending_bytes),
    )
