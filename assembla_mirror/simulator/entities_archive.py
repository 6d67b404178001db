"""The archive's objects: tags, documents (files and ticket attachments) and ticket associations.

They follow :mod:`.entities`' conventions: aware UTC datetimes with whole
seconds, a ``cache`` slot for the rendered JSON and a ``patch`` slot for values
a test plants (:meth:`World.corrupt`). A document holds no bytes: its content is
derived from ``(id, version, filesize, content_type)`` on demand (see
:mod:`.content`), so :meth:`Document.content` and :attr:`Document.sha256` work on
a truth's copies as well as on the live record.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from assembla_mirror.simulator import content
from assembla_mirror.simulator.entities import Patch, RenderCache

#: The web host of documents' ``url`` (the API serves the bytes at ``.../download``).
WEB_URL = "https://www.assembla.com"
#: Tag states: 1 proposed, 2 active, 4 hidden (the ``/tags/<state>`` lists).
TAG_STATES = {"proposed": 1, "active": 2, "hidden": 4}
#: What ticket2 is to ticket1, by ``relationship``.
RELATIONSHIPS = {
    0: "parent",
    1: "child",
    2: "related",
    3: "duplicate",
    4: "sibling",
    5: "story",
    6: "subtask",
    7: "dependent",
    8: "block",
}


@dataclass(slots=True, kw_only=True)
class Tag:
    """A ticket tag of a space; ``state`` 1 proposed, 2 active, 4 hidden."""

    id: int
    space_id: str
    name: str
    state: int
    created_at: datetime
    updated_at: datetime
    color: str | None = None
    cache: RenderCache = field(default=None, compare=False, repr=False)
    patch: Patch = field(default=None, compare=False, repr=False)


@dataclass(slots=True, kw_only=True)
class Document:
    """A file of a space; a ticket attachment has ``attachable_type`` ``"Ticket"``.

    ``ticket_id`` and ``attachable_id`` are the ticket's global id (both None for a
    plain space file). ``filesize`` is the length of :meth:`content`.
    """

    id: str
    space_id: str
    name: str
    filename: str
    content_type: str
    filesize: int
    version: int
    created_by: str
    updated_by: str
    created_at: datetime
    updated_at: datetime
    url: str
    description: str | None = None
    cached_tag_list: str = ""
    position: int = 0
    ticket_id: int | None = None
    attachable_type: str | None = None
    attachable_id: int | None = None
    attachable_guid: str | None = None
    has_thumbnail: bool = False
    cache: RenderCache = field(default=None, compare=False, repr=False)
    patch: Patch = field(default=None, compare=False, repr=False)

    def content(self) -> bytes:
        """The bytes of this version of the file (made on demand; nothing is stored)."""
        return content.data(self.id, self.version, self.filesize, self.content_type)

    @property
    def sha256(self) -> str:
        """The hex SHA-256 of :meth:`content` (computed once per version, then cached)."""
        return content.sha256(self.id, self.version, self.filesize, self.content_type)


@dataclass(slots=True, kw_only=True)
class Association:
    """A link between two tickets (global ids); ``relationship`` says what ticket2 is to
    ticket1 (see :data:`RELATIONSHIPS`)."""

    id: int
    ticket1_id: int
    ticket2_id: int
    relationship: int
    created_at: datetime
    cache: RenderCache = field(default=None, compare=False, repr=False)
    patch: Patch = field(default=None, compare=False, repr=False)


def download_url(space_id: str, doc_id: str) -> str:
    """A document's ``url``, in the shape Assembla records (its web host, not the API)."""
    return f"{WEB_URL}/spaces/{space_id}/documents/{doc_id}/download/{doc_id}"
