"""What the download tests check a mirror's files against: the simulator's truth (each
document's SHA-256), the files folder, and the download requests the simulator logged."""

from __future__ import annotations

import hashlib
from collections import Counter
from pathlib import Path

from assembla_mirror.simulator import Simulator
from assembla_mirror.sync import SyncReport
from tests.expected import Db, select_all
from tests.support import run_sync

DOWNLOAD = "GET /v1/spaces/:space/documents/:document/download"


def is_file(db: Db) -> bool:
    """Whether ``db`` names a SQLite file (else a PostgreSQL URL)."""
    return "://" not in str(db)


def folder_of(db: Db, tmp_path: Path) -> Path:
    """Where a mirror's files go: beside a SQLite file, else the folder the tests name."""
    if is_file(db):
        path = Path(db)
        return path.with_name(path.stem + ".files")
    return tmp_path / "postgres.files"


def sync_files(
    sim: Simulator, db: Db, tmp_path: Path, *, with_files: bool | None = True, **options: object
) -> SyncReport:
    """A sync over loopback HTTP with files (the folder named for PostgreSQL)."""
    if not is_file(db):
        options.setdefault("files_dir", folder_of(db, tmp_path))
    options["with_files"] = with_files
    return run_sync(sim, db, **options)  # type: ignore[arg-type]


def downloads(sim: Simulator) -> Counter[str]:
    """Download requests the simulator got since its log was cleared, by document id."""
    return Counter(
        record.path.split("/")[5] for record in sim.request_log if record.endpoint == DOWNLOAD
    )


def truth_files(sim: Simulator) -> dict[str, tuple[str, int, int]]:
    """Every document of the world: id -> (sha256, size, version)."""
    return {doc.id: (doc.sha256, doc.filesize, doc.version) for doc in sim.world.truth().documents}


def recorded(db: Db) -> dict[str, tuple[str, int, int]]:
    """``attachment_files`` as id -> (sha256, size, version)."""
    rows = select_all(db, "SELECT attachment_id, sha256, size, version FROM attachment_files")
    return {key: (sha, int(size), int(version)) for key, sha, size, version in rows}


def blobs(folder: Path) -> set[str]:
    """The SHA-256 names of the contents stored in ``folder``."""
    return {path.name for path in folder.glob("??/*") if path.is_file()}


def parts(folder: Path) -> list[Path]:
    """Downloads in progress left in ``folder``."""
    return sorted((folder / "tmp").glob("*.part"))


def assert_files_match_truth(sim: Simulator, db: Db, folder: Path) -> None:
    """Every document recorded with the truth's SHA-256, its bytes stored and hashing
    to it, no other content stored, no download left in progress."""
    truth = truth_files(sim)
    assert recorded(db) == truth
    for sha, size, _version in truth.values():
        stored = folder / sha[:2] / sha
        data = stored.read_bytes()
        assert len(data) == size
        assert hashlib.sha256(data).hexdigest() == sha
    assert blobs(folder) == {sha for sha, _size, _version in truth.values()}
    assert parts(folder) == []
