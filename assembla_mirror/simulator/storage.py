"""File downloads: the bytes with ``Range`` support, redirects to a storage host, and that host.

``GET /v1/spaces/:space/documents/:id/download`` answers the document's bytes
(``200``, or ``206`` for ``Range: bytes=N-`` / ``bytes=N-M``, ``416`` when ``N``
is past the end). When the simulator has a storage URL
(``Simulator(storage_url=...)``) it answers ``302`` to
``{storage_url}/storage/{id}/{version}?signature=...`` instead, as Assembla hands
files to its storage provider. The simulator serves ``GET /storage/:id/:version``
itself, without credentials: a valid signature is all it asks for (``403``
otherwise), and only the document's current version exists there (an older one,
or a deleted document: ``404``). The server logs those requests with the names of
any Assembla credential headers they carried (:data:`CREDENTIAL_HEADERS`), so a
test can check that a client sent none to the storage host.
"""

from __future__ import annotations

import hmac
import re
import secrets
from dataclasses import dataclass, field
from hashlib import sha256
from html import escape
from urllib.parse import quote

from assembla_mirror.simulator import content
from assembla_mirror.simulator.entities_archive import Document
from assembla_mirror.simulator.exchange import Incoming, RequestHeaders
from assembla_mirror.simulator.routes import HTML, TEXT, Response, not_found
from assembla_mirror.simulator.state import WorldState

PREFIX = "/storage/"
ENDPOINT = "GET /storage/:id/:version"
PATH = re.compile(r"^/storage/(?P<id>[A-Za-z0-9_-]+)/(?P<version>\d+)$")
RANGE = re.compile(r"^bytes=(\d+)-(\d*)$")
#: Headers that carry Assembla credentials; none belongs in a request to the storage host.
CREDENTIAL_HEADERS = ("X-Api-Key", "X-Api-Secret", "Authorization")
ACCESS_DENIED = (
    b'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>AccessDenied</Code>'
    b"<Message>Request has expired or the signature does not match</Message></Error>\n"
)


@dataclass
class Storage:
    """Where downloads go: ``url`` None answers the bytes from the API itself."""

    url: str | None = None
    secret: bytes = field(default_factory=lambda: secrets.token_bytes(16), repr=False)

    def __post_init__(self) -> None:
        check_url(self.url)

    def signature(self, doc_id: str, version: int) -> str:
        """The signature a storage URL for this document version carries."""
        return hmac.new(self.secret, f"{doc_id}/{version}".encode(), sha256).hexdigest()[:40]

    def location(self, doc: Document) -> str:
        """The signed storage URL of ``doc``'s current version."""
        base = (self.url or "").rstrip("/")
        signature = self.signature(doc.id, doc.version)
        return f"{base}{PREFIX}{doc.id}/{doc.version}?signature={signature}"

    def redirect(self, doc: Document) -> Response:
        """The ``302`` to the storage host (with the short HTML body Rails sends)."""
        location = self.location(doc)
        link = f'<a href="{escape(location)}">redirected</a>'
        page = f"<html><body>You are being {link}.</body></html>"
        return Response(302, page.encode("utf-8"), HTML, [("Location", location)])


def check_url(url: str | None) -> None:
    """ValueError unless ``url`` is None or an ``http://``/``https://`` origin (no path: the
    storage host's paths start with ``/storage/``)."""
    if url is not None and not re.match(r"^https?://[^/?#]+/?$", url):
        raise ValueError(
            f"storage_url must be an http:// or https:// origin such as "
            f"https://files.example.test, not {url!r}"
        )


def credential_headers(headers: RequestHeaders) -> tuple[str, ...]:
    """The names of the Assembla credential headers a request carries."""
    return tuple(name for name in CREDENTIAL_HEADERS if headers.get(name) is not None)


def _disposition(filename: str) -> str:
    """``Content-Disposition`` with an ASCII fallback and the UTF-8 name (RFC 6266)."""
    fallback = filename.encode("ascii", "replace").decode("ascii").replace('"', "'")
    fallback = fallback.replace("\\", "_")
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"


def file_response(doc: Document, range_header: str | None) -> Response:
    """``doc``'s bytes: ``200`` whole, ``206`` for a satisfiable ``Range``, else ``416``.

    Only single ranges (``bytes=N-`` and ``bytes=N-M``) are understood; any other
    ``Range`` value is ignored, as RFC 9110 allows, and the whole file is sent.
    """
    size = doc.filesize
    headers = [("Accept-Ranges", "bytes"), ("Content-Disposition", _disposition(doc.filename))]
    found = RANGE.match(range_header.strip()) if range_header else None
    if found is not None and found[2] and int(found[2]) < int(found[1]):
        found = None  # an invalid range: ignored
    if found is None:
        return Response(200, doc.content(), doc.content_type, headers)
    start = int(found[1])
    if start >= size:
        return Response(416, b"", TEXT, [("Content-Range", f"bytes */{size}")])
    stop = min(int(found[2]) + 1, size) if found[2] else size
    body = b"".join(content.chunks(doc.id, doc.version, size, doc.content_type, start, stop))
    headers.append(("Content-Range", f"bytes {start}-{stop - 1}/{size}"))
    return Response(206, body, doc.content_type, headers)


def serve(state: WorldState, storage: Storage, request: Incoming) -> Response:
    """The storage host's answer to ``GET /storage/:id/:version?signature=...``."""
    found = PATH.match(request.path)
    if request.method != "GET" or found is None:
        return not_found()
    doc_id, version = found["id"], int(found["version"])
    given = (request.query.get("signature") or [""])[0]
    if not hmac.compare_digest(given, storage.signature(doc_id, version)):
        return Response(403, ACCESS_DENIED, "application/xml")
    located = state.document(doc_id)
    if located is None or located[1].version != version:
        return not_found()
    return file_response(located[1], request.headers.get("Range"))
