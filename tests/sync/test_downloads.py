"""``--with files`` against the simulator over loopback HTTP, on SQLite and PostgreSQL: every
file stored once under its SHA-256, nothing downloaded twice, new versions fetched again,
bytes nobody names removed, partial downloads resumed, failures kept to warnings."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from assembla_mirror.simulator import Simulator, content
from assembla_mirror.store.files import FilesSummary, files_summary
from tests.expected import reading, select_all
from tests.sync.download_checks import (
    assert_files_match_truth,
    blobs,
    downloads,
    folder_of,
    parts,
    recorded,
    sync_files,
    truth_files,
)


def test_every_file_is_stored_once_under_its_sha256_and_never_fetched_twice(
    sim: Simulator, mirror_db: str, tmp_path: Path
) -> None:
    folder = folder_of(mirror_db, tmp_path)
    report = sync_files(sim, mirror_db, tmp_path)
    assert report.ok, report.warnings
    truth = truth_files(sim)
    assert downloads(sim) == dict.fromkeys(truth, 1)
    assert report.changes["attachment_files"]["inserted"] == len(truth)
    assert any(note.startswith(f"files: {len(truth):,} to download (") for note in report.notes)
    assert_files_match_truth(sim, mirror_db, folder)
    with reading(mirror_db) as conn:
        summary = files_summary(conn)
    size = sum(found for _sha, found, _version in truth.values())
    assert summary == FilesSummary(
        attachments=len(truth),
        attachment_bytes=size,
        downloaded=len(truth),
        downloaded_bytes=size,
        contents=len({sha for sha, _size, _version in truth.values()}),
        pending=0,
        pending_bytes=0,
    )

    sim.clear_log()
    again = sync_files(sim, mirror_db, tmp_path, with_files=None)  # remembered
    assert again.ok
    assert downloads(sim) == {}
    assert "attachment_files" not in again.changes
    assert not any(note.startswith("files:") for note in again.notes)
    assert_files_match_truth(sim, mirror_db, folder)


def test_a_new_version_is_fetched_again_and_the_old_bytes_go(
    sim: Simulator, mirror_db: str, tmp_path: Path
) -> None:
    folder = folder_of(mirror_db, tmp_path)
    assert sync_files(sim, mirror_db, tmp_path).ok
    doc = sim.world.truth().documents[0]
    space = sim.world.state.spaces[doc.space_id].space.wiki_name
    old = doc.sha256
    sim.world.clock.advance(seconds=60)
    sim.world.update_document(space, doc.id, filesize=doc.filesize + 1000)
    sim.clear_log()

    # Nothing announces a new upload: the hourly poll of the files lists finds it.
    report = sync_files(sim, mirror_db, tmp_path, poll_every=timedelta(0))

    assert report.ok, report.warnings
    assert downloads(sim) == {doc.id: 1}
    assert report.changes["attachment_files"] == {"inserted": 0, "updated": 1, "deleted": 0}
    assert recorded(mirror_db)[doc.id][2] == doc.version + 1
    assert old not in blobs(folder)
    assert_files_match_truth(sim, mirror_db, folder)


def test_a_deleted_files_bytes_go_with_its_row_at_the_reconciliation(
    sim: Simulator, mirror_db: str, tmp_path: Path
) -> None:
    folder = folder_of(mirror_db, tmp_path)
    assert sync_files(sim, mirror_db, tmp_path).ok
    doc = sim.world.truth().documents[-1]
    space = sim.world.state.spaces[doc.space_id].space.wiki_name
    sim.world.delete_document(space, doc.id)

    assert sync_files(sim, mirror_db, tmp_path).ok  # kept until the reconciliation
    assert doc.id in recorded(mirror_db)
    assert doc.sha256 in blobs(folder)

    sim.clear_log()
    report = sync_files(sim, mirror_db, tmp_path, full=True)
    assert report.ok, report.warnings
    assert downloads(sim) == {}
    assert doc.id not in recorded(mirror_db)
    assert doc.sha256 not in blobs(folder)
    assert_files_match_truth(sim, mirror_db, folder)


def test_bytes_removed_from_the_folder_are_fetched_again(
    sim: Simulator, db: Path, tmp_path: Path
) -> None:
    folder = folder_of(db, tmp_path)
    assert sync_files(sim, db, tmp_path).ok
    doc = sim.world.truth().documents[3]
    (folder / doc.sha256[:2] / doc.sha256).unlink()
    sim.clear_log()

    report = sync_files(sim, db, tmp_path)

    assert report.ok
    assert downloads(sim) == {doc.id: 1}
    assert report.changes["attachment_files"]["updated"] == 1
    assert_files_match_truth(sim, db, folder)


def test_a_partial_download_is_resumed_where_it_stopped(
    sim: Simulator, db: Path, tmp_path: Path
) -> None:
    folder = folder_of(db, tmp_path)
    doc = max(sim.world.truth().documents, key=lambda found: found.filesize)
    half = doc.filesize // 2
    (folder / "tmp").mkdir(parents=True)
    begun = folder / "tmp" / f"{doc.id}.{doc.version}.part"
    begun.write_bytes(doc.content()[:half])
    stale = folder / "tmp" / "gone0000000000000000xx.1.part"  # of a file since deleted
    stale.write_bytes(b"old")

    assert sync_files(sim, db, tmp_path).ok

    (resumed,) = [record for record in sim.request_log if f"/{doc.id}/download" in record.path]
    assert resumed.status == 206  # only the rest was sent
    assert_files_match_truth(sim, db, folder)
    assert not stale.exists()


def test_files_that_cannot_be_had_are_warnings_and_come_next_run(
    sim: Simulator, mirror_db: str, tmp_path: Path
) -> None:
    folder = folder_of(mirror_db, tmp_path)
    signature = "signature="
    sim.storage_url = sim.api_url  # plain http: refused
    report = sync_files(sim, mirror_db, tmp_path)

    assert report.ok
    refused = [warning for warning in report.warnings if "not https" in warning]
    assert refused
    assert all("(it is tried again next run)" in warning for warning in refused)
    assert all(signature not in warning for warning in report.warnings)
    assert any("downloads failed in a row" in warning for warning in report.warnings)
    assert sim.storage_log == []
    assert recorded(mirror_db) == {}
    assert blobs(folder) == set()
    with reading(mirror_db) as conn:
        summary = files_summary(conn)
    assert (summary.pending, summary.downloaded) == (len(truth_files(sim)), 0)
    assert summary.pending_bytes == summary.attachment_bytes > 0
    rows = select_all(mirror_db, "SELECT warnings_json FROM sync_runs ORDER BY id")
    assert "not https" in str(rows[-1][0])

    sim.storage_url = None
    again = sync_files(sim, mirror_db, tmp_path, with_files=None)
    assert again.ok, again.warnings
    assert_files_match_truth(sim, mirror_db, folder)


@pytest.mark.parametrize("size", [0, 1, content.BLOCK + 7])
def test_files_of_any_size_are_stored_whole(
    sim: Simulator, db: Path, tmp_path: Path, size: int
) -> None:
    space = next(
        found.space.wiki_name
        for found in sim.world.state.spaces.values()
        if found.files_tool is not None
    )
    sim.world.add_document(space, filename=f"sized-{size}.bin", size=size)
    assert sync_files(sim, db, tmp_path).ok
    assert_files_match_truth(sim, db, folder_of(db, tmp_path))
    assert parts(folder_of(db, tmp_path)) == []


def test_a_file_deleted_before_its_download_leaves_the_mirror(
    sim: Simulator, db: Path, tmp_path: Path
) -> None:
    """Its download answers 404: Assembla no longer has it, so neither has the mirror
    (without waiting for the reconciliation that would find it missing from the list)."""
    assert sync_files(sim, db, tmp_path, with_files=False).ok  # the list, no bytes yet
    doc = sim.world.truth().documents[2]
    space = sim.world.state.spaces[doc.space_id].space.wiki_name
    sim.world.delete_document(space, doc.id)  # still listed until the reconciliation

    report = sync_files(sim, db, tmp_path)

    assert report.ok
    assert report.warnings == []
    assert report.changes["attachments"]["deleted"] == 1
    assert doc.id not in recorded(db)
    assert not select_all(db, f"SELECT id FROM attachments WHERE id = '{doc.id}'")
    assert len(recorded(db)) == len(truth_files(sim))
