"""Downloading one file's bytes to disk: streamed, resumable, bounded, redirected with care.

``GET /v1/spaces/:space/documents/:id/download`` answers the bytes, or a redirect
to a storage host (Assembla uses presigned S3 URLs). :meth:`Downloader.download`
writes them to a ``.part`` file as they come, hashing them on the way, so memory
stays flat whatever the file's size::

    the .part holds N bytes    ask with Range: bytes=N-
    206 from N                 append (the hash is first brought up to N from the disk)
    200                        the server ignored the range: start again from zero
    416 (bytes */N)            the .part is already whole; 416 of another size: start again
    301 302 303 307 308        follow, at most MAX_REDIRECTS times, only to https://, and
                               never with Assembla credentials (a separate plain client)

Nothing a server does can hang a run or fill the disk: every read must come
within the settings' read timeout, the whole attempt within a deadline that
grows with the file's size (:func:`time_budget`), and a body larger than the
file's declared size plus slack (:func:`size_limit`) is cut off. A dropped
connection, a timeout or a 5xx is retried (after a backoff) from where the
``.part`` stands; a refused redirect, an oversized body or a storage host's 4xx
(a broken presigned URL) fail the file at once with a :class:`DownloadError`.
Messages name the file and at most a host: a signed URL's query is never shown.
The body itself is written by :mod:`.partfile`.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import httpx

from assembla_mirror.api import network
from assembla_mirror.api.auth import USER_AGENT
from assembla_mirror.api.client import AssemblaClient, transport_cause
from assembla_mirror.api.pacing import backoff_delay
from assembla_mirror.api.partfile import Downloaded, DownloadError, TryAgain, receive

__all__ = ["DownloadError", "Downloaded", "Downloader", "size_limit", "time_budget"]

MAX_REDIRECTS = 5
REDIRECTS = frozenset({301, 302, 303, 307, 308})
#: The slowest average rate a download may keep before its attempt ends (it resumes
#: from there): 64 KiB/s, half a megabit, gives a 100 MB file 26 minutes.
MIN_RATE = 64 * 1024
#: Most bytes taken for a file whose size Assembla does not declare.
UNDECLARED_LIMIT = 4 * 1024**3
#: Storage hosts a run keeps connections to at once.
MAX_STORAGE_CLIENTS = 8


#: A query parameter of a signed storage link worth hiding (S3's X-Amz-Signature,
#: X-Amz-Credential, X-Amz-Security-Token, ...), up to its value.
SIGNED_PARAM = re.compile(
    r"([?&][^=&\s'\"]*(?:signature|credential|token|secret|key|auth)[^=&\s'\"]*=)[^&\s'\"]+",
    re.IGNORECASE,
)


class _RedactSignedLinks(logging.Filter):
    """Masks signed links in httpx's request log and httpcore's debug log, which shows
    each answer's headers (a redirect's ``Location`` is a storage link whose signature
    grants the file)."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = SIGNED_PARAM.sub(r"\1********", message)
        if redacted != message:
            record.msg, record.args = redacted, ()
        return True


for _name in ("httpx", "httpcore.http11", "httpcore.http2"):
    logging.getLogger(_name).addFilter(_RedactSignedLinks())


def size_limit(declared: int | None) -> int:
    """Most bytes taken for a file declared ``declared`` bytes long: a tenth more and a
    mebibyte of slack (a size recorded slightly off must not fail the file), or
    :data:`UNDECLARED_LIMIT` when undeclared."""
    if declared is None or declared < 0:
        return UNDECLARED_LIMIT
    return declared + declared // 10 + 1024 * 1024


def time_budget(total: float, remaining: int) -> float:
    """Seconds an attempt may take to bring ``remaining`` bytes: the settings' total
    for any request, plus the time they take at :data:`MIN_RATE`."""
    return total + max(0, remaining) / MIN_RATE


class Downloader:
    """Downloads files through ``client``; safe to share between worker threads.

    ``storage_transport`` replaces the network for storage hosts in tests;
    ``sleep`` replaces the wait between attempts.
    """

    def __init__(
        self,
        client: AssemblaClient,
        *,
        storage_transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.client = client
        self.settings = client.settings
        self._storage_transport = storage_transport
        self._sleep = sleep
        self._storage: dict[tuple[str, str, int | None], httpx.Client] = {}
        self._lock = threading.Lock()

    def __enter__(self) -> Downloader:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the connections to storage hosts."""
        with self._lock:
            clients, self._storage = list(self._storage.values()), {}
        for client in clients:
            client.close()

    def download(
        self, path: str, part: Path, *, label: str, declared: int | None = None
    ) -> Downloaded:
        """Bring the file at ``path`` (an API path) whole into ``part``, resuming what
        ``part`` holds; ``label`` names the file in errors, ``declared`` is its size.

        Raises :class:`DownloadError` (or another :class:`ApiError`) when the file
        cannot be had; ``part`` then keeps what came, for the next attempt.
        OSError (a full disk) is the caller's.
        """
        limit = size_limit(declared)
        failures = 0
        while True:
            offset = part.stat().st_size if part.exists() else 0
            budget = time_budget(self.settings.timeouts.total, (declared or limit) - offset)
            try:
                return self._attempt(path, part, offset, label, limit, budget)
            except TryAgain as failure:
                cause, wait = failure.cause, failure.wait
            failures += 1
            if failures >= self.settings.max_attempts:
                raise DownloadError(f"{label}: not downloaded after {failures} attempts: {cause}")
            if wait:
                base, cap = self.settings.backoff_base, self.settings.backoff_cap
                self._sleep(backoff_delay(failures, base, cap))

    # -- one attempt ----------------------------------------------------------------------

    def _attempt(
        self, path: str, part: Path, offset: int, label: str, limit: int, budget: float
    ) -> Downloaded:
        """One try: the API's answer, then at most :data:`MAX_REDIRECTS` storage hops.

        httpx's exceptions hold the request (credentials included): only a description
        of one is kept, and raised outside the except block so no chain holds it.
        """
        started = time.monotonic()
        end = started + budget
        headers = {"Accept": "*/*", "Accept-Encoding": "identity"}
        if offset:
            headers["Range"] = f"bytes={offset}-"
        cause = ""
        try:
            with self.client.open_stream(
                path, headers=headers, seconds=_left(end), accept=(416,)
            ) as response:
                if response.status_code not in REDIRECTS:
                    return receive(response, part, offset, label, limit)
                location = _next_hop(str(response.url), response, label)
        except httpx.RequestError as exc:
            cause = _cause(exc, started, end)
        if cause:
            raise TryAgain(cause)
        for _hop in range(MAX_REDIRECTS):
            try:
                with self._storage_get(location, headers, end) as response:
                    if response.status_code not in REDIRECTS:
                        return _storage_answer(response, part, offset, label, limit)
                    location = _next_hop(location, response, label)
            except httpx.RequestError as exc:
                cause = _cause(exc, started, end)
            if cause:
                raise TryAgain(cause)
        raise DownloadError(f"{label}: more than {MAX_REDIRECTS} redirects")

    @contextmanager
    def _storage_get(
        self, url: str, headers: dict[str, str], end: float
    ) -> Iterator[httpx.Response]:
        """``GET url`` on a storage host: no Assembla credentials, within the deadline."""
        with network.deadline(_left(end)):
            client = self._storage_client(url)
            request = client.build_request("GET", url, headers=headers)
            response = client.send(request, stream=True)
            try:
                yield response
            finally:
                response.close()

    def _storage_client(self, url: str) -> httpx.Client:
        parts = urlsplit(url)
        key = (parts.scheme, parts.hostname or "", parts.port)
        with self._lock:
            client = self._storage.get(key)
            if client is None:
                if len(self._storage) >= MAX_STORAGE_CLIENTS:
                    self._storage.pop(next(iter(self._storage))).close()
                client = self._storage[key] = self._new_storage_client(url)
            return client

    def _new_storage_client(self, url: str) -> httpx.Client:
        timeouts = self.settings.timeouts
        transport = self._storage_transport
        if transport is None:
            # Deadlines on every socket, and the environment's proxy and CA bundle.
            transport, _proxy = network.transport_for(url, httpx.Limits(max_connections=20))
        return httpx.Client(
            transport=transport,
            timeout=httpx.Timeout(
                connect=timeouts.connect,
                read=timeouts.read,
                write=timeouts.write,
                pool=timeouts.pool,
            ),
            follow_redirects=False,
            headers={"User-Agent": USER_AGENT},
        )


def _left(end: float) -> float:
    """Seconds until ``end`` (at least a moment: the deadline then ends the request)."""
    return max(end - time.monotonic(), 0.001)


def _cause(exc: httpx.RequestError, started: float, end: float) -> str:
    """What a failed exchange reads as (never the request or its URL)."""
    if "CERTIFICATE_VERIFY_FAILED" in str(exc):
        return "the storage host's TLS certificate is not trusted"
    budget = round(end - started, 1)
    return transport_cause(exc, time.monotonic() - started, budget)[0]


def _next_hop(current: str, response: httpx.Response, label: str) -> str:
    """Where a redirect points, if it may be followed: https only, no login in it."""
    location = str(response.headers.get("Location", ""))
    if not location:
        raise DownloadError(f"{label}: a redirect (HTTP {response.status_code}) without a Location")
    try:
        target = urlsplit(urljoin(current, location.strip()))
        host = target.hostname or "?"
        target.port  # noqa: B018 (raises ValueError for a port that is not a number)
        url = target.geturl()
        httpx.URL(url)
    except (ValueError, httpx.InvalidURL):
        url = ""
    if not url:
        raise DownloadError(f"{label}: the download redirects to an unusable address")
    if target.scheme != "https":
        raise DownloadError(
            f"{label}: the download redirects to {target.scheme or '?'}://{host}, not https; "
            "only https redirects are followed"
        )
    if target.username or target.password:
        raise DownloadError(f"{label}: the download redirects to {host} with a login in the URL")
    return url


def _storage_answer(
    response: httpx.Response, part: Path, offset: int, label: str, limit: int
) -> Downloaded:
    """A storage host's answer: the bytes, or why not (its host, never its URL)."""
    status = response.status_code
    if 200 <= status < 300 or status == 416:
        return receive(response, part, offset, label, limit)
    if status == 429 or status >= 500:
        raise TryAgain(f"HTTP {status} from the storage host")
    host = response.url.host
    raise DownloadError(
        f"{label}: the storage host {host} refused the download (HTTP {status}); "
        "its link may have expired or be broken"
    )
