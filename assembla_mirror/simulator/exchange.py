"""One request and its answer as the simulator's core sees them, free of any transport.

The socket server (:mod:`~assembla_mirror.simulator.transport`) and the in-process
path (:mod:`~assembla_mirror.simulator.inprocess`) each turn what they receive
into an :class:`Incoming`, let :meth:`Simulator.respond
<assembla_mirror.simulator.server.Simulator.respond>` decide the :class:`Reply`,
and write that reply their own way. Both build the header block with
:func:`header_fields`, so an answer carries the same headers whichever way it
travels.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from email.utils import format_datetime
from urllib.parse import parse_qs, urlsplit

from assembla_mirror.simulator.faults import Fault
from assembla_mirror.simulator.routes import Response, Streamed

#: The methods the server routes; others get the HTTP library's own 501 answer.
ROUTED_METHODS = frozenset({"GET", "POST", "PUT", "DELETE", "PATCH"})


class RequestHeaders:
    """Case-insensitive, read-only request headers built from ``(name, value)`` pairs.

    Like :meth:`email.message.Message.get` (what the socket server parses headers
    into), :meth:`get` answers with the first field of a name.
    """

    def __init__(self, pairs: Iterable[tuple[str, str]]) -> None:
        self._first: dict[str, str] = {}
        for name, value in pairs:
            self._first.setdefault(name.lower(), value)

    def get(self, name: str, default: str | None = None) -> str | None:
        """The first value of header ``name`` (any case), or ``default``."""
        return self._first.get(name.lower(), default)


@dataclass(frozen=True)
class Incoming:
    """A request as it arrived: method, path and parsed query, headers and body."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: RequestHeaders
    body: bytes

    @classmethod
    def parse(
        cls, method: str, target: str, headers: Iterable[tuple[str, str]], body: bytes
    ) -> Incoming:
        """An :class:`Incoming` from the request line's ``target`` (``/v1/spaces?page=2``)."""
        parts = urlsplit(target)
        query = parse_qs(parts.query, keep_blank_values=True)
        return cls(method, parts.path, query, RequestHeaders(headers), body)


@dataclass(frozen=True)
class Reply:
    """The simulator's answer to one request, before a transport writes it.

    ``response`` None means the connection is dropped without an answer;
    ``fault`` says how the answer is spoilt on the way (``truncate``, ``trickle``...).
    """

    response: Response | Streamed | None
    fault: Fault | None

    @property
    def fault_kind(self) -> str | None:
        """The kind of the fault this reply carries, if any."""
        return self.fault.kind if self.fault is not None else None


def http_date(now: datetime) -> str:
    """``now`` as an HTTP-date (``Sun, 06 Nov 1994 08:49:37 GMT``)."""
    return format_datetime(now, usegmt=True)


def header_fields(
    now: datetime,
    content_type: str,
    framing: tuple[str, str],
    extra: Iterable[tuple[str, str]],
    *,
    close: bool,
) -> list[tuple[str, str]]:
    """The header block of every answer, in the order it is written.

    ``Date`` (``now``: the world's clock), ``Content-Type``, the body's framing
    (``Content-Length`` or ``Transfer-Encoding``), the response's own headers,
    and ``Connection: close`` when the connection ends after this answer.
    """
    fields = [("Date", http_date(now)), ("Content-Type", content_type), framing, *extra]
    if close:
        fields.append(("Connection", "close"))
    return fields


def asks_to_close(headers: RequestHeaders) -> bool:
    """Whether the client's ``Connection`` header ends the connection after this answer
    (what :class:`http.server.BaseHTTPRequestHandler` decides for HTTP/1.1)."""
    return (headers.get("Connection") or "").lower() == "close"
