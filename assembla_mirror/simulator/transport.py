"""The HTTP plumbing: a threaded HTTP/1.1 server whose connections can be closed on stop,
and a request handler that writes each response in one piece.

Writing status line, headers and body with a single ``sendall`` (and
``TCP_NODELAY``) keeps keep-alive round trips free of Nagle delays; an exact
``Content-Length`` lets clients reuse the connection. Every answer carries a
``Date`` header from the server's ``now`` (the world's clock). The hostile
faults are written by :meth:`RequestHandler.send_trickle` and
:meth:`RequestHandler.send_streamed` through a :class:`~.pacing.Pacer`, which
gives up as soon as the server stops.

What to answer is not decided here: the handler turns the request into an
:class:`~.exchange.Incoming`, the server's ``serve`` callback decides, and
:meth:`RequestHandler.write_reply` writes the :class:`~.exchange.Reply` (the
in-process path writes the same reply as an ``httpx.Response`` instead).
"""

from __future__ import annotations

import contextlib
import socket
import sys
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from assembla_mirror.simulator.exchange import Incoming, Reply, header_fields, http_date
from assembla_mirror.simulator.pacing import Gone, Pacer
from assembla_mirror.simulator.routes import Response, Streamed


def _utc_now() -> datetime:
    return datetime.now(UTC)


class HttpServer(ThreadingHTTPServer):
    """One thread per connection; ``serve`` is called for every request.

    ``now`` gives the instant the ``Date`` header shows; ``stopping`` is set by
    :meth:`close_connections` so slow answers in progress give up.
    """

    daemon_threads = True
    # socketserver's default backlog is 5: a burst of concurrent clients (a sync
    # opens 16 connections at once) overflowed it, and each dropped connection
    # attempt cost the client a 1 s SYN retransmit. Real servers allow hundreds.
    request_queue_size = 128

    def __init__(
        self,
        address: tuple[str, int],
        serve: Callable[[RequestHandler], None],
        now: Callable[[], datetime] = _utc_now,
    ) -> None:
        self.serve = serve
        self.now = now
        self.stopping = threading.Event()
        self.connections: set[socket.socket] = set()
        self.connections_lock = threading.Lock()
        super().__init__(address, RequestHandler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Stay quiet when a client goes away mid-answer; report anything else."""
        if not isinstance(sys.exc_info()[1], ConnectionError | TimeoutError):
            super().handle_error(request, client_address)

    def close_connections(self) -> None:
        """Shut down every open connection, so idle keep-alive threads end.

        Slow answers in progress notice ``stopping`` within a pacing step and end too.
        """
        self.stopping.set()
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
            if self.server.stopping.is_set():
                # accepted just as the server stopped: close_connections() missed it
                self.connection.shutdown(socket.SHUT_RDWR)

    def finish(self) -> None:
        with self.server.connections_lock:
            self.server.connections.discard(self.connection)
        super().finish()

    def log_message(self, format: str, *args: Any) -> None:
        """Silent: the simulator keeps its own request log."""

    def do_GET(self) -> None:
        """Every routed method (:data:`~.exchange.ROUTED_METHODS`) goes to ``serve``."""
        self.server.serve(self)

    do_POST = do_PUT = do_DELETE = do_PATCH = do_GET

    def read_body(self) -> bytes:
        """The request body (read so the connection stays in sync)."""
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def read_incoming(self) -> Incoming:
        """The request being handled, body included, as the simulator's core takes it."""
        return Incoming.parse(self.command, self.path, self.headers.items(), self.read_body())

    def write_reply(self, reply: Reply) -> None:
        """Write ``reply`` as its fault (if any) says: dropped, truncated, trickled, streamed."""
        response, kind = reply.response, reply.fault_kind
        if response is None:
            self.drop()
        elif isinstance(response, Streamed):
            self.send_streamed(response)
        elif reply.fault is not None and kind in ("trickle", "trickle_headers"):
            self.send_trickle(response, reply.fault.seconds, headers=kind == "trickle_headers")
        else:
            self.send(response, truncate=kind == "truncate")

    def date_time_string(self, timestamp: float | None = None) -> str:
        """The ``Date`` header value: the server's ``now`` (the world's clock) as an HTTP-date.

        Also used by ``BaseHTTPRequestHandler`` for its own error answers (400, 501, ...).
        """
        if timestamp is not None:
            return super().date_time_string(timestamp)
        return http_date(self.server.now())

    def _head(
        self,
        status: int,
        content_type: str,
        framing: tuple[str, str],
        headers: list[tuple[str, str]],
    ) -> bytes:
        """Status line and header block, blank line included; ``framing`` the length header."""
        fields = header_fields(
            self.server.now(), content_type, framing, headers, close=self.close_connection
        )
        head = [
            f"HTTP/1.1 {status} {HTTPStatus(status).phrase}",
            *(f"{name}: {value}" for name, value in fields),
        ]
        return ("\r\n".join(head) + "\r\n\r\n").encode("latin-1")

    def send(self, response: Response, truncate: bool = False) -> None:
        """Write the response; ``truncate`` sends half the body, then closes the connection."""
        if truncate:
            self.close_connection = True
        head = self._head(
            response.status,
            response.content_type,
            ("Content-Length", str(len(response.body))),
            response.headers,
        )
        body = response.body[: len(response.body) // 2] if truncate else response.body
        self.wfile.write(head + body)

    def send_trickle(self, response: Response, interval: float, *, headers: bool) -> None:
        """Write ``response`` a byte every ``interval`` seconds.

        Status line and headers go at once and the body trickles; with ``headers``
        the status line goes at once and the header block trickles (the body follows
        it in one piece). The connection closes if the server stops or the client leaves.
        """
        head = self._head(
            response.status,
            response.content_type,
            ("Content-Length", str(len(response.body))),
            response.headers,
        )
        if headers:
            status_end = head.index(b"\r\n") + 2
            fast, slow, tail = head[:status_end], head[status_end:], response.body
        else:
            fast, slow, tail = head, response.body, b""
        try:
            with Pacer(self.connection, self.server.stopping) as out:
                out.write(fast)
                for index in range(len(slow)):
                    out.pause(interval)
                    out.write(slow[index : index + 1])
                out.write(tail)
        except Gone:
            self.close_connection = True

    def send_streamed(self, response: Streamed) -> None:
        """Write a body made piece by piece, as fast as the client reads it.

        ``length`` None sends it chunked (and closes the connection afterwards,
        since such a body may never end); an abandoned answer closes it too.
        """
        if response.length is None:
            framing = ("Transfer-Encoding", "chunked")
        else:
            framing = ("Content-Length", str(response.length))
        head = self._head(response.status, response.content_type, framing, [])
        try:
            with Pacer(self.connection, self.server.stopping) as out:
                out.write(head)
                for piece in response.chunks:
                    if response.length is not None:
                        out.write(piece)
                    elif piece:  # an empty chunk would end a chunked body
                        out.write(b"%x\r\n%s\r\n" % (len(piece), piece))
                if response.length is None:
                    out.write(b"0\r\n\r\n")
        except Gone:
            self.close_connection = True
        if response.length is None:
            self.close_connection = True

    def drop(self) -> None:
        """Close the connection without answering."""
        self.close_connection = True
