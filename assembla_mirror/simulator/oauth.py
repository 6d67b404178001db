"""OAuth2 PIN-code flow: PINs, sliding access tokens and refresh tokens, and their endpoints.

``GET /authorization?client_id=ID&response_type=pin_code`` shows a PIN for the
primary caller. ``POST /token`` (client id and secret as HTTP Basic) exchanges a
PIN (``grant_type=pin_code``) or a refresh token (``grant_type=refresh_token``)
for an access token. Access tokens expire after ``ttl`` seconds *without use*;
every use restarts the clock (``time.monotonic``). Refresh tokens last 31 idle days.
"""

from __future__ import annotations

import math
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from html import escape
from typing import Any

from assembla_mirror.simulator import render
from assembla_mirror.simulator.routes import HTML, Response, error, json_response

REFRESH_TTL = 31 * 24 * 3600.0
CLIENT_ID = "mirrorSimClient0000001"
CLIENT_SECRET = "5f1e0c0ffee0ddba11c0ffee0ddba11c"  # noqa: S105 (a fake, published on purpose)


@dataclass
class _Grant:
    user_id: str
    last_used: float
    ttl: float


class TokenStore:
    """Issued PINs and tokens; thread-safe. ``clock`` is injectable for tests."""

    def __init__(self, ttl: float = 900.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl = ttl
        self.client_id = CLIENT_ID
        self.client_secret = CLIENT_SECRET
        self._clock = clock
        self._lock = threading.Lock()
        self._pins: dict[str, str] = {}
        self._access: dict[str, _Grant] = {}
        self._refresh: dict[str, _Grant] = {}

    def issue_pin(self, user_id: str) -> str:
        """A fresh one-time PIN for ``user_id``."""
        pin = f"{secrets.randbelow(10**8):08d}"
        with self._lock:
            self._pins[pin] = user_id
        return pin

    def check_client(self, client_id: str | None, client_secret: str | None) -> bool:
        """Whether the HTTP Basic client credentials are the registered application's."""
        return client_id == self.client_id and client_secret == self.client_secret

    def exchange_pin(self, pin: str) -> dict[str, Any] | None:
        """Trade a PIN for an access and a refresh token, or None for an unknown PIN."""
        with self._lock:
            user_id = self._pins.pop(pin, None)
            if user_id is None:
                return None
            refresh = secrets.token_hex(20)
            self._refresh[refresh] = _Grant(user_id, self._clock(), REFRESH_TTL)
            return {**self._new_access(user_id), "refresh_token": refresh}

    def refresh(self, token: str) -> dict[str, Any] | None:
        """A new access token for a live refresh token (no new refresh token), or None."""
        with self._lock:
            grant = self._refresh.get(token)
            now = self._clock()
            if grant is None or now - grant.last_used > grant.ttl:
                return None
            grant.last_used = now
            return self._new_access(grant.user_id)

    def _new_access(self, user_id: str) -> dict[str, Any]:
        token = secrets.token_hex(16)
        self._access[token] = _Grant(user_id, self._clock(), self.ttl)
        return {
            "access_token": token,
            "token_type": "bearer",
            "expires_in": max(1, math.ceil(self.ttl)),
        }

    def use(self, token: str) -> tuple[str | None, bool]:
        """``(user_id, expired)`` for a bearer token; a live token's idle clock restarts."""
        with self._lock:
            grant = self._access.get(token)
            if grant is None:
                return None, False
            now = self._clock()
            if now - grant.last_used > grant.ttl:
                return None, True
            grant.last_used = now
            return grant.user_id, False

    def expire_access_tokens(self) -> None:
        """Make every issued access token expired."""
        with self._lock:
            for grant in self._access.values():
                grant.ttl = -1.0

    def revoke_refresh_tokens(self) -> None:
        """Forget every refresh token."""
        with self._lock:
            self._refresh.clear()


def authorization_page(store: TokenStore, query: dict[str, list[str]], user_id: str) -> Response:
    """``GET /authorization``: an HTML page showing a PIN for the primary caller."""
    client = (query.get("client_id") or [""])[0]
    kind = (query.get("response_type") or [""])[0]
    if client != store.client_id or kind != "pin_code":
        return error(400, "invalid_request", "unknown client_id or response_type")
    pin = store.issue_pin(user_id)
    page = (
        "<!DOCTYPE html>\n<html><head><title>Authorize application | Assembla</title></head>\n"
        "<body><p>Copy this PIN code into the application:</p>\n"
        f'<p><code id="pin_code">{escape(pin)}</code></p></body></html>\n'
    )
    return Response(200, page.encode(), HTML)


def token_endpoint(
    store: TokenStore, params: dict[str, list[str]], client: tuple[str, str] | None
) -> Response:
    """``POST /token``: answer a PIN or refresh-token grant."""
    if client is None or not store.check_client(*client):
        return error(401, "invalid_client", "Client authentication failed")
    grant = (params.get("grant_type") or [""])[0]
    if grant == "pin_code":
        answer = store.exchange_pin((params.get("pin_code") or [""])[0])
    elif grant == "refresh_token":
        answer = store.refresh((params.get("refresh_token") or [""])[0])
    else:
        return error(400, "unsupported_grant_type", f"grant_type {grant!r} is not supported")
    if answer is None:
        return error(
            401,
            "invalid_grant",
            "The provided access grant is invalid, expired, or revoked "
            "(e.g. invalid assertion, expired authorization token, bad end-user password "
            "credentials, or mismatching authorization code and redirection URI).",
        )
    return json_response(render.dumps(answer))
