"""Who is calling: API key and secret, OAuth bearer tokens, or (legacy host) HTTP Basic.

Refusals follow the contract: ``401 {"error":"unauthorized",...}`` for missing or
wrong credentials, ``401 {"error":"invalid_token",...}`` for an expired access
token, and a plain 401 with ``WWW-Authenticate`` on the legacy host.
"""

from __future__ import annotations

import base64
import binascii

from assembla_mirror.simulator.entities import User
from assembla_mirror.simulator.exchange import RequestHeaders
from assembla_mirror.simulator.oauth import TokenStore
from assembla_mirror.simulator.routes import TEXT, Response, error
from assembla_mirror.simulator.state import WorldState


def basic_credentials(header: str | None) -> tuple[str, str] | None:
    """``(user, password)`` from an ``Authorization: Basic ...`` header, or None."""
    if not header or not header.lower().startswith("basic "):
        return None
    try:
        user, _, password = base64.b64decode(header[6:].strip()).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return None
    return user, password


def authenticate(
    headers: RequestHeaders, kind: str, state: WorldState, tokens: TokenStore
) -> User | Response:
    """The calling user, or the 401 response refusing the request."""
    if kind == "legacy":
        return _legacy(headers, state)
    auth = headers.get("Authorization") or ""
    if auth.lower().startswith("bearer "):
        user_id, expired = tokens.use(auth[7:].strip())
        if expired:
            return error(401, "invalid_token", "The access token expired")
        user = state.users.get(user_id) if user_id is not None else None
        if user is None:
            return error(401, "unauthorized", "The access token is invalid")
        return user
    key, secret = headers.get("X-Api-Key"), headers.get("X-Api-Secret")
    if not key or not secret:
        return error(401, "unauthorized", "Missing API key and secret or bearer token")
    for user in state.users.values():
        if user.api_key == key and user.api_secret == secret:
            return user
    return error(401, "unauthorized", "Invalid API key or secret")


def _legacy(headers: RequestHeaders, state: WorldState) -> User | Response:
    login = basic_credentials(headers.get("Authorization"))
    user = state.user(login[0]) if login is not None else None
    if user is not None and login is not None and user.password == login[1]:
        return user
    refusal = Response(401, b"HTTP Basic: Access denied.\n", TEXT)
    refusal.headers.append(("WWW-Authenticate", 'Basic realm="Assembla"'))
    return refusal
