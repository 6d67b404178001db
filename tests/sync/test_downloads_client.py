"""One download over real loopback sockets (:mod:`assembla_mirror.api.downloads`): resuming
with ``Range``, redirects (https only, never with credentials), and servers that send too
much, stall or drip, none of which may hang a run, fill the disk or leak a secret."""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest

from assembla_mirror.api.client import AssemblaClient
from assembla_mirror.api.credentials import Credentials
from assembla_mirror.api.downloads import Downloader, DownloadError, size_limit
from assembla_mirror.api.settings import ClientSettings, Timeouts
from assembla_mirror.errors import ApiError
from tests.sync.download_servers import (
    Certificate,
    LocalServer,
    make_certificate,
    reply,
    serve_range,
)

CREDS = Credentials(api_key="key-download-1", api_secret="secret-download-2")
BODY = bytes(range(256)) * 400  # 102,400 bytes
SHA = hashlib.sha256(BODY).hexdigest()
PATH = "/v1/spaces/s1/documents/d1/download"
LABEL = "file 'a.bin' (d1)"
SIGNATURE = "sig-very-secret-3"
AWS_KEY_ID = "AKIAEXAMPLEKEYID4"


def client_for(server: LocalServer, **changes: object) -> AssemblaClient:
    settings = ClientSettings(
        api_url=server.url,
        legacy_url=server.url,
        rate_limit=None,
        backoff_base=0.01,
        backoff_cap=0.02,
        max_attempts=3,
        timeouts=Timeouts(connect=2, read=0.5, total=1.5),
    )
    return AssemblaClient(settings.with_(**changes) if changes else settings, CREDS)


@pytest.fixture
def servers() -> Iterator[list[LocalServer]]:
    """Servers a test starts (append them), closed at its end."""
    started: list[LocalServer] = []
    yield started
    for server in started:
        server.close()


def start(servers: list[LocalServer], server: LocalServer) -> LocalServer:
    servers.append(server)
    return server


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> Certificate:
    return make_certificate(tmp_path_factory.mktemp("tls"))


@pytest.fixture
def trusted(certificate: Certificate, monkeypatch: pytest.MonkeyPatch) -> Certificate:
    """The test certificate, trusted the way a user trusts a CA (``SSL_CERT_FILE``)."""
    monkeypatch.setenv("SSL_CERT_FILE", str(certificate.cert))
    return certificate


def assert_no_secret(text: str) -> None:
    for secret in (*CREDS.secrets(), SIGNATURE):
        assert secret not in text


def test_a_partial_file_is_resumed_from_where_it_stopped(
    servers: list[LocalServer], tmp_path: Path
) -> None:
    api = start(servers, LocalServer(lambda handler: serve_range(handler, BODY)))
    part = tmp_path / "d1.1.part"
    part.write_bytes(BODY[:40_000])
    with client_for(api) as client, Downloader(client) as downloader:
        done = downloader.download(PATH, part, label=LABEL, declared=len(BODY))
    assert (done.sha256, done.size, done.resumed_from) == (SHA, len(BODY), 40_000)
    assert part.read_bytes() == BODY
    assert [seen.headers.get("Range") for seen in api.seen] == ["bytes=40000-"]
    assert api.seen[0].headers["Accept-Encoding"] == "identity"


def test_a_server_that_ignores_the_range_starts_the_file_over(
    servers: list[LocalServer], tmp_path: Path
) -> None:
    api = start(servers, LocalServer(lambda handler: reply(handler, 200, BODY)))
    part = tmp_path / "d1.1.part"
    part.write_bytes(b"x" * 5000)  # not even the same bytes: they are all replaced
    with client_for(api) as client, Downloader(client) as downloader:
        done = downloader.download(PATH, part, label=LABEL, declared=len(BODY))
    assert (done.sha256, done.resumed_from) == (SHA, 0)
    assert part.read_bytes() == BODY


def test_a_part_already_whole_is_not_downloaded_again(
    servers: list[LocalServer], tmp_path: Path
) -> None:
    api = start(servers, LocalServer(lambda handler: serve_range(handler, BODY)))
    part = tmp_path / "d1.1.part"
    part.write_bytes(BODY)  # killed after the last byte, before it was recorded
    with client_for(api) as client, Downloader(client) as downloader:
        done = downloader.download(PATH, part, label=LABEL, declared=len(BODY))
    assert (done.sha256, done.size) == (SHA, len(BODY))
    assert len(api.seen) == 1  # the 416 said it is whole


def test_a_part_longer_than_the_file_starts_over(
    servers: list[LocalServer], tmp_path: Path
) -> None:
    api = start(servers, LocalServer(lambda handler: serve_range(handler, BODY)))
    part = tmp_path / "d1.1.part"
    part.write_bytes(BODY + b"junk")
    with client_for(api) as client, Downloader(client) as downloader:
        done = downloader.download(PATH, part, label=LABEL, declared=len(BODY))
    assert done.sha256 == SHA
    assert [seen.headers.get("Range") for seen in api.seen] == [f"bytes={len(BODY) + 4}-", None]


def test_a_connection_cut_mid_body_resumes_in_the_next_attempt(
    servers: list[LocalServer], tmp_path: Path
) -> None:
    def cut_first(handler: BaseHTTPRequestHandler) -> None:
        if handler.headers.get("Range"):
            serve_range(handler, BODY)
            return
        handler.send_response(200)
        handler.send_header("Content-Length", str(len(BODY)))
        handler.end_headers()
        handler.wfile.write(BODY[:30_000])
        handler.close_connection = True

    api = start(servers, LocalServer(cut_first))
    part = tmp_path / "d1.1.part"
    with client_for(api) as client, Downloader(client) as downloader:
        done = downloader.download(PATH, part, label=LABEL, declared=len(BODY))
    assert (done.sha256, done.resumed_from) == (SHA, 30_000)
    assert [seen.headers.get("Range") for seen in api.seen] == [None, "bytes=30000-"]


def test_a_redirect_to_https_elsewhere_is_followed_without_credentials(
    servers: list[LocalServer],
    tmp_path: Path,
    trusted: Certificate,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    storage = start(
        servers, LocalServer(lambda handler: serve_range(handler, BODY), trusted.server_context())
    )
    query = f"X-Amz-Credential={AWS_KEY_ID}%2F20261207&X-Amz-Signature={SIGNATURE}"
    location = f"{storage.url}/bucket/d1?{query}"
    api = start(
        servers, LocalServer(lambda handler: reply(handler, 302, headers={"Location": location}))
    )
    part = tmp_path / "d1.1.part"
    part.write_bytes(BODY[:1000])
    with client_for(api) as client, Downloader(client) as downloader:
        done = downloader.download(PATH, part, label=LABEL, declared=len(BODY))
    assert done.sha256 == SHA
    assert "X-Api-Key" in api.seen[0].headers  # Assembla got its credentials
    (got,) = storage.seen
    assert got.path == f"/bucket/d1?{query}"
    assert "/bucket/d1" in caplog.text  # the hop was logged, its signed query masked
    assert AWS_KEY_ID not in caplog.text
    assert_no_secret(caplog.text)
    assert got.headers.get("Range") == "bytes=1000-"
    sent = " ".join(f"{name}: {value}" for name, value in got.headers.items())
    for secret in CREDS.secrets():
        assert secret not in sent
    assert not {"x-api-key", "x-api-secret", "authorization", "cookie"} & {
        name.lower() for name in got.headers
    }


def test_an_untrusted_certificate_fails_the_file_clearly(
    servers: list[LocalServer], tmp_path: Path, certificate: Certificate
) -> None:
    storage = start(
        servers,
        LocalServer(lambda handler: reply(handler, 200, BODY), certificate.server_context()),
    )
    location = f"{storage.url}/bucket/d1?sig={SIGNATURE}"
    api = start(
        servers, LocalServer(lambda handler: reply(handler, 302, headers={"Location": location}))
    )
    with (
        client_for(api) as client,
        Downloader(client) as downloader,
        pytest.raises(DownloadError) as caught,
    ):
        downloader.download(PATH, tmp_path / "p.part", label=LABEL, declared=len(BODY))
    assert "TLS certificate is not trusted" in str(caught.value)
    assert LABEL in str(caught.value)
    assert_no_secret(str(caught.value))
    assert storage.seen == []


@pytest.mark.parametrize("scheme", ["http", "ftp"])
def test_a_redirect_that_is_not_https_is_refused(
    servers: list[LocalServer], tmp_path: Path, scheme: str
) -> None:
    target = start(servers, LocalServer(lambda handler: reply(handler, 200, BODY)))
    port = target.url.rpartition(":")[2]
    location = f"{scheme}://127.0.0.1:{port}/bucket/d1?signature={SIGNATURE}"
    api = start(
        servers, LocalServer(lambda handler: reply(handler, 302, headers={"Location": location}))
    )
    part = tmp_path / "d1.1.part"
    with (
        client_for(api) as client,
        Downloader(client) as downloader,
        pytest.raises(DownloadError) as caught,
    ):
        downloader.download(PATH, part, label=LABEL, declared=len(BODY))
    message = str(caught.value)
    assert message == (
        f"{LABEL}: the download redirects to {scheme}://127.0.0.1, not https; "
        "only https redirects are followed"
    )
    assert target.seen == []
    assert len(api.seen) == 1  # refused at once, not retried
    assert not part.exists()


def test_a_broken_presigned_link_fails_the_file_naming_only_the_host(
    servers: list[LocalServer], tmp_path: Path, trusted: Certificate
) -> None:
    denied = b"<Error><Code>SignatureDoesNotMatch</Code></Error>"
    storage = start(
        servers, LocalServer(lambda handler: reply(handler, 403, denied), trusted.server_context())
    )
    location = f"{storage.url}/bucket/d1?X-Amz-Signature={SIGNATURE}"
    api = start(
        servers, LocalServer(lambda handler: reply(handler, 302, headers={"Location": location}))
    )
    with (
        client_for(api) as client,
        Downloader(client) as downloader,
        pytest.raises(DownloadError) as caught,
    ):
        downloader.download(PATH, tmp_path / "p.part", label=LABEL, declared=len(BODY))
    assert str(caught.value) == (
        f"{LABEL}: the storage host localhost refused the download (HTTP 403); "
        "its link may have expired or be broken"
    )


def test_a_redirect_loop_ends(
    servers: list[LocalServer], tmp_path: Path, trusted: Certificate
) -> None:
    def loop(handler: BaseHTTPRequestHandler) -> None:
        reply(handler, 302, headers={"Location": f"/again{len(storage.seen)}"})

    storage = start(servers, LocalServer(loop, trusted.server_context()))
    api = start(
        servers, LocalServer(lambda handler: reply(handler, 302, headers={"Location": storage.url}))
    )
    with (
        client_for(api) as client,
        Downloader(client) as downloader,
        pytest.raises(DownloadError) as caught,
    ):
        downloader.download(PATH, tmp_path / "p.part", label=LABEL, declared=len(BODY))
    assert "more than 5 redirects" in str(caught.value)
    assert len(storage.seen) == 5


def test_more_bytes_than_declared_are_cut_off(servers: list[LocalServer], tmp_path: Path) -> None:
    declared = 10_000
    limit = size_limit(declared)

    def endless(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(200)
        handler.send_header("Transfer-Encoding", "chunked")
        handler.end_headers()
        chunk = b"z" * 65536
        try:
            while not api.stopping.is_set():
                handler.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
        except OSError:
            pass  # the client hung up, as it should
        handler.close_connection = True

    api = start(servers, LocalServer(endless))
    part = tmp_path / "d1.1.part"
    with (
        client_for(api) as client,
        Downloader(client) as downloader,
        pytest.raises(DownloadError) as caught,
    ):
        downloader.download(PATH, part, label=LABEL, declared=declared)
    assert f"more than the {limit:,} bytes expected" in str(caught.value)
    assert not part.exists()  # nothing of it is kept


def test_a_declared_length_over_the_limit_is_refused_before_reading(
    servers: list[LocalServer], tmp_path: Path
) -> None:
    def huge(handler: BaseHTTPRequestHandler) -> None:
        reply(handler, 200, b"", {"Content-Length": str(10**12)})
        handler.close_connection = True

    api = start(servers, LocalServer(huge))
    with (
        client_for(api) as client,
        Downloader(client) as downloader,
        pytest.raises(DownloadError) as caught,
    ):
        downloader.download(PATH, tmp_path / "p.part", label=LABEL, declared=100)
    assert "offers 1,000,000,000,000 bytes" in str(caught.value)


def stall(handler: BaseHTTPRequestHandler, owner: list[LocalServer]) -> None:
    handler.send_response(200)
    handler.send_header("Content-Length", str(len(BODY)))
    handler.end_headers()
    handler.wfile.write(BODY[:100])
    handler.wfile.flush()
    owner[0].stopping.wait(30)
    handler.close_connection = True


def drip(handler: BaseHTTPRequestHandler, owner: list[LocalServer]) -> None:
    handler.send_response(200)
    handler.send_header("Content-Length", str(len(BODY)))
    handler.end_headers()
    try:
        for index in range(len(BODY)):
            if owner[0].stopping.wait(0.1):
                break
            handler.wfile.write(BODY[index : index + 1])
            handler.wfile.flush()
    except OSError:
        pass
    handler.close_connection = True


@pytest.mark.parametrize("behaviour", [stall, drip], ids=["stall", "drip"])
def test_a_stalled_or_dripping_server_cannot_hang_the_download(
    servers: list[LocalServer], tmp_path: Path, behaviour: object
) -> None:
    owner: list[LocalServer] = []
    api = start(servers, LocalServer(lambda handler: behaviour(handler, owner)))  # type: ignore[operator]
    owner.append(api)
    started = time.monotonic()
    client = client_for(api, max_attempts=2)
    with client, Downloader(client) as downloader, pytest.raises(DownloadError) as caught:
        downloader.download(PATH, tmp_path / "p.part", label=LABEL, declared=1000)
    assert time.monotonic() - started < 10
    assert "not downloaded after 2 attempts" in str(caught.value)
    assert ("timed out" in str(caught.value)) or ("no complete answer" in str(caught.value))


def test_api_errors_are_the_clients(servers: list[LocalServer], tmp_path: Path) -> None:
    api = start(servers, LocalServer(lambda handler: reply(handler, 404, b'{"error":"nope"}')))
    with (
        client_for(api) as client,
        Downloader(client) as downloader,
        pytest.raises(ApiError) as caught,
    ):
        downloader.download(PATH, tmp_path / "p.part", label=LABEL, declared=10)
    assert caught.value.status == 404
    assert_no_secret(str(caught.value))


def test_the_api_is_paced_and_retried_as_for_every_request(
    servers: list[LocalServer], tmp_path: Path
) -> None:
    def flaky(handler: BaseHTTPRequestHandler) -> None:
        if len(api.seen) <= 2:
            reply(handler, 503, b"busy", {"Retry-After": "0"})
        else:
            reply(handler, 200, BODY)

    api = start(servers, LocalServer(flaky))
    with client_for(api) as client, Downloader(client) as downloader:
        done = downloader.download(PATH, tmp_path / "p.part", label=LABEL, declared=len(BODY))
        stats = client.stats.snapshot()
    assert done.sha256 == SHA
    assert (stats.requests, stats.retries, stats.by_status) == (3, 2, {503: 2, 200: 1})
