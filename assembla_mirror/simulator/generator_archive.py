"""Deterministic generation of the archive: files tools, tags, documents and associations.

It runs after everything else with a random stream of its own (seeded from the
world's seed), so the values generated before it are exactly what they were
without it. Per space:

- the files tool, except in the caller's space 1 and every fourth space after it
  (5, 9, ...), so every world of two or more spaces has a space whose document
  endpoints answer ``Tool not found for this project``;
- with a ticket tool: 3 to 12 tags (the first active and coloured, the second
  proposed, the third hidden, the rest mostly active), carried by about 30% of the
  tickets (1 to 3 each), and the hierarchy made consistent: about a fifth of the
  stories become epics, every subtask is linked to a story (relationship 5,
  ticket1 the subtask) and most stories to an epic (relationship 0, ticket1 the
  story), plus related, duplicate, dependent, block and sibling links between
  about 5% of the tickets; subtasks of a space without stories become plain tickets;
- with the files tool: 1 to 3 attachments on about 20% of the tickets and 2 to 6
  files of the space itself, mostly 200 B to 64 KB, a few up to 1 MB.

Generated links bump nothing: attachments are dated inside their ticket's life,
associations between the later creation and the earlier last update of their
tickets where there is such a time.
"""

from __future__ import annotations

import base64
import bisect
import gc
import random
from datetime import datetime, timedelta

from assembla_mirror.simulator import content, text
from assembla_mirror.simulator.entities import SpaceTool, Ticket
from assembla_mirror.simulator.entities_archive import Association, Document, Tag, download_url
from assembla_mirror.simulator.state import FILES_TOOL, SpaceData, WorldState
from assembla_mirror.simulator.text import pick

TAG_NAMES = (
    "backend", "frontend", "UI/UX", "needs review", "customer", "régression", "性能",
    "tech-debt", "security", "docs", "quick win", "v2.0", "blocked: vendor", "mobile",
    "hotfix", "Ωmega",
)  # fmt: skip
TAG_COLORS = ("#e11d48", "#2563eb", "#16a34a", "#f59e0b", "#7c3aed", "#0f766e")
#: File name templates ({n}: a number), repeated by how common they are.
FILE_NAMES = (
    "screenshot-{n}.png", "screenshot-{n}.png", "Screen Shot {n}.png", "mockup_v{n}.png",
    "设计稿-{n}.png", "IMG_{n}.jpg", "photo {n}.jpeg", "invoice-{n}.pdf",
    "Spécification v{n}.pdf", "report-Q{n}.pdf", "notes-{n}.txt", "steps to reproduce.txt",
    "error.log", "error.log", "server-{n}.log", "crash dump ({n}).log", "export-{n}.csv",
    "données-{n}.csv", "logs-{n}.zip", "backup.zip", "payload-{n}.json", "config.json",
    "patch_{n}.rb", "Meeting notes {n}.docx", "diagram-{n}.svg", "archive-{n}.gz",
)  # fmt: skip
DOCUMENT_TAGS = ("design", "draft", "final", "v2", "client")
LINKS = (2, 3, 7, 8, 4)
LINK_WEIGHTS = (5, 2, 2, 2, 1)


def fill(state: WorldState, seed: int, now: datetime) -> None:
    """Add the archive to every space of a generated world (see the module docs)."""
    # The bench world already holds millions of objects; the collector would scan them
    # again and again while this adds its (acyclic) records: most of the time it takes.
    collecting = gc.isenabled()
    gc.disable()
    try:
        _fill(random.Random(f"archive-{seed}"), state, now)
    finally:
        if collecting:
            gc.enable()


def _fill(rng: random.Random, state: WorldState, now: datetime) -> None:
    for index, data in enumerate(state.spaces.values()):
        if not (index == 1 or (index >= 5 and index % 4 == 1)):
            _files_tool(rng, data)
        tickets = sorted(data.tickets.values(), key=lambda t: t.number)
        if data.ticket_tool is not None:
            _tags(rng, state, data, tickets, now)
            _hierarchy(rng, state, tickets)
        if data.files_tool is not None:
            _documents(rng, data, tickets, now)


def _files_tool(rng: random.Random, data: SpaceData) -> None:
    data.tools.append(
        SpaceTool(
            id=text.string_id(rng),
            space_id=data.space.id,
            tool_id=FILES_TOOL,
            type="FileStorageTool",
            name="Files",
            menu_name="Files",
            number=1,
            created_at=data.space.created_at,
        )
    )


def _between(rng: random.Random, start: datetime, end: datetime) -> datetime:
    """A whole-second instant in ``[start, end]`` (``start`` when the span is empty)."""
    span = int((end - start).total_seconds())
    return start + timedelta(seconds=int(rng.random() * (span + 1))) if span > 0 else start


# --- tags --------------------------------------------------------------------------------


def _tags(
    rng: random.Random, state: WorldState, data: SpaceData, tickets: list[Ticket], now: datetime
) -> None:
    names = rng.sample(TAG_NAMES, k=rng.randint(3, 12))
    for position, name in enumerate(names):
        created = _between(rng, data.space.created_at, now)
        updated = created if rng.random() < 0.7 else _between(rng, created, now)
        tag_state = (2, 1, 4)[position] if position < 3 else rng.choices((2, 1, 4), (8, 1, 1))[0]
        coloured = position == 0 or rng.random() < 0.25
        tag = Tag(
            id=state.new_id("tag"),
            space_id=data.space.id,
            name=name,
            state=tag_state,
            created_at=created,
            updated_at=updated,
            color=pick(rng, TAG_COLORS) if coloured else None,
        )
        data.tags[tag.id] = tag
    ids = list(data.tags)
    for ticket in tickets:
        if rng.random() < 0.3:  # 1 to 3 draws (a repeated draw leaves fewer tags)
            draws = 1 + int(rng.random() * 3)
            data.ticket_tags[ticket.id] = {ids[int(rng.random() * len(ids))] for _ in range(draws)}


# --- hierarchy and other links ---------------------------------------------------------------


def _hierarchy(rng: random.Random, state: WorldState, tickets: list[Ticket]) -> None:
    stories = [t for t in tickets if t.hierarchy_type == 2]
    subtasks = [t for t in tickets if t.hierarchy_type == 1]
    epics: list[Ticket] = []
    if len(stories) >= 3:
        for story in stories:
            if rng.random() < 0.2:
                story.hierarchy_type = 3
        epics = [t for t in stories if t.hierarchy_type == 3]
        stories = [t for t in stories if t.hierarchy_type == 2]
    if not stories:  # nothing to hang them on
        for subtask in subtasks:
            subtask.hierarchy_type = 0
        subtasks = []
    linked: set[frozenset[int]] = set()
    for subtask in subtasks:
        _link(rng, state, linked, subtask, _parent(rng, stories, subtask), 5)
    if epics:
        for story in stories:
            if rng.random() < 0.6:
                _link(rng, state, linked, story, _parent(rng, epics, story), 0)
    if len(tickets) < 2:
        return
    for _ in range(round(len(tickets) * 0.05)):
        one, two = rng.sample(tickets, 2)
        if frozenset((one.id, two.id)) not in linked:
            _link(rng, state, linked, one, two, rng.choices(LINKS, LINK_WEIGHTS)[0])


def _parent(rng: random.Random, candidates: list[Ticket], child: Ticket) -> Ticket:
    """A parent for ``child`` among ``candidates`` (in number order): one created before
    it when there is one."""
    earlier = bisect.bisect_left(candidates, child.number, key=lambda t: t.number)
    return candidates[int(rng.random() * (earlier or len(candidates)))]


def _link(
    rng: random.Random,
    state: WorldState,
    linked: set[frozenset[int]],
    one: Ticket,
    two: Ticket,
    relationship: int,
) -> None:
    start = max(one.created_on, two.created_on)
    when = _between(rng, start, min(one.updated_at, two.updated_at))
    association = Association(
        id=state.new_id("association"),
        ticket1_id=one.id,
        ticket2_id=two.id,
        relationship=relationship,
        created_at=when,
    )
    state.associations[association.id] = association
    state.ticket_associations.setdefault(one.id, []).append(association.id)
    state.ticket_associations.setdefault(two.id, []).append(association.id)
    linked.add(frozenset((one.id, two.id)))


# --- documents ------------------------------------------------------------------------------


def file_size(rng: random.Random) -> int:
    """Mostly 200 B to 64 KB (log-uniform), one in 30 from 64 KB up to 1 MB."""
    if rng.random() < 1 / 30:
        return int(65536 * 16 ** rng.random())
    return int(200 * 320 ** rng.random())


def _documents(rng: random.Random, data: SpaceData, tickets: list[Ticket], now: datetime) -> None:
    members = list(data.roles)
    for ticket in tickets:
        if rng.random() < 0.2:
            for position in range(1 + int(rng.random() * 3)):
                _document(rng, data, members, now, ticket, position)
    for _ in range(rng.randint(2, 6)):
        _document(rng, data, members, now, None, 0)


def _document(
    rng: random.Random,
    data: SpaceData,
    members: list[str],
    now: datetime,
    ticket: Ticket | None,
    position: int,
) -> None:
    filename = pick(rng, FILE_NAMES).format(n=1 + int(rng.random() * 999))
    if ticket is not None:
        created = _between(rng, ticket.created_on, ticket.updated_at)
    else:
        created = _between(rng, data.space.created_at, now)
    version = 1 if rng.random() < 0.85 else rng.randint(2, 3)
    updated = created if version == 1 else _between(rng, created, now)
    author = pick(rng, members)
    kind = content.guess_type(filename)
    shape = rng.random()
    # 22 characters of [A-Za-z0-9_-], like text.string_id but a tenth of the cost
    doc_id = base64.urlsafe_b64encode(rng.randbytes(17))[:22].decode("ascii")
    document = Document(
        id=doc_id,
        space_id=data.space.id,
        name=filename if rng.random() < 0.9 else filename.rpartition(".")[0],
        filename=filename,
        content_type=kind,
        filesize=file_size(rng),
        version=version,
        created_by=author,
        updated_by=author if version == 1 else pick(rng, members),
        created_at=created,
        updated_at=updated,
        url=download_url(data.space.id, doc_id),
        description=None if shape < 0.7 else "" if shape < 0.8 else text.summary(rng),
        cached_tag_list=", ".join(rng.sample(DOCUMENT_TAGS, 2)) if rng.random() < 0.1 else "",
        position=position,
        has_thumbnail=kind.startswith("image/") and kind != "image/svg+xml",
    )
    if ticket is not None:
        document.ticket_id = document.attachable_id = ticket.id
        document.attachable_type = "Ticket"
        data.ticket_documents.setdefault(ticket.id, []).append(doc_id)
    data.documents[doc_id] = document
