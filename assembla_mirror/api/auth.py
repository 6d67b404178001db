"""How requests authenticate: the ``httpx.Auth`` classes, and Assembla's OAuth2 PIN flow.

Auth classes, all in this one place::

    ApiKeyAuth(key, secret)    v1 API, personal key pair: X-Api-Key + X-Api-Secret headers
    BearerAuth(token)          v1 API, OAuth: Authorization: Bearer <token>
    basic_auth(user, password) legacy XML host (login + password), and the token
                               endpoint (OAuth client id + secret)

The flow (API contract, "Transport")::

    user opens   {api}/authorization?client_id=ID&response_type=pin_code   and copies a PIN
    POST         {api}/token?grant_type=pin_code&pin_code=PIN        (client id + secret, Basic)
      -> {"access_token", "token_type": "bearer", "expires_in": 900, "refresh_token"}
    POST         {api}/token?grant_type=refresh_token&refresh_token=R (same Basic auth)
      -> a new "access_token" and "expires_in" (no new refresh token)
    a bad PIN or refresh token: 401 {"error": "invalid_grant", ...}

The grant parameters travel in the query string, so every URL built here is
secret-bearing: nothing in this module logs or reports one, and errors carry
only the OAuth error code.

:func:`exchange_pin` and :func:`refresh_access_token` make one standalone
request (for ``mirror auth``). During a run, :class:`Authenticator` picks each
request's auth and refreshes an expired token once for all worker threads,
sending the refresh through the API client's own paced, retrying transport.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Generator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlencode

import httpx

from assembla_mirror import __version__
from assembla_mirror.api.answers import Answer
from assembla_mirror.api.credentials import ENV_VARS, Credentials, redact, update_credentials_file
from assembla_mirror.errors import ApiError, AuthError, MirrorError

TOKEN_PATH = "/token"  # noqa: S105 (a path, not a password)
USER_AGENT = f"assembla-mirror/{__version__}"

log = logging.getLogger(__name__)

#: Where a request goes: the v1 API, the legacy XML host, or the OAuth token endpoint.
Route = Literal["api", "legacy", "token"]

NO_CREDENTIALS = (
    "no Assembla credentials: set ASSEMBLA_API_KEY and ASSEMBLA_API_SECRET "
    "(or ASSEMBLA_ACCESS_TOKEN), or run `mirror auth`"
)
NO_LEGACY_LOGIN = (
    "time logs live on Assembla's legacy host, which needs ASSEMBLA_USERNAME and "
    "ASSEMBLA_PASSWORD: set them, or run `mirror auth --legacy-login`"
)

REFRESH_REJECTED = (
    "Assembla rejected the OAuth refresh token ({code}): the refresh token is no longer "
    "valid: run `mirror auth` again (with --pin)"
)
PIN_REJECTED = (
    "Assembla rejected the PIN ({code}): it may be mistyped, expired or already used; "
    "get a new one and run `mirror auth --pin` again"
)
CLIENT_REJECTED = (
    "Assembla rejected the OAuth client ({code}): check ASSEMBLA_CLIENT_ID and "
    "ASSEMBLA_CLIENT_SECRET"
)


class ApiKeyAuth(httpx.Auth):
    """Personal API key pair: ``X-Api-Key`` and ``X-Api-Secret`` headers."""

    def __init__(self, key: str, secret: str) -> None:
        self._key, self._secret = key, secret

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers["X-Api-Key"] = self._key
        request.headers["X-Api-Secret"] = self._secret
        yield request

    def __repr__(self) -> str:
        return "ApiKeyAuth(********)"


class BearerAuth(httpx.Auth):
    """An OAuth access token: ``Authorization: Bearer <token>``.

    One instance per request, so the caller knows which token a 401 answered.
    """

    def __init__(self, token: str) -> None:
        self.token = token

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers["Authorization"] = f"Bearer {self.token}"
        yield request

    def __repr__(self) -> str:
        return "BearerAuth(********)"


def basic_auth(user: str, password: str) -> httpx.Auth:
    """HTTP Basic: the legacy host's login, or the OAuth client at the token endpoint."""
    return httpx.BasicAuth(user, password)


@dataclass(frozen=True)
class TokenGrant:
    """What the token endpoint granted. ``refresh_token`` is ``None`` on a refresh."""

    access_token: str
    refresh_token: str | None = None
    expires_in: int | None = None
    token_type: str = "bearer"  # noqa: S105 (the OAuth token type, not a secret)

    def __repr__(self) -> str:
        refresh = "'********'" if self.refresh_token else "None"
        return (
            f"TokenGrant(access_token='********', refresh_token={refresh}, "
            f"expires_in={self.expires_in!r}, token_type={self.token_type!r})"
        )

    __str__ = __repr__


def authorization_url(api_url: str, client_id: str) -> str:
    """The page where the user approves the client and is shown a PIN."""
    query = urlencode({"client_id": client_id, "response_type": "pin_code"})
    return f"{api_url.rstrip('/')}/authorization?{query}"


def pin_params(pin: str) -> dict[str, str]:
    """Query parameters exchanging a PIN for tokens."""
    return {"grant_type": "pin_code", "pin_code": pin.strip()}


def refresh_params(refresh_token: str) -> dict[str, str]:
    """Query parameters trading a refresh token for a new access token."""
    return {"grant_type": "refresh_token", "refresh_token": refresh_token}


def parse_token_response(response: Answer, *, grant: str) -> TokenGrant:
    """The grant in a token endpoint answer.

    ``grant`` is ``"pin_code"`` or ``"refresh_token"`` and picks the message of
    an ``invalid_grant``. Raises :class:`AuthError` for a rejected grant or
    client, :class:`ApiError` for any other failure.
    """
    body = _json_object(response)
    if response.status_code in (400, 401):
        code = str(body.get("error") or f"HTTP {response.status_code}")
        if code == "invalid_grant":
            template = REFRESH_REJECTED if grant == "refresh_token" else PIN_REJECTED
            raise AuthError(template.format(code=code))
        raise AuthError(CLIENT_REJECTED.format(code=code))
    if response.status_code != 200:
        raise ApiError(
            f"POST {TOKEN_PATH} failed: HTTP {response.status_code}",
            method="POST",
            path=TOKEN_PATH,
            status=response.status_code,
        )
    access = body.get("access_token")
    if not isinstance(access, str) or not access:
        raise ApiError(
            f"POST {TOKEN_PATH}: the answer has no access_token",
            method="POST",
            path=TOKEN_PATH,
            status=200,
        )
    refresh = body.get("refresh_token")
    expires = body.get("expires_in")
    return TokenGrant(
        access_token=access,
        refresh_token=refresh if isinstance(refresh, str) and refresh else None,
        expires_in=int(expires) if isinstance(expires, int | float) else None,
        token_type=str(body.get("token_type") or "bearer"),
    )


def exchange_pin(
    api_url: str,
    client_id: str,
    client_secret: str,
    pin: str,
    *,
    timeout: float = 30.0,
    transport: httpx.BaseTransport | None = None,
) -> TokenGrant:
    """Trade a PIN from :func:`authorization_url` for an access and a refresh token."""
    return _token_request(
        api_url, client_id, client_secret, pin_params(pin), "pin_code", timeout, transport
    )


def refresh_access_token(
    api_url: str,
    client_id: str,
    client_secret: str,
    refresh_token: str,
    *,
    timeout: float = 30.0,
    transport: httpx.BaseTransport | None = None,
) -> TokenGrant:
    """Trade a refresh token for a new access token (the refresh token stays the same)."""
    return _token_request(
        api_url,
        client_id,
        client_secret,
        refresh_params(refresh_token),
        "refresh_token",
        timeout,
        transport,
    )


def _token_request(
    api_url: str,
    client_id: str,
    client_secret: str,
    params: dict[str, str],
    grant: str,
    timeout: float,
    transport: httpx.BaseTransport | None,
) -> TokenGrant:
    with httpx.Client(
        base_url=api_url,
        timeout=timeout,
        transport=transport,
        follow_redirects=False,
        headers={"User-Agent": USER_AGENT, "Accept": "application/json"},
    ) as http:
        failure = ""
        try:
            response = http.post(
                TOKEN_PATH, params=params, auth=basic_auth(client_id, client_secret)
            )
        except httpx.HTTPError as exc:
            failure = type(exc).__name__
    if failure:
        # Raised outside the except block: the httpx exception holds the request and
        # its secret query, and must not be reachable from this one's chain.
        raise ApiError(f"POST {TOKEN_PATH} failed: {failure}", method="POST", path=TOKEN_PATH)
    return parse_token_response(Answer.of(response), grant=grant)


def _json_object(response: Answer) -> dict[str, Any]:
    try:
        body = json.loads(response.content) if response.content else {}
    except (ValueError, RecursionError):
        return {}
    return body if isinstance(body, dict) else {}


class Authenticator:
    """The credentials of one run: the auth of each request, and token refresh.

    ``request_grant(refresh_token)`` performs the refresh request; the API
    client passes its own, so the refresh is paced and retried like any request.
    A refreshed token is written to ``persist_path``, else to the credentials
    file the token came from (never to a file when it came from the environment).
    """

    def __init__(self, credentials: Credentials, *, persist_path: Path | None = None) -> None:
        self._credentials = credentials
        from_file = "file" in (
            credentials.origin("access_token"),
            credentials.origin("refresh_token"),
        )
        self._persist_path = persist_path or (credentials.file_path if from_file else None)
        self._lock = threading.Lock()
        self._refusal: AuthError | None = None  # a rejected refresh token stays rejected

    @property
    def credentials(self) -> Credentials:
        """The current credentials (with the latest access token)."""
        return self._credentials

    def for_route(
        self, route: Route, request_grant: Callable[[str], TokenGrant]
    ) -> tuple[httpx.Auth, str | None]:
        """The auth for one request, and the bearer token it carries (to spot a stale one).

        Raises :class:`AuthError` when the credentials this route needs are missing.
        """
        creds = self._credentials
        if route == "legacy":
            if not (creds.username and creds.password):
                raise AuthError(NO_LEGACY_LOGIN)
            return basic_auth(creds.username, creds.password), None
        if route == "token":
            return basic_auth(creds.client_id or "", creds.client_secret or ""), None
        if creds.api_key and creds.api_secret:
            return ApiKeyAuth(creds.api_key, creds.api_secret), None
        if not creds.access_token and creds.can_refresh:
            self.refresh(None, request_grant)  # only a refresh token was given
            creds = self._credentials
        if creds.access_token:
            return BearerAuth(creds.access_token), creds.access_token
        raise AuthError(NO_CREDENTIALS)

    def refreshable(self, route: Route) -> bool:
        """Whether a 401 on ``route`` may be cured by refreshing the access token."""
        return route == "api" and self._credentials.uses_bearer and self._credentials.can_refresh

    def refresh(self, stale: str | None, request_grant: Callable[[str], TokenGrant]) -> None:
        """Replace the access token ``stale``. Threads that hit 401 together share ONE
        refresh: whoever gets the lock second finds the token already replaced."""
        with self._lock:
            creds = self._credentials
            if creds.access_token != stale or not creds.refresh_token:
                return
            if self._refusal is not None:
                # Threads queued behind a refused refresh do not ask again.
                raise AuthError(str(self._refusal))
            try:
                grant = request_grant(creds.refresh_token)
            except AuthError as exc:
                self._refusal = exc
                raise
            refresh_token = grant.refresh_token or creds.refresh_token
            self._credentials = creds.with_(
                access_token=grant.access_token, refresh_token=refresh_token
            )
            if self._persist_path is None:
                return
            try:
                update_credentials_file(
                    self._persist_path, access_token=grant.access_token, refresh_token=refresh_token
                )
            except (MirrorError, OSError) as exc:
                # The run goes on with the new token; the next run simply refreshes again.
                log.warning("could not store the refreshed access token: %s", exc)

    def rejected(self, route: Route, code: str, refreshed: bool) -> str:
        """The message for a final 401: what was rejected, and what to set or run."""
        code = code or "HTTP 401"
        if route == "legacy":
            return (
                f"the legacy host rejected the login{self._source('username')} ({code}): check "
                "ASSEMBLA_USERNAME and ASSEMBLA_PASSWORD, or run `mirror auth --legacy-login`"
            )
        if refreshed:
            return f"Assembla rejected the refreshed access token ({code}): run `mirror auth` again"
        if self._credentials.has_api_key:
            return (
                f"Assembla rejected the API key and secret{self._source('api_key')} ({code}): "
                "check ASSEMBLA_API_KEY and ASSEMBLA_API_SECRET, or run `mirror auth`"
            )
        return (
            f"Assembla rejected the access token{self._source('access_token')} ({code}); it "
            "expires after 15 idle minutes. Set ASSEMBLA_REFRESH_TOKEN, ASSEMBLA_CLIENT_ID and "
            "ASSEMBLA_CLIENT_SECRET so it can be refreshed, or run `mirror auth --pin` again"
        )

    def redact(self, text: str) -> str:
        """``text`` with any of the run's secrets masked (for server-provided text)."""
        return redact(text, self._credentials.secrets())

    def _source(self, field: str) -> str:
        origin = self._credentials.origin(field)
        if origin == "env":
            return f" (from the environment, {ENV_VARS[field]})"
        if origin == "file":
            return f" (from {self._credentials.file_path})"
        return ""
