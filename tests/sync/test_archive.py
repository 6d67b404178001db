"""The archive tables against the simulator's truth: after a first sync, after changes
(a tag added and removed, a file added and deleted, an association added and removed, a
field renamed) and after ``--full``, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from assembla_mirror.errors import ConfigError
from assembla_mirror.simulator import Simulator
from assembla_mirror.simulator.entities import Ticket
from assembla_mirror.store.field_views import slug
from tests.expected import Db, plain, reading, select_all
from tests.support import run_sync_in_process as run_sync


@pytest.fixture
def sim(in_process_sim: Simulator) -> Simulator:
    """The small account, answering in-process."""
    return in_process_sim


TAG_COLUMNS = ("id", "space_id", "name", "state", "color", "created_at", "updated_at")
ATTACHMENT_COLUMNS = (
    "id", "space_id", "ticket_id", "name", "filename", "content_type", "filesize", "version",
    "attachable_type", "attachable_id", "created_by", "created_at", "updated_at",
)  # fmt: skip
ASSOCIATION_COLUMNS = ("id", "ticket1_id", "ticket2_id", "relationship", "created_at")
NAMES = {0: "parent", 1: "child", 2: "related", 3: "duplicate", 4: "sibling", 5: "story"}
NAMES |= {6: "subtask", 7: "dependent", 8: "block"}


def rows_of(entities: list[Any], columns: tuple[str, ...]) -> set[tuple[Any, ...]]:
    return {tuple(plain(getattr(entity, column)) for column in columns) for entity in entities}


def mirrored(db: Db, table: str, columns: tuple[str, ...]) -> set[tuple[Any, ...]]:
    listed = ", ".join(columns)
    return {
        tuple(int(value) if isinstance(value, bool) else value for value in row)
        for row in select_all(db, f"SELECT {listed} FROM {table}")
    }


def assert_archive_matches(
    sim: Simulator, db: Db, *, deleted_files: frozenset[str] = frozenset()
) -> None:
    """Every archive table equals the truth; ``deleted_files``: attachments deleted upstream
    that the mirror keeps until its next reconciliation."""
    truth = sim.world.truth()
    assert mirrored(db, "tags", TAG_COLUMNS) == rows_of(truth.tags, TAG_COLUMNS)
    assert set(select_all(db, "SELECT ticket_id, tag_id FROM ticket_tags")) == set(
        truth.ticket_tags
    )
    attachments = mirrored(db, "attachments", ATTACHMENT_COLUMNS)
    kept = {row for row in attachments if row[0] in deleted_files}
    assert {row[0] for row in kept} == set(deleted_files)
    assert attachments - kept == rows_of(truth.documents, ATTACHMENT_COLUMNS)
    associations = select_all(
        db,
        "SELECT id, ticket1_id, ticket2_id, relationship, created_at, relationship_name "
        "FROM ticket_associations",
    )
    expected = rows_of(truth.associations, ASSOCIATION_COLUMNS)
    assert {row[:5] for row in associations} == expected
    assert len(associations) == len(expected)  # one row per association, however listed
    assert all(row[5] == NAMES[row[3]] for row in associations)


def field_view_columns(db: Db, space_id: str) -> list[str]:
    """The columns of the typed custom field view of a space."""
    wiki_name = select_all(db, f"SELECT wiki_name FROM spaces WHERE id = '{space_id}'")[0][0]
    with reading(db) as conn:
        return list(
            conn.exec_driver_sql(
                f'SELECT * FROM "ticket_fields_{slug(wiki_name, space_id)}"'
            ).keys()
        )


def two_tickets(sim: Simulator) -> tuple[Ticket, Ticket]:
    """A ticket carrying a tag, and one of the same space carrying none."""
    truth = sim.world.truth()
    carrying = {ticket_id for ticket_id, _tag in truth.ticket_tags}
    tagged = next(ticket for ticket in truth.tickets if ticket.id in carrying)
    untagged = next(
        ticket
        for ticket in truth.tickets
        if ticket.space_id == tagged.space_id and ticket.id not in carrying
    )
    return tagged, untagged


def test_a_first_sync_mirrors_the_whole_archive(sim: Simulator, mirror_db: str) -> None:
    report = run_sync(sim, mirror_db, with_associations=True)
    assert report.ok, report.warnings
    assert_archive_matches(sim, mirror_db)
    truth = sim.world.truth()
    assert truth.tags
    assert truth.ticket_tags
    assert truth.documents
    assert truth.associations
    # Only tags and files of spaces the caller sees; attachments name their tickets.
    on_tickets = select_all(
        mirror_db,
        "SELECT count(*) FROM attachments AS a JOIN tickets AS t ON t.id = a.ticket_id",
    )[0][0]
    assert on_tickets == sum(1 for doc in truth.documents if doc.ticket_id is not None)


def test_changes_reach_the_mirror_and_a_full_sync_reconciles(
    sim: Simulator, mirror_db: str
) -> None:
    assert run_sync(sim, mirror_db, with_associations=True).ok
    world, truth = sim.world, sim.world.truth()
    world.clock.advance(3600)
    tagged, untagged = two_tickets(sim)
    space = tagged.space_id
    fresh = world.add_tag(space, "archive-check")
    world.tag_ticket(space, untagged.number, fresh.id)
    removed_tag = next(tag for ticket_id, tag in truth.ticket_tags if ticket_id == tagged.id)
    world.untag_ticket(space, tagged.number, removed_tag)
    added = world.add_document(space, ticket_number=tagged.number, filename="notes.txt", size=321)
    gone = next(doc for doc in truth.documents if doc.space_id == space)
    world.delete_document(space, gone.id)
    link = world.associate(space, tagged.number, untagged.number, 2)
    old_link = truth.associations[0]
    world.dissociate(old_link.id)
    field = next(field for field in truth.custom_fields if field.space_id == space)
    world.rename_custom_field(space, field.title, field.title + " (renamed)")

    # associations stay on (remembered); the poll for what no event announces is due
    report = run_sync(sim, mirror_db, poll_every=timedelta(0))
    assert report.ok, report.warnings
    assert_archive_matches(sim, mirror_db, deleted_files=frozenset({gone.id}))
    ids = {row[0] for row in select_all(mirror_db, "SELECT id FROM attachments")}
    assert added.id in ids
    assert link.id in {
        row[0] for row in select_all(mirror_db, "SELECT id FROM ticket_associations")
    }
    assert f"{field.title} (renamed)" in field_view_columns(mirror_db, space)
    assert field.title not in field_view_columns(mirror_db, space)
    titles = {row[0] for row in select_all(mirror_db, "SELECT title FROM custom_fields")}
    assert field.title + " (renamed)" in titles
    assert field.title not in titles

    assert run_sync(sim, mirror_db, full=True).ok
    assert_archive_matches(sim, mirror_db)


def test_a_sync_with_nothing_new_writes_nothing_and_polls_each_space_when_due(
    sim: Simulator, mirror_db: str
) -> None:
    assert run_sync(sim, mirror_db, with_associations=True).ok
    report = run_sync(sim, mirror_db)  # within the hour: the account's four requests
    assert report.ok
    assert report.changes == {}
    assert report.requests == 4
    sim.clear_log()
    report = run_sync(sim, mirror_db, poll_every=timedelta(0))
    assert report.ok
    assert report.changes == {}
    # the poll: a page of each space's files, and of its tickets where it has the ticket
    # tool (tags and links change tickets with no activity event)
    counts = sim.request_counts()
    assert counts["GET /v1/spaces/:space/documents"] == len(sim.world.spaces_of())
    assert counts["GET /v1/spaces/:space/tickets"] == 3
    assert report.requests == 4 + len(sim.world.spaces_of()) + 3


def test_a_deleted_ticket_takes_its_tags_and_associations(sim: Simulator, mirror_db: str) -> None:
    assert run_sync(sim, mirror_db, with_associations=True).ok
    truth = sim.world.truth()
    linked = {a.ticket1_id for a in truth.associations} | {a.ticket2_id for a in truth.associations}
    tagged = {ticket_id for ticket_id, _tag in truth.ticket_tags}
    victim = next(t for t in truth.tickets if t.id in linked and t.id in tagged)
    sim.world.clock.advance(60)
    sim.world.delete_ticket(victim.space_id, victim.number)
    assert run_sync(sim, mirror_db).ok
    assert_archive_matches(sim, mirror_db)
    assert not select_all(
        mirror_db,
        f"SELECT id FROM ticket_associations WHERE ticket1_id = {victim.id} "
        f"OR ticket2_id = {victim.id}",
    )


def test_many_changed_tickets_walk_the_tags_instead(sim: Simulator, mirror_db: str) -> None:
    """Tags of a few changed tickets are asked one ticket at a time; when more tickets
    changed than a walk of every tag costs, the tags are walked (and the result is the same)."""
    assert run_sync(sim, mirror_db, with_associations=True).ok
    truth = sim.world.truth()
    tag = truth.tags[0]
    tickets = [ticket for ticket in truth.tickets if ticket.space_id == tag.space_id]
    sim.world.clock.advance(60)
    for ticket in tickets[:40]:
        sim.world.tag_ticket(tag.space_id, ticket.number, tag.id)
    sim.clear_log()
    assert run_sync(sim, mirror_db, poll_every=timedelta(0)).ok
    assert_archive_matches(sim, mirror_db)
    counts = sim.request_counts()
    assert counts["GET /v1/spaces/:space/tickets/:number/tags"] == 0
    walks = counts["GET /v1/spaces/:space/tags/:id/tickets"]
    assert 0 < walks < 40


def test_files_go_beside_a_sqlite_mirror_unless_a_folder_is_named(
    sim: Simulator, tmp_path: Path
) -> None:
    beside = tmp_path / "team.db"
    assert run_sync(sim, beside, with_files=True).ok
    stored = {row[0] for row in select_all(beside, "SELECT sha256 FROM attachment_files")}
    assert stored
    assert {path.name for path in (tmp_path / "team.files").glob("??/*")} == stored

    elsewhere, folder = tmp_path / "other.db", tmp_path / "archive"
    assert run_sync(sim, elsewhere, with_files=True, files_dir=folder).ok
    assert run_sync(sim, elsewhere).ok  # both remembered: files on, in that folder
    assert {path.name for path in folder.glob("??/*")} == stored
    assert not (tmp_path / "other.files").exists()


def test_files_on_postgresql_need_a_folder_named_once(sim: Simulator, tmp_path: Path) -> None:
    from tests.support import fresh_postgres_mirror

    with fresh_postgres_mirror() as url:
        with pytest.raises(ConfigError, match="--files-dir"):
            run_sync(sim, url, with_files=True)
        folder = tmp_path / "files"
        assert run_sync(sim, url, with_files=True, files_dir=folder).ok
        assert run_sync(sim, url).ok
        assert any(folder.glob("??/*"))
