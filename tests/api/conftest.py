"""Fixtures for the client tests: a fake clock, and clients over httpx.MockTransport."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from assembla_mirror.api.client import AssemblaClient
from assembla_mirror.api.credentials import Credentials
from assembla_mirror.api.settings import ClientSettings

KEY_CREDS = Credentials(api_key="key-AAAA1111", api_secret="secret-BBBB2222")

Handler = Callable[[httpx.Request], httpx.Response]
MakeClient = Callable[..., AssemblaClient]


class FakeClock:
    """A clock that only moves when something sleeps on it; records the sleeps."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += max(0.0, seconds)


def json_response(data: Any, status: int = 200, **headers: str) -> httpx.Response:
    """A JSON answer like Assembla's."""
    return httpx.Response(
        status,
        content=json.dumps(data).encode(),
        headers={"Content-Type": "application/json; charset=utf-8", **headers},
    )


def no_content() -> httpx.Response:
    """Assembla's empty list: 204, empty body, text/plain."""
    return httpx.Response(204, content=b"", headers={"Content-Type": "text/plain"})


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def make_client(clock: FakeClock) -> Iterator[MakeClient]:
    """``make_client(handler, credentials=..., legacy_handler=..., **settings)``."""
    clients: list[AssemblaClient] = []

    def make(
        handler: Handler,
        *,
        credentials: Credentials = KEY_CREDS,
        legacy_handler: Handler | None = None,
        **settings: Any,
    ) -> AssemblaClient:
        base: dict[str, Any] = {
            "api_url": "https://api.example.test",
            "legacy_url": "https://www.example.test",
            "rate_limit": None,
            "backoff_base": 0.01,
            "backoff_cap": 0.05,
        }
        client = AssemblaClient(
            ClientSettings(**{**base, **settings}),
            credentials,
            transport=httpx.MockTransport(handler),
            legacy_transport=httpx.MockTransport(legacy_handler or handler),
            sleep=clock.sleep,
            clock=clock,
        )
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()
