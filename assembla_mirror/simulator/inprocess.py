"""The simulator without a socket: httpx requests answered in this process, for tests.

:meth:`Simulator.handle <assembla_mirror.simulator.server.Simulator.handle>` runs
the same request handling as the HTTP server (authentication, rate limit,
latency, faults, routing, the request log, the ``Date`` header); this module
only converts an ``httpx.Request`` into the core's :class:`~.exchange.Incoming`
and the core's :class:`~.exchange.Reply` into an ``httpx.Response`` with the
headers the socket server would write. Wrapped in ``httpx.MockTransport``
(:meth:`Simulator.transport <assembla_mirror.simulator.server.Simulator.transport>`)
it serves any httpx client, the mirror's ``AssemblaClient`` included.

Faults behave as a client would see them over a socket: ``500``, ``503``, ``429``,
``html``, ``bad_json``, ``empty``, ``copies`` and ``slow`` answer as usual;
``drop`` raises ``httpx.RemoteProtocolError`` when the request is sent and
``truncate`` when the body is read half-way, with httpx's own messages. The
hostile kinds (``trickle``, ``trickle_headers``, ``endless``, ``huge``) are
about sockets and clocks and raise :class:`SocketOnlyFault`: serve the
simulator over loopback HTTP for them.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from html import escape
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler

import httpx

from assembla_mirror.simulator.exchange import (
    Incoming,
    Reply,
    RequestHeaders,
    asks_to_close,
    header_fields,
    http_date,
)
from assembla_mirror.simulator.routes import Response

#: A base URL for clients of the in-process path. The client's settings accept plain
#: http only for loopback hosts; port 9 (discard) has no listener, so a client that
#: was built without the in-process transport fails at once instead of reaching
#: some other local server.
IN_PROCESS_URL = "http://127.0.0.1:9"

#: Fault kinds that only a socket can play.
SOCKET_ONLY_FAULTS = frozenset({"trickle", "trickle_headers", "endless", "huge"})

# What httpx (through httpcore and h11) raises for these, word for word, so a client's
# handling of the message (e.g. "truncated" versus "dropped") is exercised in-process too.
DROPPED = "Server disconnected without sending a response."
TRUNCATED = (
    "peer closed connection without sending complete message body (received {} bytes, expected {})"
)


class SocketOnlyFault(RuntimeError):
    """A hostile fault (``trickle``, ``endless``...) fired for a request made in-process."""


def incoming(request: httpx.Request) -> Incoming:
    """``request`` (whose body is read) as the simulator's core takes it."""
    target = request.url.raw_path.decode("ascii")
    return Incoming.parse(request.method, target, request.headers.multi_items(), request.content)


def unrouted(request: httpx.Request, now: datetime) -> httpx.Response:
    """The ``501`` the socket server's HTTP library answers to a method it does not route
    (``HEAD``, ``OPTIONS``...); such a request never reaches the simulator's log."""
    status = HTTPStatus.NOT_IMPLEMENTED
    explain = f"Unsupported method ({request.method!r})"
    page = BaseHTTPRequestHandler.error_message_format % {
        "code": status.value,
        "message": escape(explain, quote=False),
        "explain": escape(status.description, quote=False),
    }
    encoded = page.encode("utf-8", "replace")
    server = f"{BaseHTTPRequestHandler.server_version} {BaseHTTPRequestHandler.sys_version}"
    fields = [
        ("Server", server),
        ("Date", http_date(now)),
        ("Connection", "close"),
        ("Content-Type", BaseHTTPRequestHandler.error_content_type),
        ("Content-Length", str(len(encoded))),
    ]
    body = b"" if request.method == "HEAD" else encoded  # HEAD: the length, not the body
    return _response(request, status.value, fields, httpx.ByteStream(body))


def outgoing(reply: Reply, request: httpx.Request, now: datetime) -> httpx.Response:
    """``reply`` as the ``httpx.Response`` a client reads from the socket server.

    Raises ``httpx.RemoteProtocolError`` for a dropped connection and
    :class:`SocketOnlyFault` for the hostile kinds.
    """
    response, kind = reply.response, reply.fault_kind
    if kind in SOCKET_ONLY_FAULTS:
        raise SocketOnlyFault(
            f"the {kind!r} fault needs a socket; serve the simulator over loopback HTTP "
            "(`with Simulator(world) as sim:` and `sim.api_url`) for hostile-network tests"
        )
    if response is None:
        raise httpx.RemoteProtocolError(DROPPED, request=request)
    if not isinstance(response, Response):  # a Streamed answer comes only from socket-only kinds
        raise SocketOnlyFault(f"a streamed answer ({kind}) needs a socket")
    truncate = kind == "truncate"
    length = len(response.body)
    fields = header_fields(
        now,
        response.content_type,
        ("Content-Length", str(length)),
        response.headers,
        close=truncate or asks_to_close(RequestHeaders(request.headers.multi_items())),
    )
    stream: httpx.SyncByteStream
    if truncate:
        stream = _CutShort(response.body[: length // 2], length, request)
    else:
        stream = httpx.ByteStream(response.body)
    return _response(request, response.status, fields, stream)


def _response(
    request: httpx.Request,
    status: int,
    fields: list[tuple[str, str]],
    stream: httpx.SyncByteStream,
) -> httpx.Response:
    phrase = HTTPStatus(status).phrase.encode("ascii")
    return httpx.Response(
        status,
        headers=fields,
        stream=stream,
        request=request,
        extensions={"http_version": b"HTTP/1.1", "reason_phrase": phrase},
    )


class _CutShort(httpx.SyncByteStream):
    """A body that ends after ``sent`` while ``Content-Length`` promised ``promised`` bytes:
    what a client reads from a connection closed half-way."""

    def __init__(self, sent: bytes, promised: int, request: httpx.Request) -> None:
        self._sent = sent
        self._promised = promised
        self._request = request

    def __iter__(self) -> Iterator[bytes]:
        if self._sent:
            yield self._sent
        message = TRUNCATED.format(len(self._sent), self._promised)
        raise httpx.RemoteProtocolError(message, request=self._request)
