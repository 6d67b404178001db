"""A ``mirror sync --with files`` killed (SIGKILL) in the middle of its downloads: every file
it recorded has its bytes on disk, and the next run completes the folder without
downloading a recorded file again, resuming what it finds begun (both databases)."""

from __future__ import annotations

import signal
import time
from pathlib import Path

import pytest

from assembla_mirror.simulator import Simulator
from tests.sync.download_checks import (
    DOWNLOAD,
    assert_files_match_truth,
    blobs,
    downloads,
    folder_of,
    is_file,
    parts,
    recorded,
    sync_files,
    truth_files,
)
from tests.sync.test_sync_kill import after_kill, kill, sync_process


def killed_while_downloading(
    sim: Simulator, db: str, folder: Path, after: int
) -> tuple[int, float]:
    """Start ``mirror sync --with files`` and SIGKILL it once the simulator served
    ``after`` downloads; the downloads served then, and the moment of the kill."""
    options = (
        ["--with", "files"] if is_file(db) else ["--with", "files", "--files-dir", str(folder)]
    )
    process = sync_process(sim, db, *options)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        assert process.poll() is None, "the sync ended before the kill point"
        served = sum(record.endpoint == DOWNLOAD for record in sim.request_log)
        if served >= after:
            kill(process)
            assert process.returncode == -signal.SIGKILL
            return served, time.monotonic()
        time.sleep(0.002)
    process.kill()
    raise AssertionError("the sync neither downloaded nor ended")


@pytest.mark.slow
@pytest.mark.parametrize("after", [1, 25, 70])
def test_a_sync_killed_while_downloading_resumes_without_fetching_finished_files_again(
    sim: Simulator, mirror_db: str, tmp_path: Path, after: int
) -> None:
    folder = folder_of(mirror_db, tmp_path)
    total = len(truth_files(sim))
    assert total > 70
    sim.latency = 0.01  # slow enough for the kill to land among the downloads

    killed_at = killed_while_downloading(sim, mirror_db, folder, after)[0]
    sim.latency = 0.0
    after_kill(mirror_db)

    finished = recorded(mirror_db)
    assert len(finished) < total, "every file was in before the kill; kill earlier"
    for sha, _size, _version in finished.values():
        assert sha in blobs(folder)  # a recorded file's bytes are always there
    begun = {path.name.split(".")[0] for path in parts(folder) if path.stat().st_size > 0}
    sim.clear_log()

    report = sync_files(sim, mirror_db, tmp_path, with_files=None)  # remembered

    assert report.ok, report.warnings
    again = downloads(sim)
    assert set(again) & set(finished) == set()
    assert set(again) | set(finished) == set(truth_files(sim))
    assert max(again.values()) == 1
    resumed = {
        record.path.split("/")[5]: record.status
        for record in sim.request_log
        if record.endpoint == DOWNLOAD
    }
    assert all(resumed[doc_id] in (206, 416) for doc_id in begun)  # only the rest was sent
    assert len(again) <= total - len(finished)
    assert killed_at >= after
    assert_files_match_truth(sim, mirror_db, folder)
