"""The HTTP plumbing: a threaded HTTP/1.1 server whose connections can be closed on stop,
and a request handler that writes each response in one piece.

Writing status line, headers and body with a single ``sendall`` (and
``TCP_NODELAY``) keeps keep-alive round trips free of Nagle delays; an exact
``Content-Length`` lets clients reuse the connection.
"""

from __future__ import annotations

import contextlib
import socket
import sys
import threading
from collections.abc import Callable
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from assembla_mirror.simulator.routes import Response


class HttpServer(ThreadingHTTPServer):
    """One thread per connection; ``serve`` is called for every request."""

    daemon_threads = True
    # socketserver's default backlog is 5: a burst of concurrent clients (a sync
    # opens 16 connections at once) overflowed it, and each dropped connection
    # attempt cost the client a 1 s SYN retransmit. Real servers allow hundreds.
    request_queue_size = 128

    def __init__(self, address: tuple[str, int], serve: Callable[[RequestHandler], None]) -> None:
        self.serve = serve
        self.connections: set[socket.socket] = set()
        self.connections_lock = threading.Lock()
        super().__init__(address, RequestHandler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Stay quiet when a client goes away mid-answer; report anything else."""
        if not isinstance(sys.exc_info()[1], ConnectionError | TimeoutError):
            super().handle_error(request, client_address)

    def close_connections(self) -> None:
        """Shut down every open connection, so idle keep-alive threads end."""
        with self.connections_lock:
            for conn in list(self.connections):
                with contextlib.suppress(OSError):
                    conn.shutdown(socket.SHUT_RDWR)


class RequestHandler(BaseHTTPRequestHandler):
    """Parses requests (keep-alive aware) and writes :class:`Response` objects."""

    protocol_version = "HTTP/1.1"
    server: HttpServer
    timeout = 120  # idle keep-alive connections give up eventually

    def setup(self) -> None:
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        with self.server.connections_lock:
            self.server.connections.add(self.connection)

    def finish(self) -> None:
        with self.server.connections_lock:
            self.server.connections.discard(self.connection)
        super().finish()

    def log_message(self, format: str, *args: Any) -> None:
        """Silent: the simulator keeps its own request log."""

    def do_GET(self) -> None:
        """Every method goes to the server's ``serve`` callback."""
        self.server.serve(self)

    do_POST = do_PUT = do_DELETE = do_PATCH = do_GET

    def read_body(self) -> bytes:
        """The request body (read so the connection stays in sync)."""
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def send(self, response: Response, truncate: bool = False) -> None:
        """Write the response; ``truncate`` sends half the body, then closes the connection."""
        head = [
            f"HTTP/1.1 {response.status} {HTTPStatus(response.status).phrase}",
            f"Content-Type: {response.content_type}",
            f"Content-Length: {len(response.body)}",
            *(f"{name}: {value}" for name, value in response.headers),
        ]
        if truncate:
            self.close_connection = True
        if self.close_connection:
            head.append("Connection: close")
        body = response.body[: len(response.body) // 2] if truncate else response.body
        self.wfile.write(("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + body)

    def drop(self) -> None:
        """Close the connection without answering."""
        self.close_connection = True
