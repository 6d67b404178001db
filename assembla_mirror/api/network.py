"""The sockets under the API client: a deadline for each whole request, and the proxy in use.

httpx bounds each socket operation (connecting, each read, each write), not a
request: a server that sends its headers and then one byte every 20 s satisfies
a 30 s read timeout forever, and a cron run stuck on it keeps the mirror's lock.
:func:`deadline` sets an instant by which the request in progress on this thread
must be complete; :class:`DeadlineBackend` shortens every socket operation's
timeout so that none outlives it, headers included. A request past its deadline
fails as a timeout (and is retried like one).

The proxy is read from the environment as httpx reads it (``HTTPS_PROXY``,
``HTTP_PROXY``, ``ALL_PROXY``, ``NO_PROXY``), once per host, so an error can name
the proxy it went through, and a SOCKS proxy without its optional package is a
clear message instead of an ImportError.
"""

from __future__ import annotations

import ssl
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit
from urllib.request import getproxies, proxy_bypass

import httpcore
import httpx

from assembla_mirror.api.credentials import sanitize_url
from assembla_mirror.errors import ConfigError

#: The monotonic instant by which this thread's request must be complete (None: no deadline).
_DEADLINE: ContextVar[float | None] = ContextVar("assembla_mirror_deadline", default=None)


@contextmanager
def deadline(seconds: float) -> Iterator[None]:
    """Every socket operation in the block ends by ``seconds`` from now (on this thread)."""
    token = _DEADLINE.set(time.monotonic() + seconds)
    try:
        yield
    finally:
        _DEADLINE.reset(token)


def deadline_passed() -> bool:
    """Whether the current thread's deadline (if any) has passed."""
    end = _DEADLINE.get()
    return end is not None and time.monotonic() >= end


def _bounded(timeout: float | None, expired: type[Exception]) -> float | None:
    """``timeout`` shortened to what is left before the deadline; ``expired`` raised at 0."""
    end = _DEADLINE.get()
    if end is None:
        return timeout
    left = end - time.monotonic()
    if left <= 0:
        raise expired("the request's deadline passed")
    return left if timeout is None else min(timeout, left)


class DeadlineStream(httpcore.NetworkStream):
    """A connection whose every read and write ends by the current request's deadline."""

    def __init__(self, inner: httpcore.NetworkStream) -> None:
        self._inner = inner

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._inner.read(max_bytes, _bounded(timeout, httpcore.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._inner.write(buffer, _bounded(timeout, httpcore.WriteTimeout))

    def close(self) -> None:
        self._inner.close()

    def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.NetworkStream:
        bounded = _bounded(timeout, httpcore.ConnectTimeout)
        return DeadlineStream(self._inner.start_tls(ssl_context, server_hostname, bounded))

    def get_extra_info(self, info: str) -> Any:
        return self._inner.get_extra_info(info)


class DeadlineBackend(httpcore.NetworkBackend):
    """Opens :class:`DeadlineStream` connections (wrapping httpcore's own backend)."""

    def __init__(self, inner: httpcore.NetworkBackend) -> None:
        self._inner = inner

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        bounded = _bounded(timeout, httpcore.ConnectTimeout)
        stream = self._inner.connect_tcp(host, port, bounded, local_address, socket_options)
        return DeadlineStream(stream)

    def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        bounded = _bounded(timeout, httpcore.ConnectTimeout)
        return DeadlineStream(self._inner.connect_unix_socket(path, bounded, socket_options))

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)


@dataclass(frozen=True)
class Proxy:
    """A proxy from the environment: its URL and the variable that named it."""

    url: str
    variable: str

    def __str__(self) -> str:
        return f"proxy {sanitize_url(self.url)} (from {self.variable})"


def proxy_for(url: str) -> Proxy | None:
    """The proxy the environment sets for ``url`` (as httpx would pick it), or None."""
    parts = urlsplit(url)
    proxies = getproxies()
    if parts.hostname and proxy_bypass(parts.hostname):
        return None
    for scheme in (parts.scheme, "all"):
        value = proxies.get(scheme)
        if value:
            target = value if "://" in value else f"http://{value}"
            return Proxy(target, f"{scheme.upper()}_PROXY")
    return None


def transport_for(url: str, limits: httpx.Limits) -> tuple[httpx.HTTPTransport, Proxy | None]:
    """An httpx transport for requests to ``url``, with deadlines, through the env's proxy.

    Raises :class:`ConfigError` when the proxy cannot be used (a SOCKS proxy
    needs the optional ``socksio`` package).
    """
    proxy = proxy_for(url)
    try:
        transport = httpx.HTTPTransport(limits=limits, proxy=proxy.url if proxy else None)
    except ImportError:
        raise ConfigError(
            f"the {proxy} needs the 'socksio' package: pip install 'httpx[socks]', "
            "or unset the variable"
        ) from None
    except ValueError as exc:  # an unknown proxy scheme
        raise ConfigError(f"cannot use the {proxy}: {exc}") from None
    install_deadlines(transport)
    return transport, proxy


def install_deadlines(transport: httpx.HTTPTransport) -> None:
    """Make every connection ``transport`` opens honour :func:`deadline`.

    httpx offers no public way to choose httpcore's network backend, so this
    sets the attribute both libraries have used since httpcore 0.14; a release
    that drops it fails here, loudly, rather than losing the deadlines.
    """
    pool = getattr(transport, "_pool", None)
    backend = getattr(pool, "_network_backend", None)
    if backend is None:  # pragma: no cover - depends on the installed httpx
        raise RuntimeError(
            "this version of httpx/httpcore hides its network backend; request deadlines "
            "cannot be enforced (pin httpx to a version assembla-mirror supports)"
        )
    if not isinstance(backend, DeadlineBackend):
        pool._network_backend = DeadlineBackend(backend)  # type: ignore[union-attr]
