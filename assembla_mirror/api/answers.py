"""Reading Assembla's answers: body parsing, error details, and the run's request counters.

The client (:mod:`assembla_mirror.api.client`) reads each answer whole, within its
deadline and size limit, into an :class:`Answer`, and decides what a status
means; this module reads bodies. A body that cannot be what it should be (HTML
where JSON was due, JSON cut short, broken XML) raises :class:`RetryableFailure`,
so it is retried like a 5xx: such bodies come from overloaded proxies and
dropped connections far more often than from a real change of format.
"""

from __future__ import annotations

import json
import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import urljoin, urlsplit

import httpx

from assembla_mirror.errors import ResponseFormatError

D = TypeVar("D")


@dataclass(frozen=True)
class Answer:
    """One answer, read whole: status, headers, body (decompressed) and the URL asked."""

    status_code: int
    headers: httpx.Headers
    content: bytes
    url: str

    @classmethod
    def of(cls, response: httpx.Response) -> Answer:
        """An :class:`Answer` from an httpx response whose body was read."""
        return cls(response.status_code, response.headers, response.content, str(response.url))

    @property
    def text(self) -> str:
        """The body as text, in the charset the answer names (UTF-8 by default)."""
        charset = self.headers.get("Content-Type", "").partition("charset=")[2]
        try:
            return self.content.decode(charset.split(";")[0].strip() or "utf-8", "replace")
        except LookupError:  # a charset Python does not know
            return self.content.decode("utf-8", "replace")


@dataclass(frozen=True)
class RawResponse:
    """An answer as received, for ``mirror get``."""

    status: int
    content_type: str
    text: str


@dataclass(frozen=True)
class StatsSnapshot:
    """A consistent copy of :class:`RequestStats`."""

    requests: int
    retries: int
    throttled: int
    refreshes: int
    by_status: dict[int, int]
    failures: dict[str, int]


class RequestStats:
    """Counters of one run, updated from every worker thread.

    ``requests`` counts every HTTP request actually sent (retries and token
    refreshes included), ``retries`` the repeated ones, ``throttled`` the 429s.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.requests = 0
        self.retries = 0
        self.throttled = 0
        self.refreshes = 0
        self.by_status: Counter[int] = Counter()
        self.failures: Counter[str] = Counter()  # transport failures, by cause

    def add(self, counter: str, amount: int = 1) -> None:
        """Increase ``requests``, ``retries``, ``throttled`` or ``refreshes``."""
        with self._lock:
            setattr(self, counter, getattr(self, counter) + amount)

    def add_status(self, status: int) -> None:
        """Count one answer with ``status``."""
        with self._lock:
            self.by_status[status] += 1

    def add_failure(self, cause: str) -> None:
        """Count one request that got no answer."""
        with self._lock:
            self.failures[cause] += 1

    def snapshot(self) -> StatsSnapshot:
        """All counters, read at one instant."""
        with self._lock:
            return StatsSnapshot(
                self.requests,
                self.retries,
                self.throttled,
                self.refreshes,
                dict(self.by_status),
                dict(self.failures),
            )


class RetryableFailure(Exception):
    """One attempt failed in a way worth retrying; ``cause`` is safe to show (no secrets)."""

    def __init__(
        self,
        cause: str,
        *,
        status: int | None = None,
        retry_after: float | None = None,
        bad_body: bool = False,
    ) -> None:
        super().__init__(cause)
        self.cause = cause
        self.status = status
        self.retry_after = retry_after  # seconds, from a Retry-After header
        self.bad_body = bad_body  # an answer came, but its body was unusable


class Unauthorized(Exception):
    """A 401; ``code`` is the (redacted) OAuth error code of the body, if any."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


def reject_html(response: Answer, expected: str) -> None:
    """Raise :class:`RetryableFailure` for an HTML body (an error page from a proxy or 500)."""
    content_type = response.headers.get("Content-Type", "")
    if "html" in content_type.lower():
        raise RetryableFailure(
            f"HTML instead of {expected} (HTTP {response.status_code})",
            status=response.status_code,
            bad_body=True,
        )


def parse_json(content: bytes | str) -> Any:
    """``json.loads``; nesting too deep for the parser is a :class:`ResponseFormatError`."""
    try:
        return json.loads(content)
    except RecursionError:
        raise ResponseFormatError("the answer is nested too deeply to read") from None


def json_body(response: Answer) -> Any:
    """The JSON of a 2xx answer, ``None`` for 204."""
    if response.status_code == 204:
        return None
    reject_html(response, "JSON")
    try:
        return parse_json(response.content)
    except ValueError:
        status = response.status_code
        raise RetryableFailure(
            f"invalid JSON (HTTP {status})", status=status, bad_body=True
        ) from None


def decoded_body(decode: Callable[[bytes], D], expected: str = "JSON") -> Callable[[Answer], D]:
    """A body parser handing an answer's bytes to ``decode`` (``b""`` for a 204).

    ``decode`` (the caller's: see :mod:`assembla_mirror.pages.decode`) may run in a
    worker process; a ValueError from it means the body was not what it should
    be (cut short, garbled), which is retried.
    """

    def parse(response: Answer) -> D:
        if response.status_code == 204:
            return decode(b"")
        reject_html(response, expected)
        if not response.content.strip():  # cut to nothing: never taken for an empty list
            status = response.status_code
            raise RetryableFailure(f"an empty body (HTTP {status})", status=status, bad_body=True)
        try:
            return decode(response.content)
        except ValueError:
            status = response.status_code
            raise RetryableFailure(
                f"invalid {expected} (HTTP {status})", status=status, bad_body=True
            ) from None

    return parse


def object_body(response: Answer) -> tuple[dict[str, Any], str]:
    """A JSON object answer and its exact text (for ``raw_json``)."""
    reject_html(response, "JSON")
    text = response.content.decode("utf-8", "replace")
    try:
        value = parse_json(text)
    except ValueError:
        status = response.status_code
        raise RetryableFailure(
            f"invalid JSON (HTTP {status})", status=status, bad_body=True
        ) from None
    if not isinstance(value, dict):
        raise ResponseFormatError(f"expected a JSON object, got {type(value).__name__}")
    return value, text


def raw_body(response: Answer) -> RawResponse:
    """The answer as text."""
    return RawResponse(
        response.status_code, response.headers.get("Content-Type", ""), response.text
    )


def error_code(response: Answer) -> str:
    """The ``error`` of a JSON error body (``invalid_token``, ...), short; else ``""``."""
    try:
        body = json.loads(response.content)
    except (ValueError, RecursionError):
        return ""
    code = body.get("error") if isinstance(body, dict) else None
    return str(code)[:80] if code else ""


def redirect_target(response: Answer) -> str:
    """``host[:port]`` a 3xx points to (never its path or query, which may hold anything)."""
    location = response.headers.get("Location")
    if not location:
        return "an unnamed location"
    target = urlsplit(urljoin(response.url, location))
    host = target.hostname or "?"
    try:
        return f"{host}:{target.port}" if target.port else host
    except ValueError:  # an unparsable port
        return host


def is_incomplete(exc: httpx.RemoteProtocolError) -> bool:
    """Whether the connection closed in the middle of the body (rather than before the answer)."""
    message = str(exc).lower()
    return "incomplete" in message or "message body" in message
