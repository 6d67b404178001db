"""The archive's endpoints over real HTTP: tags, documents, downloads, associations, missing
tools, and the truth they must agree with (changes: ``test_archive_changes.py``)."""

from __future__ import annotations

import hashlib
from collections import Counter
from typing import Any

import httpx
import pytest

from assembla_mirror.simulator import World
from assembla_mirror.simulator.state import SpaceData

from .helpers import all_pages, instant


def mine(world: World) -> list[SpaceData]:
    return world.state.member_spaces(world.primary_user.id)


def archive_space(world: World) -> SpaceData:
    """The caller's first space with both tools (tags, attachments, associations)."""
    return next(d for d in mine(world) if d.ticket_tool and d.files_tool)


def ids(items: list[dict[str, Any]]) -> list[Any]:
    return [item["id"] for item in items]


# --- tags ---------------------------------------------------------------------------------


def test_tags_are_paged_filtered_and_one_by_one(small: httpx.Client, small_world: World) -> None:
    data = archive_space(small_world)
    base = f"/v1/spaces/{data.space.id}/tags"
    expected = [t.id for t in small_world.truth().tags if t.space_id == data.space.id]
    assert ids(all_pages(small, base)) == expected
    pages = [small.get(base, params={"per_page": 2, "page": n}) for n in (1, 2, 3, 4)]
    served = [item for r in pages if r.status_code == 200 for item in r.json()]
    assert ids(served) == expected
    past = small.get(base, params={"page": 50})
    assert (past.status_code, past.content, past.headers["content-type"]) == (
        204,
        b"",
        "text/plain; charset=utf-8",
    )
    assert small.get(base + ".json").content == small.get(base).content
    by_state = {name: ids(all_pages(small, f"{base}/{name}")) for name in ("proposed", "hidden")}
    by_state["active"] = ids(all_pages(small, f"{base}/active"))
    for name, state in (("proposed", 1), ("active", 2), ("hidden", 4)):
        assert by_state[name] == [t for t in expected if data.tags[t].state == state]
        assert by_state[name], name  # every ticket space has one of each
    first = small.get(base).json()[0]
    assert set(first) == {"id", "name", "space_id", "state", "color", "created_at", "updated_at"}
    assert small.get(f"{base}/{first['id']}").json() == first
    assert small.get(f"{base}/999999").status_code == 404


def test_tag_tickets_are_the_tickets_list_json_in_number_order(
    small: httpx.Client, small_world: World
) -> None:
    data = archive_space(small_world)
    base = f"/v1/spaces/{data.space.id}"
    links = small_world.truth().ticket_tags
    numbers = {t.id: t.number for t in data.tickets.values()}
    busiest = max(data.tags, key=lambda tag: sum(1 for _, t in links if t == tag))
    for tag in data.tags:
        served = all_pages(small, f"{base}/tags/{tag}/tickets")
        expected = sorted(numbers[ticket] for ticket, t in links if t == tag)
        assert [s["number"] for s in served] == expected
    first_page = small.get(f"{base}/tags/{busiest}/tickets").json()
    assert len(first_page) == 10  # the default page size
    listed = small.get(f"{base}/tickets", params={"number[]": [t["number"] for t in first_page]})
    assert first_page == listed.json()
    assert small.get(f"{base}/tags/999999/tickets").status_code == 404


def test_a_tickets_tags_are_unpaged(small: httpx.Client, small_world: World) -> None:
    data = archive_space(small_world)
    tagged = next(t for t in data.tickets.values() if len(data.ticket_tags.get(t.id, ())) > 1)
    path = f"/v1/spaces/{data.space.id}/tickets/{tagged.number}/tags"
    whole = small.get(path).json()
    assert ids(whole) == sorted(data.ticket_tags[tagged.id])
    assert small.get(path, params={"page": 2, "per_page": 1}).json() == whole
    untagged = next(t for t in data.tickets.values() if t.id not in data.ticket_tags)
    assert (
        small.get(f"/v1/spaces/{data.space.id}/tickets/{untagged.number}/tags").status_code == 204
    )


# --- documents ----------------------------------------------------------------------------


def test_documents_sort_and_page(small: httpx.Client, small_world: World) -> None:
    data = archive_space(small_world)
    base = f"/v1/spaces/{data.space.id}/documents"
    docs = list(data.documents.values())
    assert len(small.get(base).json()) == 10
    assert ids(all_pages(small, base)) == [
        d.id for d in sorted(docs, key=lambda d: (d.created_at, d.id))
    ]
    newest = all_pages(small, base, sort_by="updated_at", sort_order="desc")
    assert ids(newest) == [
        d.id for d in sorted(docs, key=lambda d: (d.updated_at, d.id), reverse=True)
    ]
    stamps = [instant(d["updated_at"]) for d in newest]
    assert stamps == sorted(stamps, reverse=True)
    assert ids(all_pages(small, base, sort_by="id")) == sorted(d.id for d in docs)
    assert small.get(base, params={"page": 1000}).status_code == 204


def test_documents_show_their_attachment_and_one_by_one(
    small: httpx.Client, small_world: World
) -> None:
    data = archive_space(small_world)
    base = f"/v1/spaces/{data.space.id}"
    served = {d["id"]: d for d in all_pages(small, f"{base}/documents")}
    for doc in data.documents.values():
        seen = served[doc.id]
        assert (seen["filesize"], seen["version"], seen["filename"]) == (
            doc.filesize,
            doc.version,
            doc.filename,
        )
        assert seen["attachable_type"] == ("Ticket" if doc.ticket_id else None)
        assert seen["ticket_id"] == seen["attachable_id"] == doc.ticket_id
    doc_id = next(iter(served))
    assert small.get(f"{base}/documents/{doc_id}.json").json() == served[doc_id]
    assert small.get(f"{base}/documents/NoSuchDocumentAtAll000").status_code == 404
    ticket_id, attached = next((t, d) for t, d in data.ticket_documents.items() if len(d) > 1)
    number = small_world.state.tickets_by_id[ticket_id].number
    listed = small.get(f"{base}/tickets/{number}/attachments")
    assert ids(listed.json()) == attached
    assert [served[i] for i in attached] == listed.json()
    again = small.get(f"{base}/tickets/{number}/attachments", params={"page": 2, "per_page": 1})
    assert again.json() == listed.json()
    bare = next(t for t in data.tickets.values() if t.id not in data.ticket_documents)
    assert small.get(f"{base}/tickets/{bare.number}/attachments").status_code == 204


def test_generated_files_look_real(small_world: World) -> None:
    docs = small_world.truth().documents
    sizes = [d.filesize for d in docs]
    assert min(sizes) >= 200
    assert max(sizes) <= 1024 * 1024
    assert sum(s <= 64_000 for s in sizes) > 0.8 * len(sizes)
    kinds = Counter(d.content_type for d in docs)
    assert {"image/png", "application/pdf", "text/plain", "text/csv"} <= set(kinds)
    assert any(" " in d.filename for d in docs)
    assert any(not d.filename.isascii() for d in docs)
    assert any(d.version > 1 for d in docs)
    assert any(d.ticket_id is None for d in docs)
    png = next(d for d in docs if d.content_type == "image/png")
    assert png.content().startswith(b"\x89PNG")
    text = next(d for d in docs if d.content_type == "text/csv")
    assert text.content().decode("ascii").replace("\n", "").isprintable()


def test_download_answers_the_bytes_and_ranges(small: httpx.Client, small_world: World) -> None:
    data = archive_space(small_world)
    doc = max(data.documents.values(), key=lambda d: d.filesize)
    path = f"/v1/spaces/{data.space.id}/documents/{doc.id}/download"
    whole = small.get(path)
    assert whole.status_code == 200
    assert whole.content == doc.content()
    assert len(whole.content) == doc.filesize
    assert hashlib.sha256(whole.content).hexdigest() == doc.sha256
    assert whole.headers["content-type"] == doc.content_type
    assert whole.headers["content-length"] == str(doc.filesize)
    start = doc.filesize // 2
    tail = small.get(path, headers={"Range": f"bytes={start}-"})
    assert tail.status_code == 206
    assert tail.content == doc.content()[start:]
    assert tail.headers["content-range"] == f"bytes {start}-{doc.filesize - 1}/{doc.filesize}"
    middle = small.get(path, headers={"Range": "bytes=5-9"})
    assert (middle.status_code, middle.content) == (206, doc.content()[5:10])
    past = small.get(path, headers={"Range": f"bytes={doc.filesize}-"})
    assert past.status_code == 416
    assert past.headers["content-range"] == f"bytes */{doc.filesize}"
    assert small.get(path, headers={"Range": "bytes=9-5"}).status_code == 200  # invalid: ignored
    assert small.get(path + ".json").content == whole.content


# --- associations -----------------------------------------------------------------------------


def test_associations_are_listed_under_both_tickets(
    small: httpx.Client, small_world: World
) -> None:
    data = archive_space(small_world)
    truth = small_world.truth()
    by_id = {t.id: t for t in truth.tickets}
    seen: dict[int, list[int]] = {}
    for ticket in data.tickets.values():
        path = f"/v1/spaces/{data.space.id}/tickets/{ticket.number}/ticket_associations"
        response = small.get(path)
        listed = response.json() if response.status_code == 200 else []
        assert small.get(path, params={"page": 3, "per_page": 1}).content == response.content
        for item in listed:
            assert ticket.id in (item["ticket1_id"], item["ticket2_id"])
            seen.setdefault(item["id"], []).append(ticket.id)
    expected = [a for a in truth.associations if by_id[a.ticket1_id].space_id == data.space.id]
    assert sorted(seen) == [a.id for a in expected]
    for association in expected:
        assert sorted(seen[association.id]) == sorted(
            (association.ticket1_id, association.ticket2_id)
        )
        one, two = by_id[association.ticket1_id], by_id[association.ticket2_id]
        if association.relationship == 5:
            assert (one.hierarchy_type, two.hierarchy_type) == (1, 2)
        if association.relationship == 0:
            assert (one.hierarchy_type, two.hierarchy_type) == (2, 3)
    kinds = {a.relationship for a in truth.associations}
    assert {0, 5, 2} <= kinds
    assert not kinds & {1, 6}  # stored normalised
    subtasks = {t.id for t in truth.tickets if t.hierarchy_type == 1}
    assert subtasks == {a.ticket1_id for a in truth.associations if a.relationship == 5}


# --- missing tools, foreign spaces ----------------------------------------------------------------


@pytest.mark.parametrize("resource", ["documents", "documents/x/download", "tickets/1/attachments"])
def test_a_space_without_files_tool(small: httpx.Client, small_world: World, resource: str) -> None:
    data = next(d for d in mine(small_world) if d.ticket_tool and not d.files_tool)
    response = small.get(f"/v1/spaces/{data.space.id}/{resource}")
    assert (response.status_code, response.text) == (404, "Tool not found for this project")


@pytest.mark.parametrize(
    "resource",
    ["tags", "tags/active", "tags/17", "tags/17/tickets", "tickets/1/tags",
     "tickets/1/ticket_associations", "tickets/1/attachments"],
)  # fmt: skip
def test_a_space_without_ticket_tool(
    small: httpx.Client, small_world: World, resource: str
) -> None:
    data = next(d for d in mine(small_world) if not d.ticket_tool)
    response = small.get(f"/v1/spaces/{data.space.id}/{resource}")
    assert (response.status_code, response.text) == (404, "Tool not found for this project")
    files = all_pages(small, f"/v1/spaces/{data.space.id}/documents")
    assert files  # its files tool still serves the space's own files
    assert all(f["attachable_type"] is None for f in files)


@pytest.mark.parametrize("resource", ["tags", "documents", "tickets/1/ticket_associations"])
def test_a_foreign_space_is_forbidden(
    small: httpx.Client, small_world: World, resource: str
) -> None:
    caller = small_world.primary_user.id
    foreign = next(d for d in small_world.state.spaces.values() if caller not in d.roles)
    response = small.get(f"/v1/spaces/{foreign.space.id}/{resource}")
    assert (response.status_code, response.json()) == (403, {"error": "forbidden"})


# --- truth ---------------------------------------------------------------------------------------


def test_truth_matches_the_api(small: httpx.Client, small_world: World) -> None:
    truth = small_world.truth()
    tags, links, documents = [], set(), []
    for data in mine(small_world):
        base = f"/v1/spaces/{data.space.id}"
        if data.ticket_tool:
            for tag in all_pages(small, f"{base}/tags"):
                tags.append(tag["id"])
                tickets = all_pages(small, f"{base}/tags/{tag['id']}/tickets")
                links |= {(t["id"], tag["id"]) for t in tickets}
        if data.files_tool:
            documents += all_pages(small, f"{base}/documents")
    assert tags == [t.id for t in truth.tags]
    assert links == truth.ticket_tags
    assert ids(documents) == [d.id for d in truth.documents]
    counts = truth.counts()
    assert counts["tags"] == len(tags)
    assert counts["documents"] == len(documents)
    assert counts["associations"] == len(truth.associations) > 0
    assert len({a.id for a in truth.associations}) == len(truth.associations)
