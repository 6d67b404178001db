"""Settings for talking to Assembla: base URLs, rate limit, timeouts and retries.

Settings come from keyword arguments (the CLI's options), then the environment
(``ASSEMBLA_API_URL``, ``ASSEMBLA_LEGACY_URL``, ``ASSEMBLA_RATE_LIMIT``,
``ASSEMBLA_TIMEOUT``, ``ASSEMBLA_MAX_RESPONSE_MB``), then defaults. Credentials
are not settings: see :mod:`assembla_mirror.api.credentials`.

Every request is bounded twice: in time (:class:`Timeouts`, whose ``total`` is a
deadline for the whole exchange, enforced at the socket) and in size
(``max_response_bytes``), so no server can hang a run or exhaust its memory.
"""

from __future__ import annotations

import ipaddress
import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import urlsplit

from assembla_mirror.api.credentials import sanitize_url
from assembla_mirror.errors import ConfigError

DEFAULT_API_URL = "https://api.assembla.com"
DEFAULT_LEGACY_URL = "https://www.assembla.com"
DEFAULT_DB_PATH = "assembla.db"
#: Bounds on a rate limit setting: beyond them it means nothing but a typo.
MAX_PER_MINUTE = 1_000_000
DEFAULT_MAX_RESPONSE_MB = 64
DAY = 86_400


@dataclass(frozen=True)
class RateLimit:
    """Client-side pacing: at most ``per_minute`` requests per 60 s, ``per_second`` per 1 s."""

    per_minute: int = 240
    per_second: int = 20
    #: Window lengths in seconds. Only tests shorten them (e.g. 40 per 6 s) to
    #: check the long window quickly; Assembla's windows are 60 s and 1 s.
    minute_window: float = 60.0
    second_window: float = 1.0

    def __str__(self) -> str:
        return f"{self.per_minute}/{self.per_second}"


DEFAULT_RATE_LIMIT = RateLimit()


def parse_rate_limit(text: str) -> RateLimit | None:
    """Parse ``PER_MINUTE/PER_SECOND`` (e.g. ``240/20``) or ``off`` (no pacing).

    Raises :class:`ConfigError` with the accepted forms when ``text`` is neither.
    """
    value = text.strip().lower()
    if value in {"off", "none", "0"}:
        return None
    per_minute, sep, per_second = value.partition("/")
    try:
        minute, second = int(per_minute), int(per_second)
    except ValueError:
        minute = second = -1
    if not sep or minute <= 0 or second <= 0:
        raise ConfigError(
            f"invalid rate limit {text!r}: use PER_MINUTE/PER_SECOND (e.g. 240/20) or 'off'"
        )
    if minute > MAX_PER_MINUTE:
        raise ConfigError(
            f"invalid rate limit {text!r}: at most {MAX_PER_MINUTE:,} requests a minute; "
            "use 'off' for no pacing"
        )
    if second > minute:
        raise ConfigError(
            f"invalid rate limit {text!r}: per-second burst exceeds the per-minute limit"
        )
    return RateLimit(minute, second)


@dataclass(frozen=True)
class Timeouts:
    """Seconds a request may take: to connect, per read or write, waiting for a pooled
    connection, and ``total`` for the whole exchange (headers and body) however the
    server paces its bytes."""

    connect: float = 10.0
    read: float = 30.0
    write: float = 30.0
    pool: float = 30.0
    total: float = 60.0

    def __post_init__(self) -> None:
        for name in ("connect", "read", "write", "pool", "total"):
            value = getattr(self, name)
            if not (isinstance(value, int | float) and math.isfinite(value) and 0 < value <= DAY):
                raise ConfigError(f"timeout {name} must be between 0 and {DAY:,} seconds")

    def __str__(self) -> str:
        return (
            f"connect={self.connect:g},read={self.read:g},write={self.write:g},"
            f"pool={self.pool:g},total={self.total:g}"
        )


def parse_timeouts(text: str, base: Timeouts | None = None) -> Timeouts:
    """``60`` (the total deadline) or ``connect=5,read=20,total=90`` (any of connect, read,
    write, pool, total), applied over ``base``; a :class:`ConfigError` says the forms."""
    values: dict[str, float] = {}
    for part in filter(None, (piece.strip() for piece in text.split(","))):
        name, sep, number = part.rpartition("=")
        name = name.strip().lower() if sep else "total"
        try:
            values[name] = float(number)
        except ValueError:
            name = ""
        if name not in ("connect", "read", "write", "pool", "total"):
            raise ConfigError(
                f"invalid timeout {text!r}: use SECONDS (the whole request) or "
                "connect=S,read=S,write=S,pool=S,total=S"
            )
    if not values:
        raise ConfigError(f"invalid timeout {text!r}: no value given")
    return replace(base or Timeouts(), **values)


def parse_megabytes(text: str) -> int:
    """A response size limit in MB (``64``), as bytes."""
    try:
        megabytes = float(text)
    except ValueError:
        megabytes = math.nan
    if not (math.isfinite(megabytes) and 0 < megabytes <= 1_000_000):
        raise ConfigError(f"invalid response size limit {text!r}: give megabytes, e.g. 64")
    return int(megabytes * 1024 * 1024)


def is_loopback_host(host: str) -> bool:
    """True for ``localhost`` and loopback IP addresses (the only hosts allowed over plain HTTP)."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def validate_base_url(url: str, *, what: str) -> str:
    """Return ``url`` without a trailing slash, refusing plain HTTP to non-loopback hosts.

    Credentials travel in headers on every request, so cleartext HTTP is only
    accepted for the bundled simulator and other loopback servers.
    """
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 (raises ValueError for a port that is not a number)
    except ValueError:
        port = urlsplit(url).netloc.rpartition("@")[2].rpartition(":")[2]
        raise ConfigError(f"{what} has an invalid port {port[:20]!r}: give a number") from None
    if parts.username or parts.password:
        # Checked first: every other message shows the URL, and it must not show these.
        raise ConfigError(
            f"{what} must not embed credentials; use the environment or `mirror auth`"
        )
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise ConfigError(f"{what} must be an http(s) URL, got {sanitize_url(url)!r}")
    if parts.scheme == "http" and not is_loopback_host(parts.hostname):
        raise ConfigError(
            f"{what} {sanitize_url(url)!r} uses plain http:// to a non-loopback host; use "
            "https:// (credentials would travel in clear text)"
        )
    return url.rstrip("/")


@dataclass(frozen=True)
class ClientSettings:
    """How the API client reaches Assembla. Immutable; build variants with :meth:`with_`."""

    api_url: str = DEFAULT_API_URL
    legacy_url: str = DEFAULT_LEGACY_URL
    rate_limit: RateLimit | None = field(default_factory=RateLimit)
    timeouts: Timeouts = field(default_factory=Timeouts)
    #: The largest answer read (bytes, after decompression); a larger one fails its request.
    max_response_bytes: int = DEFAULT_MAX_RESPONSE_MB * 1024 * 1024
    max_attempts: int = 6
    backoff_base: float = 1.0
    backoff_cap: float = 60.0
    #: Requests in flight at once. At Assembla's few hundred milliseconds per
    #: request it takes about this many to use the 20-per-second burst.
    concurrency: int = 16

    def __post_init__(self) -> None:
        object.__setattr__(self, "api_url", validate_base_url(self.api_url, what="API URL"))
        object.__setattr__(
            self, "legacy_url", validate_base_url(self.legacy_url, what="legacy URL")
        )
        if self.max_attempts < 1:
            raise ConfigError("max_attempts must be at least 1")
        if self.concurrency < 1:
            raise ConfigError("concurrency must be at least 1")
        if self.max_response_bytes < 1:
            raise ConfigError("max_response_bytes must be at least 1")

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides: Any) -> ClientSettings:
        """Build settings from ``overrides`` (non-None values win), then ``env``, then defaults."""
        env = os.environ if env is None else env
        values: dict[str, Any] = {}
        if "ASSEMBLA_API_URL" in env:
            values["api_url"] = env["ASSEMBLA_API_URL"]
        if "ASSEMBLA_LEGACY_URL" in env:
            values["legacy_url"] = env["ASSEMBLA_LEGACY_URL"]
        if "ASSEMBLA_RATE_LIMIT" in env:
            values["rate_limit"] = parse_rate_limit(env["ASSEMBLA_RATE_LIMIT"])
        if env.get("ASSEMBLA_TIMEOUT"):
            values["timeouts"] = parse_timeouts(env["ASSEMBLA_TIMEOUT"])
        if env.get("ASSEMBLA_MAX_RESPONSE_MB"):
            values["max_response_bytes"] = parse_megabytes(env["ASSEMBLA_MAX_RESPONSE_MB"])
        given = {key: value for key, value in overrides.items() if value is not None}
        if isinstance(given.get("timeouts"), str):  # refines the environment's timeouts
            given["timeouts"] = parse_timeouts(given["timeouts"], values.get("timeouts"))
        values.update(given)
        return cls(**_parsed(values))

    def with_(self, **changes: Any) -> ClientSettings:
        """Return a copy with ``changes`` applied (validated again; a rate limit may be
        given as text, ``"240/20"`` or ``"off"``)."""
        return replace(self, **_parsed(changes, base=self))


def _parsed(values: dict[str, Any], base: ClientSettings | None = None) -> dict[str, Any]:
    """``values`` with settings given as text (``"240/20"``, ``"90"``) parsed."""
    values = dict(values)
    if isinstance(values.get("rate_limit"), str):
        values["rate_limit"] = parse_rate_limit(values["rate_limit"])
    if isinstance(values.get("timeouts"), str):
        values["timeouts"] = parse_timeouts(values["timeouts"], base.timeouts if base else None)
    if isinstance(values.get("max_response_bytes"), str):
        values["max_response_bytes"] = parse_megabytes(values["max_response_bytes"])
    return values
