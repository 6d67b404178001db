"""Loopback servers for the download tests: a scriptable HTTP(S) server, a self-signed
certificate made at test time (with the ``openssl`` command), and an https front that
forwards to the simulator (its storage host then lives on another host: ``localhost``
over TLS rather than ``127.0.0.1`` over plain HTTP)."""

from __future__ import annotations

import http.client
import shutil
import ssl
import subprocess
import threading
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

import pytest

#: Answers one request: gets the handler (to read ``path``/``headers`` and write a reply).
Answer = Callable[[BaseHTTPRequestHandler], None]


@dataclass(frozen=True)
class Seen:
    """A request a :class:`LocalServer` got."""

    path: str
    headers: dict[str, str]


class LocalServer:
    """A threaded HTTP/1.1 server on 127.0.0.1 answering every GET with ``answer``;
    ``tls`` (a server context) makes it https. ``seen`` records every request."""

    def __init__(self, answer: Answer, tls: ssl.SSLContext | None = None) -> None:
        self.seen: list[Seen] = []
        self.stopping = threading.Event()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                outer.seen.append(Seen(self.path, dict(self.headers)))
                answer(self)

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        if tls is not None:
            self.httpd.socket = tls.wrap_socket(self.httpd.socket, server_side=True)
        port = self.httpd.server_address[1]
        self.url = f"{'https' if tls else 'http'}://{'localhost' if tls else '127.0.0.1'}:{port}"
        self.thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self.thread.start()

    def close(self) -> None:
        """Stop serving (answers still pacing themselves see ``stopping``)."""
        self.stopping.set()
        self.httpd.shutdown()
        self.httpd.server_close()


def reply(
    handler: BaseHTTPRequestHandler,
    status: int,
    body: bytes = b"",
    headers: dict[str, str] | None = None,
) -> None:
    """Write a complete answer (``Content-Length`` unless ``headers`` frame it otherwise)."""
    handler.send_response(status)
    given = headers or {}
    for name, value in given.items():
        handler.send_header(name, value)
    if "Content-Length" not in given and "Transfer-Encoding" not in given:
        handler.send_header("Content-Length", str(len(body)))
    handler.end_headers()
    if body:
        handler.wfile.write(body)


def serve_range(handler: BaseHTTPRequestHandler, body: bytes) -> None:
    """``body`` whole (200), from the byte a ``Range: bytes=N-`` names (206), or 416."""
    asked = handler.headers.get("Range", "")
    if not asked.startswith("bytes="):
        reply(handler, 200, body)
        return
    start = int(asked.removeprefix("bytes=").partition("-")[0])
    if start >= len(body):
        reply(handler, 416, headers={"Content-Range": f"bytes */{len(body)}"})
        return
    headers = {"Content-Range": f"bytes {start}-{len(body) - 1}/{len(body)}"}
    reply(handler, 206, body[start:], headers)


@dataclass(frozen=True)
class Certificate:
    """A self-signed certificate for ``localhost`` and 127.0.0.1, and its key."""

    cert: Path
    key: Path

    def server_context(self) -> ssl.SSLContext:
        """A server context presenting it."""
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self.cert, self.key)
        return context


def make_certificate(folder: Path) -> Certificate:
    """Make a certificate with the ``openssl`` command (skip the test without it)."""
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("the https tests need the openssl command to make a certificate")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [
            openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
            "-keyout", str(key), "-out", str(cert), "-subj", "/CN=localhost",
            "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
            "-addext", "basicConstraints=critical,CA:TRUE",
        ],
        check=True,
        capture_output=True,
    )  # fmt: skip
    return Certificate(cert, key)


def https_front(
    target: str, certificate: Certificate, rewrite: Callable[[str], str] = str
) -> LocalServer:
    """An https server on ``localhost`` passing every GET on to ``target`` (the
    simulator's http URL) with the headers it got, and the answer back; ``rewrite``
    may change the path (and query) on the way."""
    upstream = urlsplit(target)

    def forward(handler: BaseHTTPRequestHandler) -> None:
        conn = http.client.HTTPConnection(upstream.hostname or "", upstream.port, timeout=30)
        try:
            headers = {k: v for k, v in handler.headers.items() if k.lower() != "host"}
            conn.request("GET", rewrite(handler.path), headers=headers)
            answer = conn.getresponse()
            body = answer.read()
        finally:
            conn.close()
        passed = {
            name: value
            for name, value in answer.getheaders()
            if name.lower()
            not in ("content-length", "transfer-encoding", "connection", "date", "server")
        }
        reply(handler, answer.status, body, passed)

    return LocalServer(forward, certificate.server_context())
