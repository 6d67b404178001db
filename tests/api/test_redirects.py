"""Redirects over real loopback HTTP: never followed, credentials never reach the target."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from assembla_mirror.api.client import AssemblaClient
from assembla_mirror.api.credentials import Credentials
from assembla_mirror.api.settings import ClientSettings
from assembla_mirror.errors import ApiError
from tests.api.reading import get_time_logs

CREDS = Credentials(api_key="key-redirect-1", api_secret="secret-redirect-2")


class Server:
    """A loopback HTTP server answering every GET with ``answer(path)``; records requests."""

    def __init__(self, answer: Callable[[str], tuple[int, dict[str, str]]]) -> None:
        self.requests: list[tuple[str, dict[str, str]]] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                outer.requests.append((self.path, dict(self.headers)))
                status, headers = answer(self.path)
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def servers() -> Iterator[tuple[Server, Server]]:
    target = Server(lambda path: (200, {"Content-Type": "application/json"}))
    origin = Server(lambda path: (302, {"Location": f"{target.url}{path}"}))
    yield origin, target
    origin.close()
    target.close()


@pytest.mark.parametrize("legacy", [False, True])
def test_a_redirect_to_another_host_is_an_error_and_nothing_is_forwarded(
    servers: tuple[Server, Server], legacy: bool
) -> None:
    origin, target = servers
    settings = ClientSettings(api_url=origin.url, legacy_url=origin.url, rate_limit=None)
    creds = CREDS.with_(username="alice", password="pw-redirect-3")
    with AssemblaClient(settings, creds) as client:
        call = (lambda: get_time_logs(client, 1)) if legacy else (lambda: client.get("spaces"))
        with pytest.raises(ApiError) as caught:
            call()
    target_host = target.url.removeprefix("http://")
    assert f"redirected to {target_host}" in str(caught.value)
    assert len(origin.requests) == 1
    assert target.requests == []  # the redirect was not followed at all
    for secret in creds.secrets():
        assert secret not in str(caught.value)
