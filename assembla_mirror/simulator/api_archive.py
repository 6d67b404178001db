"""The archive's read endpoints: tags, documents with their downloads, ticket associations.

They sit on :data:`.api.ROUTER` and follow the same rules (``api-contract.md``,
"Tags, attachments, associations"): tags and the tickets of a tag are paged
(default 10), as are documents (default 10, ``sort_by`` ``id``, ``created_at``
(the default) or ``updated_at``, ``sort_order`` ``asc``/``desc``, ties by id);
a ticket's tags, attachments and associations are unpaged. Tag and ticket
endpoints answer ``Tool not found for this project`` in a space without the
ticket tool, document endpoints (and ticket attachments) in a space without the
files tool. Downloads are answered by :mod:`.storage`.
"""

from __future__ import annotations

from assembla_mirror.simulator import render_archive, storage
from assembla_mirror.simulator.api import ROUTER, TICKETS_PER_PAGE, ticket_renderer
from assembla_mirror.simulator.entities import Ticket
from assembla_mirror.simulator.entities_archive import TAG_STATES, Document, Tag
from assembla_mirror.simulator.routes import (
    Call,
    HttpError,
    Response,
    json_response,
    not_found,
    tool_not_found,
    whole,
)
from assembla_mirror.simulator.state import SpaceData

get = ROUTER.add

TAGS_PER_PAGE = 10
DOCUMENTS_PER_PAGE = 10
DOCUMENT_SORTS = frozenset({"id", "created_at", "updated_at"})


def _ticket(call: Call, data: SpaceData) -> Ticket:
    found = data.tickets.get(int(call.params["number"]))
    if found is None:
        raise HttpError(not_found())
    return found


# --- tags ------------------------------------------------------------------------------------


def _tags(call: Call, state: int | None) -> Response:
    data = call.ticket_space()
    where = call.zone_of(data)
    items = [t for t in sorted(data.tags.values(), key=lambda t: t.id) if state in (None, t.state)]
    return call.page(items, TAGS_PER_PAGE, lambda t: render_archive.tag(t, where))


@get("GET", "/v1/spaces/:space/tags")
def tags(call: Call) -> Response:
    """Every tag of the space, by id (paged)."""
    return _tags(call, None)


@get("GET", "/v1/spaces/:space/tags/active")
def active_tags(call: Call) -> Response:
    """Active tags (state 2), by id (paged)."""
    return _tags(call, TAG_STATES["active"])


@get("GET", "/v1/spaces/:space/tags/proposed")
def proposed_tags(call: Call) -> Response:
    """Proposed tags (state 1), by id (paged)."""
    return _tags(call, TAG_STATES["proposed"])


@get("GET", "/v1/spaces/:space/tags/hidden")
def hidden_tags(call: Call) -> Response:
    """Hidden tags (state 4), by id (paged)."""
    return _tags(call, TAG_STATES["hidden"])


def _tag(call: Call, data: SpaceData) -> Tag:
    found = data.tags.get(int(call.params["id"]))
    if found is None:
        raise HttpError(not_found())
    return found


@get("GET", "/v1/spaces/:space/tags/:id")
def tag(call: Call) -> Response:
    """One tag."""
    data = call.ticket_space()
    return json_response(render_archive.tag(_tag(call, data), call.zone_of(data)))


@get("GET", "/v1/spaces/:space/tags/:id/tickets")
def tag_tickets(call: Call) -> Response:
    """The tickets carrying a tag, by number (paged, ticket JSON as the tickets list)."""
    data = call.ticket_space()
    found = _tag(call, data)
    key = ("tag_tickets", data.space.id, found.id, data.generation, data.archive_generation)

    def compute() -> list[Ticket]:
        links = data.ticket_tags
        carrying = (t for t in data.tickets.values() if found.id in links.get(t.id, ()))
        return sorted(carrying, key=lambda t: t.number)

    items = call.world.state.orders.get(key, compute)
    return call.page(items, TICKETS_PER_PAGE, ticket_renderer(call, data))


@get("GET", "/v1/spaces/:space/tickets/:number/tags")
def ticket_tags(call: Call) -> Response:
    """The tags a ticket carries, by id (unpaged)."""
    data = call.ticket_space()
    ticket = _ticket(call, data)
    where = call.zone_of(data)
    items = [data.tags[tid] for tid in sorted(data.ticket_tags.get(ticket.id, ()))]
    return whole(items, lambda t: render_archive.tag(t, where))


# --- documents ---------------------------------------------------------------------------------


@get("GET", "/v1/spaces/:space/documents")
def documents(call: Call) -> Response:
    """Every file of the space, sorted (default ``created_at`` asc; ties by id) and paged."""
    data = call.files_space()
    sort_by = s if (s := call.arg("sort_by")) in DOCUMENT_SORTS else "created_at"
    descending = (call.arg("sort_order") or "").lower() == "desc"
    key = ("documents", data.space.id, data.archive_generation, sort_by, descending)

    def compute() -> list[Document]:
        def order(d: Document) -> tuple[object, str]:
            return getattr(d, sort_by), d.id

        return sorted(data.documents.values(), key=order, reverse=descending)

    items = call.world.state.orders.get(key, compute)
    where = call.zone_of(data)
    return call.page(items, DOCUMENTS_PER_PAGE, lambda d: render_archive.document(d, where))


def _document(call: Call, data: SpaceData) -> Document:
    found = data.documents.get(call.params["document"])
    if found is None:
        raise HttpError(not_found())
    return found


@get("GET", "/v1/spaces/:space/documents/:document")
def document(call: Call) -> Response:
    """One document."""
    data = call.files_space()
    return json_response(render_archive.document(_document(call, data), call.zone_of(data)))


@get("GET", "/v1/spaces/:space/documents/:document/download")
def download(call: Call) -> Response:
    """The document's bytes (``Range`` honoured), or a ``302`` to the storage host."""
    data = call.files_space()
    found = _document(call, data)
    if call.storage is not None and call.storage.url is not None:
        return call.storage.redirect(found)
    return storage.file_response(found, call.header("Range"))


@get("GET", "/v1/spaces/:space/tickets/:number/attachments")
def attachments(call: Call) -> Response:
    """The files attached to a ticket, oldest first (unpaged)."""
    data = call.ticket_space()
    if data.files_tool is None:
        return tool_not_found()
    ticket = _ticket(call, data)
    where = call.zone_of(data)
    items = [data.documents[did] for did in data.ticket_documents.get(ticket.id, ())]
    return whole(items, lambda d: render_archive.document(d, where))


# --- associations --------------------------------------------------------------------------------


@get("GET", "/v1/spaces/:space/tickets/:number/ticket_associations")
def ticket_associations(call: Call) -> Response:
    """The ticket's associations, by id, whichever end it is (unpaged)."""
    data = call.ticket_space()
    ticket = _ticket(call, data)
    where = call.zone_of(data)
    state = call.world.state
    items = [
        state.associations[aid] for aid in sorted(state.ticket_associations.get(ticket.id, ()))
    ]
    return whole(items, lambda a: render_archive.association(a, where))
