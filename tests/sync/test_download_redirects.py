"""Downloads redirected to a storage host, end to end: the simulator answers ``302`` to its
storage host, reached over TLS on another host (``localhost``, through an https front made
with a certificate of the test's own); the host must see no Assembla credential, and a
broken presigned link must cost only a warning naming the file, retried next run."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from assembla_mirror.simulator import Simulator
from tests.sync.download_checks import (
    DOWNLOAD,
    assert_files_match_truth,
    downloads,
    folder_of,
    recorded,
    sync_files,
    truth_files,
)
from tests.sync.download_servers import Certificate, LocalServer, https_front, make_certificate


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> Certificate:
    return make_certificate(tmp_path_factory.mktemp("tls"))


@pytest.fixture
def trusted(certificate: Certificate, monkeypatch: pytest.MonkeyPatch) -> Certificate:
    """The test certificate, trusted as a CA is (``SSL_CERT_FILE``)."""
    monkeypatch.setenv("SSL_CERT_FILE", str(certificate.cert))
    return certificate


@pytest.fixture
def broken() -> set[str]:
    """Ids of documents whose storage links the front breaks (their signature mangled)."""
    return set()


@pytest.fixture
def storage(sim: Simulator, trusted: Certificate, broken: set[str]) -> Iterator[LocalServer]:
    """The simulator's storage host over https on ``localhost``; downloads redirect there."""

    def rewrite(path: str) -> str:
        doc_id = path.split("/")[2] if path.startswith("/storage/") else ""
        return path.replace("signature=", "signature=0") if doc_id in broken else path

    front = https_front(sim.api_url, trusted, rewrite)
    sim.storage_url = front.url
    yield front
    front.close()


def test_files_come_from_the_https_storage_host_which_sees_no_credentials(
    sim: Simulator,
    storage: LocalServer,
    mirror_db: str,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    report = sync_files(sim, mirror_db, tmp_path)

    assert report.ok, report.warnings
    assert_files_match_truth(sim, mirror_db, folder_of(mirror_db, tmp_path))
    answers = {record.status for record in sim.request_log if record.endpoint == DOWNLOAD}
    assert answers == {302}
    assert all(record.had_credentials for record in sim.request_log if record.kind == "api")
    hops = sim.storage_log
    assert len(hops) == len(truth_files(sim))
    assert [record for record in hops if record.had_credentials] == []
    assert {record.status for record in hops} == {200}
    for seen in storage.seen:
        assert not {"x-api-key", "x-api-secret", "authorization"} & {
            name.lower() for name in seen.headers
        }
    # the storage links' signatures and the credentials stay out of the logs
    assert "storage/" in caplog.text  # httpx logged the hops...
    secrets = [sim.storage.signature(doc.id, doc.version) for doc in sim.world.truth().documents]
    secrets += [sim.credentials.api_key, sim.credentials.api_secret]
    assert [secret for secret in secrets if secret in caplog.text] == []  # ...masked


def test_a_broken_presigned_link_is_a_warning_and_the_file_comes_next_run(
    sim: Simulator, storage: LocalServer, broken: set[str], db: Path, tmp_path: Path
) -> None:
    doc = sim.world.truth().documents[5]
    broken.add(doc.id)

    report = sync_files(sim, db, tmp_path)

    assert report.ok
    (warning,) = report.warnings
    assert warning.startswith(f"file {doc.filename!r} ({doc.id}): the storage host localhost ")
    assert "(HTTP 403)" in warning
    assert "signature" not in warning
    assert doc.id not in recorded(db)
    assert len(recorded(db)) == len(truth_files(sim)) - 1

    broken.clear()
    sim.clear_log()
    again = sync_files(sim, db, tmp_path)
    assert again.ok, again.warnings
    assert downloads(sim) == {doc.id: 1}
    assert_files_match_truth(sim, db, folder_of(db, tmp_path))
