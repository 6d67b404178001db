"""The Assembla API client every request of a run goes through.

One :class:`AssemblaClient` per run holds one ``httpx.Client`` per host (the v1
API and the legacy XML host), one shared :class:`~assembla_mirror.api.pacing.RateLimiter`
and the run's :class:`RequestStats`; it is safe to use from many worker threads.

Every answer is mapped to one action (:data:`STATUS_ACTIONS`, then :func:`action_for`)::

    status            action
    200, other 2xx    data: the parsed body; HTML or unparsable JSON/XML is retried like a
                      5xx, and reported as ResponseFormatError if it persists
    204               empty: None, or [] for a list
    3xx               ApiError naming the target host; redirects are never followed, so
                      credentials never travel to another host
    401               a bearer token that can be refreshed (refresh token + OAuth client):
                      ONE refresh for all threads, written back to the credentials file it
                      came from, then the request again; otherwise AuthError naming the
                      variables to set or `mirror auth`
    403               ForbiddenError at once, no retry
    404               ToolNotFoundError for "Tool not found" (the space lacks the tool),
                      else NotFoundError
    429               every worker pauses (Retry-After, else backoff), then retry
    500 502 503 504   retry after capped exponential backoff with jitter, or after Retry-After
                      (seconds or HTTP-date; it then pauses every worker)
    timeouts, connection errors, dropped connections, truncated bodies: retried like a 5xx
    any other status  ApiError with the status, no retry

Every answer is read whole within the settings' deadline (``timeouts.total``, for
headers and body together: a server trickling bytes cannot hold a run) and up to
``max_response_bytes`` (a larger one fails its request at once, naming the path
and the limit). The ``Date`` header of every answer sets :attr:`server_clock`,
the sync's notion of "now" for cursors.

Downloads are the one exception to reading answers whole: :meth:`AssemblaClient.open_stream`
goes through the same credentials, pacing, retries and status table, but leaves a 2xx
or 3xx body to its caller to stream to disk (:mod:`assembla_mirror.api.downloads`).

After ``settings.max_attempts`` attempts one ApiError (or ResponseFormatError)
names the request and the last cause: ``GET /v1/spaces/abc/tickets failed after
6 attempts: HTTP 503``. Messages, logs and exception chains never hold a key,
secret, token, password or Authorization header: messages show the path
without its query, httpx's request log is sanitized, and httpx exceptions
(which carry the request and its headers) are never chained.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Collection, Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from enum import Enum
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import parse_qsl, urlsplit

import httpx

from assembla_mirror.api import auth as oauth
from assembla_mirror.api import network, paging
from assembla_mirror.api.answers import (
    Answer,
    RawResponse,
    RequestStats,
    RetryableFailure,
    Unauthorized,
    decoded_body,
    error_code,
    is_incomplete,
    json_body,
    object_body,
    raw_body,
    redirect_target,
)
from assembla_mirror.api.credentials import (
    Credentials,
    install_log_filter,
    load_credentials,
    sanitize_url,
)
from assembla_mirror.api.pacing import Clock, RateLimiter, Sleep, backoff_delay, parse_retry_after
from assembla_mirror.api.paging import Listing
from assembla_mirror.api.settings import ClientSettings
from assembla_mirror.errors import (
    ApiError,
    AuthError,
    ConfigError,
    ForbiddenError,
    NotFoundError,
    ResponseFormatError,
    ToolNotFoundError,
)

__all__ = ["STATUS_ACTIONS", "AssemblaClient", "RawResponse", "RequestStats"]

log = logging.getLogger(__name__)
install_log_filter("httpx")

T = TypeVar("T")
L = TypeVar("L", bound=Listing)
Params = Mapping[str, Any]

#: Longest Retry-After honoured; a larger value is cut to this many seconds. Assembla's
#: windows are a minute long, and five retries of a longer wait would stall a cron run.
MAX_RETRY_AFTER = 90.0


class ResponseTooLarge(Exception):
    """An answer was bigger than ``max_response_bytes`` (raised while reading it)."""


class ServerClock:
    """The server's "now", from the ``Date`` header of its answers.

    Cursors come from the server's timestamps, so they are bounded by the
    server's clock, not by this machine's (which may be wrong by months). Until
    an answer carried a usable ``Date``, and for one more than a year away from
    the local clock (a broken header rather than a wrong clock), the local clock
    stands in.
    """

    def __init__(self, wall: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self._wall = wall
        self._offset: timedelta | None = None
        self._lock = threading.Lock()

    def observe(self, header: str | None) -> None:
        """Note the ``Date`` of an answer."""
        if not header:
            return
        try:
            when = parsedate_to_datetime(header)
        except (TypeError, ValueError, IndexError):
            return
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        offset = when - self._wall()
        if abs(offset) <= timedelta(days=366):
            with self._lock:
                self._offset = offset

    @property
    def known(self) -> bool:
        """Whether an answer told the server's time."""
        return self._offset is not None

    def now(self) -> datetime:
        """The server's current time (aware UTC, whole seconds)."""
        with self._lock:
            offset = self._offset or timedelta(0)
        return (self._wall() + offset).replace(microsecond=0)


class Action(Enum):
    """What the client does with an answer (see the module docstring)."""

    DATA = "data"
    EMPTY = "empty"
    REDIRECT = "redirect"
    UNAUTHORIZED = "unauthorized"
    FORBIDDEN = "forbidden"
    NOT_FOUND = "not found"
    THROTTLED = "throttled"
    RETRY = "retry"
    FAIL = "fail"


STATUS_ACTIONS: dict[int, Action] = {
    200: Action.DATA,
    204: Action.EMPTY,
    401: Action.UNAUTHORIZED,
    403: Action.FORBIDDEN,
    404: Action.NOT_FOUND,
    429: Action.THROTTLED,
    500: Action.RETRY,
    502: Action.RETRY,
    503: Action.RETRY,
    504: Action.RETRY,
}


def action_for(status: int) -> Action:
    """The table's action for ``status``, else by class: 2xx data, 3xx redirect, else fail."""
    if status in STATUS_ACTIONS:
        return STATUS_ACTIONS[status]
    if 200 <= status < 300:
        return Action.DATA
    return Action.REDIRECT if 300 <= status < 400 else Action.FAIL


class AssemblaClient:
    """Authenticated, paced, retrying access to Assembla (see the module docstring).

    ``credentials`` default to :func:`~assembla_mirror.api.credentials.load_credentials`.
    A refreshed access token is written to ``credentials_path``, or else to the
    file the token was loaded from. ``transport``/``legacy_transport`` replace
    the network in tests; ``sleep``/``clock`` replace time (inject both together).
    """

    def __init__(
        self,
        settings: ClientSettings,
        credentials: Credentials | None = None,
        *,
        transport: httpx.BaseTransport | None = None,
        legacy_transport: httpx.BaseTransport | None = None,
        sleep: Sleep = time.sleep,
        clock: Clock = time.monotonic,
        credentials_path: Path | None = None,
    ) -> None:
        self.settings = settings
        credentials = load_credentials() if credentials is None else credentials
        self.auth = oauth.Authenticator(credentials, persist_path=credentials_path)
        self._sleep, self._clock = sleep, clock
        self.limiter = RateLimiter.from_setting(settings.rate_limit, clock=clock, sleep=sleep)
        self.stats = RequestStats()
        self.server_clock = ServerClock()
        self._proxies: dict[int, network.Proxy | None] = {}
        self._api = self._http(settings.api_url, "application/json", transport)
        self._legacy = self._http(settings.legacy_url, "application/xml", legacy_transport)

    def _http(self, base: str, accept: str, transport: httpx.BaseTransport | None) -> httpx.Client:
        # httpx.Client is thread-safe; its pool is sized for the worker threads.
        limits = httpx.Limits(max_connections=max(10, 2 * self.settings.concurrency))
        proxy = None
        if transport is None:
            transport, proxy = network.transport_for(base, limits)
        timeouts = self.settings.timeouts
        client = httpx.Client(
            base_url=base,
            transport=transport,
            timeout=httpx.Timeout(
                connect=timeouts.connect,
                read=timeouts.read,
                write=timeouts.write,
                pool=timeouts.pool,
            ),
            follow_redirects=False,
            headers={"User-Agent": oauth.USER_AGENT, "Accept": accept},
        )
        self._proxies[id(client)] = proxy
        return client

    def __enter__(self) -> AssemblaClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        """Close both connection pools."""
        self._api.close()
        self._legacy.close()

    @property
    def credentials(self) -> Credentials:
        """The credentials in use, with any access token refreshed during the run."""
        return self.auth.credentials

    # -- what the sync engine calls ----------------------------------------------

    def get(self, path: str, params: Params | None = None) -> Any:
        """The parsed JSON at ``path`` (``None`` for 204)."""
        return self._call("GET", path, params, route="api", parse=json_body)

    def get_object(self, path: str, params: Params | None = None) -> tuple[dict[str, Any], str]:
        """One JSON object (``GET /v1/spaces/:id/tickets/:number``) and its text as sent."""
        return self._get_parsed(path, params, object_body)

    def read(
        self,
        path: str,
        params: Params | None,
        decode: Callable[[bytes], T],
        *,
        legacy: bool = False,
    ) -> T:
        """One answer at ``path``, its bytes turned into what ``decode`` makes of them
        (``b""`` for a 204); a ValueError from ``decode`` is a bad body, retried.
        ``legacy`` asks the legacy XML host."""
        if legacy:
            parse = decoded_body(decode, "XML")
            return self._call("GET", path, params, route="legacy", parse=parse)
        return self._get_parsed(path, params, decoded_body(decode))

    def iter_decoded(
        self,
        path: str,
        params: Params | None,
        decode: Callable[[bytes], L],
        *,
        per_page: int = paging.DEFAULT_PER_PAGE,
        start_page: int = 1,
    ) -> Iterator[tuple[int, L | None, bool]]:
        """The pages of a list from ``start_page`` on (see :mod:`assembla_mirror.api.paging`),
        each answer's bytes turned into a page by ``decode`` (as for :meth:`read`).

        Yields ``(number, decoded, last)``; ``decoded`` is None on a final page
        that brought nothing new (see :func:`paging.walk`).
        """
        base = dict(params or {})
        parse = decoded_body(decode)

        def fetch(number: int, size: int) -> L:
            return self._get_parsed(path, {**base, "page": number, "per_page": size}, parse)

        label = "GET " + normalize_path(path)[0]
        return paging.walk(fetch, per_page=per_page, start_page=start_page, label=label)

    def whoami(self) -> dict[str, Any]:
        """The authenticated user (``GET /v1/user``)."""
        me = self.get("/v1/user")
        if not isinstance(me, dict):
            raise ResponseFormatError(
                "GET /v1/user: expected a JSON object", method="GET", path="/v1/user", status=200
            )
        return me

    def raw_get(
        self, path: str, params: Params | None = None, *, legacy: bool = False
    ) -> RawResponse:
        """The answer at ``path`` as text, for debugging; failures raise as for :meth:`get`."""
        return self._call("GET", path, params, route="legacy" if legacy else "api", parse=raw_body)

    @contextmanager
    def open_stream(
        self,
        path: str,
        *,
        headers: Mapping[str, str] | None = None,
        seconds: float | None = None,
        accept: Collection[int] = (),
    ) -> Iterator[httpx.Response]:
        """``GET path`` on the v1 API, its body left unread for the caller to stream (a
        download must never be held in memory).

        Credentials, pacing, retries and the status table are those of :meth:`get`,
        except that a 2xx or 3xx answer (or one whose status is in ``accept``) is
        yielded as it arrives (a redirect is not followed: where credentials may go is
        the caller's choice, see :mod:`assembla_mirror.api.downloads`). The block holds
        the request's rate limit slot, and the whole exchange must end within
        ``seconds`` (default: the settings' ``total``). Failures while the caller reads
        the body are the caller's.
        """
        shown, query = normalize_path(path)
        total = self.settings.timeouts.total if seconds is None else seconds
        failures, refreshed = 0, False
        while True:
            auth, token = self.auth.for_route("api", self._request_grant)
            request = self._api.build_request("GET", shown, params=tuple(query), headers=headers)
            failure: RetryableFailure | None = None
            answer: Answer | None = None
            with self.limiter.slot(), network.deadline(total):
                self.stats.add("requests")
                started = time.monotonic()
                cause, retryable = "", True
                try:
                    response = self._api.send(request, auth=auth, stream=True)
                except httpx.RequestError as exc:
                    cause, retryable = transport_cause(exc, time.monotonic() - started, total)
                # Raised outside the except block: no exception chain may hold the request.
                if cause and not retryable:
                    raise ApiError(f"GET {shown} failed: {cause}", method="GET", path=shown)
                if cause:
                    self.stats.add_failure(cause)
                    failure = RetryableFailure(cause)
                else:
                    self.stats.add_status(response.status_code)
                    self.server_clock.observe(response.headers.get("Date"))
                    if 200 <= response.status_code < 400 or response.status_code in accept:
                        try:
                            yield response
                        finally:
                            response.close()
                        return
                    answer = _error_answer(response, str(request.url))
            try:
                if failure is not None:
                    raise failure
                assert answer is not None
                self._interpret(answer, "GET", shown, "api", parse=_unexpected)
            except RetryableFailure as retry:
                failures += 1
                if failures >= self.settings.max_attempts:
                    raise _exhausted("GET", shown, failures, retry) from None
                self._wait_before_retry(retry, failures)
            except Unauthorized as rejected:
                if refreshed or not self.auth.refreshable("api"):
                    raise AuthError(self.auth.rejected("api", rejected.code, refreshed)) from None
                self.auth.refresh(token, self._request_grant)
                refreshed = True
            self.stats.add("retries")

    # -- one call: attempts, the status table, retries -----------------------------

    def _get_parsed(self, path: str, params: Params | None, parse: Callable[[Answer], T]) -> T:
        """``GET path`` read by ``parse``; a body it refuses is reported with the path."""
        try:
            return self._call("GET", path, params, route="api", parse=parse)
        except ResponseFormatError as exc:
            if exc.path:
                raise
            shown = normalize_path(path)[0]
            raise ResponseFormatError(
                f"GET {shown}: {exc}", method="GET", path=shown, status=200
            ) from None

    def _call(
        self,
        method: str,
        path: str,
        params: Params | None,
        *,
        route: oauth.Route,
        parse: Callable[[Answer], T],
    ) -> T:
        path, query = normalize_path(path, versioned=route == "api")
        query += query_pairs(params)
        http = self._legacy if route == "legacy" else self._api
        failures, refreshed = 0, False
        while True:
            auth, token = self.auth.for_route(route, self._request_grant)
            try:
                response = self._exchange(http, method, path, query, auth)
                return self._interpret(response, method, path, route, parse)
            except RetryableFailure as failure:
                failures += 1
                if failures >= self.settings.max_attempts:
                    raise _exhausted(method, path, failures, failure) from None
                self._wait_before_retry(failure, failures)
            except Unauthorized as failure:
                if refreshed or not self.auth.refreshable(route):
                    raise AuthError(self.auth.rejected(route, failure.code, refreshed)) from None
                self.auth.refresh(token, self._request_grant)  # once: a second 401 is final
                refreshed = True
            self.stats.add("retries")

    def _request_grant(self, refresh_token: str) -> oauth.TokenGrant:
        """POST the refresh grant through the same pacing and retries as every request."""
        self.stats.add("refreshes")
        return self._call(
            "POST",
            oauth.TOKEN_PATH,
            oauth.refresh_params(refresh_token),
            route="token",
            parse=lambda response: oauth.parse_token_response(response, grant="refresh_token"),
        )

    def _exchange(
        self,
        http: httpx.Client,
        method: str,
        path: str,
        query: list[tuple[str, str]],
        auth: httpx.Auth,
    ) -> Answer:
        """Send once inside a limiter slot that lasts until the whole answer is read."""
        request = http.build_request(method, path, params=tuple(query))
        # httpx exceptions hold the request and its headers: keep only a description,
        # and raise outside the except blocks so that no exception chain holds them.
        cause, retryable = "", True
        total = self.settings.timeouts.total
        with self.limiter.slot():
            self.stats.add("requests")
            started = time.monotonic()
            try:
                with network.deadline(total):
                    answer = self._receive(http, request, auth)
            except httpx.RequestError as exc:
                cause, retryable = transport_cause(exc, time.monotonic() - started, total)
            except ResponseTooLarge:
                limit = self.settings.max_response_bytes / 1024 / 1024
                cause, retryable = (
                    (
                        f"the answer is larger than {limit:g} MB (the limit; raise it with "
                        "ASSEMBLA_MAX_RESPONSE_MB)"
                    ),
                    False,
                )
        proxy = self._proxies.get(id(http))
        if cause and proxy is not None and ("connection" in cause or "ProxyError" in cause):
            cause += f" through the {proxy}"
        if cause and not retryable:
            raise ApiError(f"{method} {path} failed: {cause}", method=method, path=path)
        if cause:
            self.stats.add_failure(cause)
            raise RetryableFailure(cause)
        self.stats.add_status(answer.status_code)
        self.server_clock.observe(answer.headers.get("Date"))
        log.debug("%s %s -> %d", method, path, answer.status_code)
        return answer

    def _receive(self, http: httpx.Client, request: httpx.Request, auth: httpx.Auth) -> Answer:
        """The answer to ``request``, read whole (decompressed) but never past the size limit."""
        limit = self.settings.max_response_bytes
        response = http.send(request, auth=auth, stream=True)
        try:
            declared = response.headers.get("Content-Length", "")
            if declared.isdigit() and int(declared) > limit:
                raise ResponseTooLarge
            body, size = [], 0
            for chunk in response.iter_bytes():
                size += len(chunk)
                if size > limit:
                    raise ResponseTooLarge
                body.append(chunk)
            return Answer(response.status_code, response.headers, b"".join(body), str(request.url))
        finally:
            response.close()

    def _interpret(
        self,
        response: Answer,
        method: str,
        path: str,
        route: oauth.Route,
        parse: Callable[[Answer], T],
    ) -> T:
        status, label = response.status_code, f"{method} {path}"
        action = action_for(status)
        if action in (Action.DATA, Action.EMPTY) or (route == "token" and status in (400, 401)):
            return parse(response)  # the token endpoint's 400/401 carry an OAuth error to parse
        if action in (Action.THROTTLED, Action.RETRY):
            if action is Action.THROTTLED:
                self.stats.add("throttled")
            retry_after = parse_retry_after(response.headers.get("Retry-After"))
            raise RetryableFailure(f"HTTP {status}", status=status, retry_after=retry_after)
        if action is Action.UNAUTHORIZED:
            raise Unauthorized(self.auth.redact(error_code(response)))
        if action is Action.FORBIDDEN:
            raise ForbiddenError(f"{label}: forbidden (HTTP 403); these credentials may not see it")
        if action is Action.NOT_FOUND:
            error = ToolNotFoundError if "Tool not found" in response.text else NotFoundError
            what = (
                "the space does not have this tool" if error is ToolNotFoundError else "not found"
            )
            raise error(f"{label}: {what} (HTTP 404)", method=method, path=path, status=status)
        if action is Action.REDIRECT:
            message = (
                f"{label}: the server redirected to {redirect_target(response)}; redirects "
                "are not followed, so credentials never go to another host"
            )
        else:
            code = self.auth.redact(error_code(response))
            message = f"{label} failed: HTTP {status}{f' ({code})' if code else ''}"
        raise ApiError(message, method=method, path=path, status=status)

    def _wait_before_retry(self, failure: RetryableFailure, failures: int) -> None:
        if failure.retry_after is not None:
            # The server said when: hold back every worker, not just this one.
            self.limiter.pause_until(self._clock() + min(failure.retry_after, MAX_RETRY_AFTER))
            return
        delay = backoff_delay(failures, self.settings.backoff_base, self.settings.backoff_cap)
        if failure.status == 429:
            self.limiter.pause_until(self._clock() + delay)
        else:
            self._sleep(delay)


# -- helpers: paths, parameters, bodies ---------------------------------------------


#: Most bytes of an error answer :meth:`AssemblaClient.open_stream` reads (for its code).
MAX_ERROR_BODY = 64 * 1024


def transport_cause(exc: httpx.RequestError, elapsed: float, total: float) -> tuple[str, bool]:
    """What a request that got no (complete) answer reads as, and whether to retry it.

    Only a description: httpx exceptions hold the request and its headers, so they
    are never shown or chained.
    """
    if isinstance(exc, httpx.TimeoutException):
        if elapsed >= total:
            return f"no complete answer within {total:g} s (a stalled or too slow server)", True
        return "timed out", True
    if isinstance(exc, httpx.RemoteProtocolError):
        return ("truncated response body" if is_incomplete(exc) else "connection dropped"), True
    if isinstance(exc, httpx.DecodingError):
        return "a body that does not decompress", True
    if isinstance(exc, httpx.NetworkError):
        return "connection error", True
    return type(exc).__name__, False


def _error_answer(response: httpx.Response, url: str) -> Answer:
    """An error answer of a streamed request, its body read up to :data:`MAX_ERROR_BODY`
    (enough for an error code; a body cut short only loses its code), then closed."""
    body = bytearray()
    try:
        for chunk in response.iter_bytes():
            body += chunk[: MAX_ERROR_BODY - len(body)]
            if len(body) >= MAX_ERROR_BODY:
                break
    except httpx.HTTPError:
        pass  # the status is what matters
    finally:
        response.close()
    return Answer(response.status_code, response.headers, bytes(body), url)


def _unexpected(answer: Answer) -> None:
    """The parser :meth:`AssemblaClient.open_stream` never reaches (it yields 2xx and 3xx)."""
    raise AssertionError(f"unexpected HTTP {answer.status_code}")  # pragma: no cover


def normalize_path(path: str, *, versioned: bool = True) -> tuple[str, list[tuple[str, str]]]:
    """``spaces``, ``/spaces``, ``v1/spaces`` -> ``/v1/spaces`` (a ``.json`` stays), plus any
    query given in ``path``. ``versioned=False`` (legacy host, token endpoint) adds no ``/v1``.
    Full URLs are refused: credentials only ever go to the configured hosts."""
    text = path.strip()
    if "://" in text:
        raise ConfigError(
            f"give a path such as /v1/spaces, not a URL ({sanitize_url(text)}): credentials "
            "only ever go to the configured API host"
        )
    parts = urlsplit(text)
    clean = "/" + parts.path.lstrip("/")
    if versioned and clean != "/v1" and not clean.startswith("/v1/"):
        clean = "/v1" + (clean if clean != "/" else "")
    return clean, parse_qsl(parts.query, keep_blank_values=True)


def query_pairs(params: Params | None) -> list[tuple[str, str]]:
    """Query pairs for ``params``; a list value repeats its key (``users[]=a&users[]=b``),
    ``None`` values are left out, booleans become ``true``/``false``."""
    pairs: list[tuple[str, str]] = []
    for key, value in (params or {}).items():
        values = value if isinstance(value, list | tuple | set | frozenset) else [value]
        for item in values:
            if item is not None:
                pairs.append((key, str(item).lower() if isinstance(item, bool) else str(item)))
    return pairs


def _exhausted(method: str, path: str, attempts: int, failure: RetryableFailure) -> ApiError:
    message = f"{method} {path} failed after {attempts} attempts: {failure.cause}"
    error = ResponseFormatError if failure.bad_body else ApiError
    return error(message, method=method, path=path, status=failure.status)
