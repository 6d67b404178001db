"""Fault injection: every queued kind, random rates with a seed, latency, and the request log."""

from __future__ import annotations

import itertools
import json
import threading
import time
from collections.abc import Iterator

import httpx
import pytest

from assembla_mirror.simulator import FaultConfig, Scale, Simulator, World

from .helpers import connect, get, post


@pytest.fixture
def faulty() -> Iterator[Simulator]:
    """A simulator whose ``slow`` faults last 0.3 s."""
    world = World.generate(seed=4, scale=Scale())
    with Simulator(world, faults=FaultConfig(slow_seconds=0.3)) as sim:
        yield sim


def test_500_is_an_html_page(faulty: Simulator) -> None:
    faulty.faults.enqueue("500")
    with connect(faulty) as client:
        answer = client.get("/v1/spaces")
        assert answer.status_code == 500
        assert answer.headers["content-type"].startswith("text/html")
        assert "Error 500" in answer.text
        assert client.get("/v1/spaces").status_code == 200  # one-shot


def test_503_with_and_without_retry_after(faulty: Simulator) -> None:
    faulty.faults.enqueue("503", retry_after=7)
    faulty.faults.enqueue("503")
    with connect(faulty) as client:
        first, second = client.get("/v1/user"), client.get("/v1/user")
    assert (first.status_code, first.headers["retry-after"]) == (503, "7")
    assert second.status_code == 503
    assert "retry-after" not in second.headers


def test_queued_429(faulty: Simulator) -> None:
    faulty.faults.enqueue("429", count=2, retry_after=3)
    with connect(faulty) as client:
        answers = [client.get("/v1/user") for _ in range(3)]
    assert [a.status_code for a in answers] == [429, 429, 200]
    assert answers[0].json() == {"error": "rate limit exceeded"}
    assert answers[1].headers["retry-after"] == "3"


def test_drop_closes_without_an_answer(faulty: Simulator) -> None:
    faulty.faults.enqueue("drop")
    with connect(faulty) as client:
        with pytest.raises(httpx.RemoteProtocolError):
            client.get("/v1/user")
        assert client.get("/v1/user").status_code == 200
    dropped = faulty.request_log[0]
    assert (dropped.status, dropped.fault) == (0, "drop")


def test_truncate_sends_half_the_body(faulty: Simulator) -> None:
    faulty.faults.enqueue("truncate")
    with connect(faulty) as client:
        with pytest.raises(httpx.RemoteProtocolError):
            client.get("/v1/spaces")
        assert client.get("/v1/spaces").status_code == 200


def test_truncated_body_as_a_raw_socket_sees_it(faulty: Simulator) -> None:
    faulty.faults.enqueue("truncate")
    received: list[bytes] = []

    def read(response: httpx.Response) -> None:
        received.extend(response.iter_raw())

    with connect(faulty) as client, client.stream("GET", "/v1/spaces") as response:
        declared = int(response.headers["content-length"])
        with pytest.raises(httpx.RemoteProtocolError):
            read(response)
    assert response.status_code == 200
    assert 0 < len(b"".join(received)) < declared


def test_slow_waits_then_answers(faulty: Simulator) -> None:
    faulty.faults.enqueue("slow")
    with connect(faulty) as client:
        started = time.monotonic()
        assert client.get("/v1/user").status_code == 200
        assert time.monotonic() - started >= 0.3


def test_html_and_bad_json_are_200s(faulty: Simulator) -> None:
    faulty.faults.enqueue("html")
    faulty.faults.enqueue("bad_json")
    with connect(faulty) as client:
        html, broken = client.get("/v1/spaces"), client.get("/v1/spaces")
    assert html.status_code == broken.status_code == 200
    assert html.headers["content-type"].startswith("text/html")
    assert broken.headers["content-type"].startswith("application/json")
    with pytest.raises(json.JSONDecodeError):
        broken.json()


def test_path_prefix_picks_the_requests(faulty: Simulator) -> None:
    faulty.faults.enqueue("500", path_prefix="/v1/tasks")
    assert faulty.faults.pending == 1
    with connect(faulty) as client:
        assert client.get("/v1/spaces").status_code == 200
        assert client.get("/v1/tasks").status_code == 500
    assert faulty.faults.pending == 0
    with pytest.raises(ValueError, match="unknown fault kind"):
        faulty.faults.enqueue("fire")


def test_faults_spare_oauth_and_hit_legacy(faulty: Simulator) -> None:
    creds = faulty.credentials
    faulty.faults.enqueue("500", count=2)
    token = post(
        f"{faulty.api_url}/token",
        params={"grant_type": "pin_code", "pin_code": faulty.issue_pin()},
        auth=(creds.client_id, creds.client_secret),
    )
    assert token.status_code == 200
    legacy = get(
        f"{faulty.legacy_url}/user/time_entries/1/time_logs", auth=(creds.login, creds.password)
    )
    assert legacy.status_code == 500
    assert faulty.faults.pending == 1


def test_random_faults_follow_the_seed() -> None:
    config = FaultConfig(error_500=0.3, error_503=0.2, throttle_429=0.1, seed=42)
    runs = []
    for _ in range(2):
        with Simulator(World.generate(seed=4), faults=config) as sim, connect(sim) as client:
            runs.append([client.get("/v1/user").status_code for _ in range(40)])
    assert runs[0] == runs[1]
    assert {500, 503, 429, 200} <= set(runs[0])
    assert 8 <= runs[0].count(200) <= 32


def test_random_503s_alternate_retry_after(faulty: Simulator) -> None:
    faulty.faults.configure(FaultConfig(error_503=1.0))
    with connect(faulty) as client:
        answers = [client.get("/v1/user") for _ in range(4)]
    assert [a.status_code for a in answers] == [503] * 4
    assert ["retry-after" in a.headers for a in answers] == [True, False, True, False]


def test_latency_is_settable_at_runtime(faulty: Simulator) -> None:
    with connect(faulty) as client:
        faulty.latency = 0.15
        started = time.monotonic()
        client.get("/v1/user")
        assert time.monotonic() - started >= 0.15
        faulty.latency = 0.0


def test_request_log(faulty: Simulator) -> None:
    creds = faulty.credentials
    with connect(faulty) as client:
        client.get("/v1/spaces.json", params={"page": 2})
        client.get(f"/v1/spaces/{faulty.world.spaces_of()[0].wiki_name}/tickets")
        client.get(f"/v1/spaces/{faulty.world.spaces_of()[0].id}/tickets/1.json")
    get(f"{faulty.api_url}/v1/user")
    get(f"{faulty.legacy_url}/user/time_entries/1/time_logs", auth=(creds.login, "no"))
    log = faulty.request_log
    assert [r.status for r in log] == [200, 200, 200, 401, 401]
    assert [r.kind for r in log] == ["api", "api", "api", "api", "legacy"]
    assert log[0].path == "/v1/spaces.json"
    assert log[0].query == {"page": ["2"]}
    assert [r.credential for r in log] == [creds.user_id] * 3 + [None, None]
    assert all(a.t <= b.t for a, b in itertools.pairwise(log))
    counts = faulty.request_counts()
    assert counts["GET /v1/spaces"] == 1
    assert counts["GET /v1/spaces/:space/tickets"] == 1
    assert counts["GET /v1/spaces/:space/tickets/:number"] == 1
    assert counts["GET /user/time_entries/:task_id/time_logs"] == 1
    faulty.clear_log()
    assert faulty.request_log == []


def test_concurrent_clients(faulty: Simulator) -> None:
    statuses: list[int] = []
    lock = threading.Lock()

    def work() -> None:
        with connect(faulty) as c:
            for _ in range(10):
                status = c.get("/v1/tasks").status_code
                with lock:
                    statuses.append(status)

    threads = [threading.Thread(target=work) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert statuses == [200] * 60
    assert len(faulty.request_log) == 60
