"""Settings for talking to Assembla: base URLs, rate limit, timeouts and retries.

Settings come from keyword arguments (the CLI's options), then the environment
(``ASSEMBLA_API_URL``, ``ASSEMBLA_LEGACY_URL``, ``ASSEMBLA_RATE_LIMIT``), then
defaults. Credentials are not settings: see :mod:`assembla_mirror.credentials`.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import urlsplit

from assembla_mirror.errors import ConfigError

DEFAULT_API_URL = "https://api.assembla.com"
DEFAULT_LEGACY_URL = "https://www.assembla.com"
DEFAULT_DB_PATH = "assembla.db"


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
    if second > minute:
        raise ConfigError(
            f"invalid rate limit {text!r}: per-second burst exceeds the per-minute limit"
        )
    return RateLimit(minute, second)


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
    parts = urlsplit(url)
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise ConfigError(f"{what} must be an http(s) URL, got {url!r}")
    if parts.username or parts.password:
        raise ConfigError(
            f"{what} must not embed credentials; use the environment or `mirror auth`"
        )
    if parts.scheme == "http" and not is_loopback_host(parts.hostname):
        raise ConfigError(
            f"{what} {url!r} uses plain http:// to a non-loopback host; use https:// "
            "(credentials would travel in clear text)"
        )
    return url.rstrip("/")


@dataclass(frozen=True)
class ClientSettings:
    """How the API client reaches Assembla. Immutable; build variants with :meth:`with_`."""

    api_url: str = DEFAULT_API_URL
    legacy_url: str = DEFAULT_LEGACY_URL
    rate_limit: RateLimit | None = field(default_factory=RateLimit)
    timeout: float = 30.0
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
        values.update({key: value for key, value in overrides.items() if value is not None})
        if isinstance(values.get("rate_limit"), str):
            values["rate_limit"] = parse_rate_limit(values["rate_limit"])
        return cls(**values)

    def with_(self, **changes: Any) -> ClientSettings:
        """Return a copy with ``changes`` applied (validated again; a rate limit may be
        given as text, ``"240/20"`` or ``"off"``)."""
        if isinstance(changes.get("rate_limit"), str):
            changes["rate_limit"] = parse_rate_limit(changes["rate_limit"])
        return replace(self, **changes)
