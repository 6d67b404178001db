"""Small helpers shared by the simulator tests."""

from __future__ import annotations

import ssl
from datetime import datetime
from typing import Any

import httpx

from assembla_mirror.simulator import Simulator
from assembla_mirror.simulator.server import SimCredentials

# One TLS context for every test client: building one per client (what httpx does by
# default) costs ~20 ms, although the simulator is plain http.
TLS = ssl.create_default_context()


def key_headers(creds: SimCredentials) -> dict[str, str]:
    """The API key/secret headers of ``creds``."""
    return {"X-Api-Key": creds.api_key, "X-Api-Secret": creds.api_secret}


def connect(
    sim: Simulator, creds: SimCredentials | None = None, headers: dict[str, str] | None = None
) -> httpx.Client:
    """A client of ``sim`` sending ``headers`` (default: the key headers of ``creds``)."""
    if headers is None:
        headers = key_headers(creds or sim.credentials)
    return httpx.Client(base_url=sim.api_url, headers=headers, timeout=10, verify=TLS)


def get(url: str, **kwargs: Any) -> httpx.Response:
    """A one-off GET."""
    with httpx.Client(timeout=10, verify=TLS) as client:
        return client.get(url, **kwargs)


def post(url: str, **kwargs: Any) -> httpx.Response:
    """A one-off POST."""
    with httpx.Client(timeout=10, verify=TLS) as client:
        return client.post(url, **kwargs)


def all_pages(client: httpx.Client, path: str, **params: Any) -> list[dict[str, Any]]:
    """Every item of a paged list, walked with ``per_page=100`` until 204 or a short page."""
    items: list[dict[str, Any]] = []
    page = 1
    while True:
        response = client.get(path, params={**params, "per_page": 100, "page": page})
        if response.status_code == 204:
            return items
        assert response.status_code == 200, response.text
        batch = response.json()
        items += batch
        if len(batch) < 100:
            return items
        page += 1


def instant(text: str) -> datetime:
    """An ISO-8601 datetime with an offset, parsed (``Z`` included)."""
    parsed = datetime.fromisoformat(text)
    assert parsed.tzinfo is not None, text
    return parsed
