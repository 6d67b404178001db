"""Exceptions raised by assembla-mirror.

Every error a user can meet derives from :class:`MirrorError`, so the CLI can
catch one type and print its message. Messages name what failed (a method and
path, a record and field, a file) and never contain a credential::

    MirrorError
    ├── ConfigError            bad settings or input given to the tool
    ├── AuthError              401/403, or an OAuth token that cannot be refreshed
    │   └── ForbiddenError     403: the caller may not see this space
    ├── ApiError               a request failed for good (after any retries)
    │   ├── NotFoundError      404
    │   │   └── ToolNotFoundError   404 "Tool not found for this project": empty resource
    │   └── ResponseFormatError     a body that is not the JSON/XML it should be
    ├── DataError              a record the mirror cannot store (names record and field)
    ├── SchemaError            a database this version cannot use (newer, broken, not a mirror)
    ├── StorageError           the database file cannot be read or written (locked by another
    │                          program, disk full, read-only, I/O error)
    └── LockedError            another sync holds the database
"""

from __future__ import annotations


class MirrorError(Exception):
    """Base class of every error assembla-mirror raises on purpose."""


class ConfigError(MirrorError):
    """Invalid configuration or command-line input."""


class AuthError(MirrorError):
    """Credentials are missing, wrong, expired beyond refresh, or not allowed."""


class ForbiddenError(AuthError):
    """403: the credentials are valid but may not access this resource."""


class ApiError(MirrorError):
    """A request to Assembla failed for good.

    ``method``, ``path`` and ``status`` identify the request; ``path`` never
    carries credentials or secret query parameters.
    """

    def __init__(
        self, message: str, *, method: str = "", path: str = "", status: int | None = None
    ):
        super().__init__(message)
        self.method = method
        self.path = path
        self.status = status


class NotFoundError(ApiError):
    """404 for a resource that does not exist."""


class ToolNotFoundError(NotFoundError):
    """404 "Tool not found for this project": the space lacks the tool, so the list is empty."""


class ResponseFormatError(ApiError):
    """The server answered with a body the mirror cannot parse (HTML, truncated JSON, ...)."""


class DataError(MirrorError):
    """A record from the API that cannot be stored; the message names the record and field."""

    def __init__(
        self, message: str, *, entity: str = "", record_id: object = None, field: str = ""
    ):
        super().__init__(message)
        self.entity = entity
        self.record_id = record_id
        self.field = field


class SchemaError(MirrorError):
    """The database cannot be used by this version (written by a newer one, or damaged)."""


class StorageError(MirrorError):
    """The database cannot be read or written: the file, not its content, is the problem.

    ``path`` names the file; ``reason`` says what stands in the way, one of
    ``"locked"`` (another program holds a write lock), ``"full"`` (no space left, a
    quota or a file size limit), ``"readonly"`` (permissions, a read-only or
    immutable file or filesystem), ``"unopenable"`` (the file cannot be opened or
    created) and ``"io"`` (a disk I/O error).
    """

    def __init__(self, message: str, *, path: str = "", reason: str = ""):
        super().__init__(message)
        self.path = path
        self.reason = reason


class LockedError(MirrorError):
    """Another sync is running on the same database."""
