"""URL routing, the per-request context handlers receive, and response helpers.

Routes are declared with ``:name`` placeholders (``/v1/spaces/:space/tickets/:number``);
the declared pattern doubles as the endpoint name in the request log.
Placeholders named ``number``, ``id`` and ``task_id`` match digits only.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, TypeVar

from assembla_mirror.simulator import render, zones
from assembla_mirror.simulator.entities import User
from assembla_mirror.simulator.state import SpaceData
from assembla_mirror.simulator.world import World

if TYPE_CHECKING:
    from assembla_mirror.simulator.exchange import RequestHeaders
    from assembla_mirror.simulator.storage import Storage

T = TypeVar("T")
JSON = "application/json; charset=utf-8"
TEXT = "text/plain; charset=utf-8"
HTML = "text/html; charset=utf-8"
XML = "application/xml; charset=utf-8"
DIGITS = frozenset({"number", "id", "task_id"})
PLACEHOLDER = re.compile(r":(\w+)")
ERROR_PAGE = (
    b"<!DOCTYPE html>\n<html><head><title>Error 500: Internal Server Error | Assembla</title>"
    b"</head>\n<body><h1>We're sorry, but something went wrong.</h1>\n"
    b"<p>We've been notified about this issue and we'll take a look at it shortly.</p>"
    b"</body></html>\n"
)


@dataclass
class Response:
    """A complete HTTP response."""

    status: int
    body: bytes = b""
    content_type: str = JSON
    headers: list[tuple[str, str]] = field(default_factory=list)


@dataclass
class Streamed:
    """A response whose body is produced piece by piece (the ``endless`` and ``huge`` faults).

    ``length`` is the exact total of ``chunks`` for a ``Content-Length`` answer;
    None sends ``Transfer-Encoding: chunked``.
    """

    status: int
    chunks: Iterable[bytes]
    length: int | None
    content_type: str = JSON


class HttpError(Exception):
    """Raised by handlers to answer with ``response`` at once."""

    def __init__(self, response: Response) -> None:
        super().__init__(response.status)
        self.response = response


def json_response(body: bytes, status: int = 200) -> Response:
    """A JSON response."""
    return Response(status, body)


def error(status: int, code: str, description: str | None = None) -> Response:
    """``{"error": code[, "error_description": ...]}`` with ``status``."""
    payload = {"error": code}
    if description is not None:
        payload["error_description"] = description
    return Response(status, render.dumps(payload))


def no_content() -> Response:
    """204 with an empty body and ``text/plain``, as Assembla answers empty lists."""
    return Response(204, b"", TEXT)


def not_found() -> Response:
    """404 for an unknown resource: a near-empty HTML page, as Assembla's staging sends."""
    return Response(404, b" ", HTML)


def tool_not_found() -> Response:
    """404 for a tool the space does not have."""
    return Response(404, b"Tool not found for this project", TEXT)


def throttled(retry_after: int | None) -> Response:
    """429 ``{"error":"rate limit exceeded"}``, with ``Retry-After`` when given."""
    response = error(429, "rate limit exceeded")
    if retry_after is not None:
        response.headers.append(("Retry-After", str(retry_after)))
    return response


def server_error() -> Response:
    """500 with Assembla's HTML error page."""
    return Response(500, ERROR_PAGE, HTML)


@dataclass
class Call:
    """What a handler needs: the world, the authenticated user, path and query parameters,
    the request's headers and where downloads go (see :mod:`.storage`)."""

    world: World
    user: User
    params: dict[str, str]
    query: dict[str, list[str]]
    headers: RequestHeaders | None = None
    storage: Storage | None = None

    def header(self, name: str) -> str | None:
        """The request header ``name`` (any case), or None."""
        return self.headers.get(name) if self.headers is not None else None

    def arg(self, name: str) -> str | None:
        """The first value of query parameter ``name``."""
        values = self.query.get(name)
        return values[0] if values else None

    def args(self, name: str) -> list[str]:
        """Every value of ``name[]`` and ``name``."""
        return self.query.get(f"{name}[]", []) + self.query.get(name, [])

    def zone_of(self, data: SpaceData) -> zones.Zone:
        """The offset objects of ``data``'s space render with: the space's, else the caller's."""
        return zones.zone(data.space.time_zone or self.user.time_zone)

    def space(self) -> SpaceData:
        """The ``:space`` of the path: 404 if unknown, 403 if the caller is not a member."""
        data = self.world.state.space(self.params["space"])
        if data is None:
            raise HttpError(not_found())
        if self.user.id not in data.roles:
            raise HttpError(error(403, "forbidden"))
        return data

    def ticket_space(self) -> SpaceData:
        """Like :meth:`space`, but 404 ``Tool not found`` when the space has no ticket tool."""
        data = self.space()
        if data.ticket_tool is None:
            raise HttpError(tool_not_found())
        return data

    def files_space(self) -> SpaceData:
        """Like :meth:`space`, but 404 ``Tool not found`` when the space has no files tool."""
        data = self.space()
        if data.files_tool is None:
            raise HttpError(tool_not_found())
        return data

    def paging(self, default: int) -> tuple[int, int]:
        """``(page, per_page)``: page 1-based; per_page outside 1..100 means ``default``."""
        page = _number(self.arg("page"), 1)
        per_page = _number(self.arg("per_page"), default)
        return max(page, 1), per_page if 1 <= per_page <= 100 else default

    def page(self, items: Sequence[T], default: int, render_item: Callable[[T], bytes]) -> Response:
        """One page of ``items`` as a JSON array, or 204 when the page is empty."""
        page, per_page = self.paging(default)
        chunk = items[(page - 1) * per_page : page * per_page]
        return whole(chunk, render_item)


def whole(items: Sequence[T], render_item: Callable[[T], bytes]) -> Response:
    """All ``items`` as a JSON array, or 204 when there are none."""
    if not items:
        return no_content()
    return json_response(render.json_list(render_item(item) for item in items))


def _number(text: str | None, default: int) -> int:
    try:
        return int(text) if text is not None else default
    except ValueError:
        return default


Handler = Callable[[Call], Response]


@dataclass(frozen=True)
class Route:
    """One endpoint: method, pattern (also its log name), compiled regex and handler."""

    method: str
    pattern: str
    regex: re.Pattern[str]
    handler: Handler

    @property
    def endpoint(self) -> str:
        """The name :meth:`Simulator.request_counts` groups by, e.g. ``GET /v1/spaces``."""
        return f"{self.method} {self.pattern}"


class Router:
    """An ordered table of routes; ``.json``/``.xml`` suffixes are ignored when matching."""

    def __init__(self) -> None:
        self.routes: list[Route] = []

    def add(self, method: str, pattern: str) -> Callable[[Handler], Handler]:
        """Decorator registering a handler for ``method`` and ``pattern``."""

        def register(handler: Handler) -> Handler:
            def placeholder(match: re.Match[str]) -> str:
                name = match.group(1)
                return rf"(?P<{name}>\d+)" if name in DIGITS else rf"(?P<{name}>[^/]+)"

            regex = re.compile("^" + PLACEHOLDER.sub(placeholder, pattern) + "$")
            self.routes.append(Route(method, pattern, regex, handler))
            return handler

        return register

    def match(self, method: str, path: str) -> tuple[Route, dict[str, str]] | None:
        """The route and path parameters for a request, or None."""
        for suffix in (".json", ".xml"):
            if path.endswith(suffix):
                path = path[: -len(suffix)]
                break
        for route in self.routes:
            found = route.regex.match(path)
            if found is not None and route.method == method:
                return route, found.groupdict()
        return None
