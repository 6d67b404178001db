"""The in-process path answers exactly as the socket server does.

Twin simulators serve the same world (same seed, clocks frozen at the same
instant): one over loopback HTTP, one through ``Simulator.transport()``. The
same requests get the same statuses, headers (``Date`` included), bodies and
failures, leave the same request log, and a whole mirror synced through each
comes out the same, row for row.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from assembla_mirror.api.client import AssemblaClient
from assembla_mirror.simulator import (
    IN_PROCESS_URL,
    Clock,
    FaultConfig,
    RequestRecord,
    Scale,
    Simulator,
    SocketOnlyFault,
    World,
)
from tests.expected import assert_same_mirror
from tests.support import (
    credentials_for,
    in_process_settings,
    run_sync,
    run_sync_in_process,
    settings_for,
)

from .helpers import TLS, key_headers

#: A ``slow`` fault short enough to run in the script below.
QUICK_FAULTS = FaultConfig(slow_seconds=0.05)


def twin_world(at: datetime, scale: str) -> World:
    """The seed-3 world at ``scale`` whose clock stands still at ``at``."""
    clock = Clock()
    clock.freeze(at)
    return World.generate(seed=3, scale=Scale.parse(scale), clock=clock)


@dataclass
class Twins:
    """The same world served twice: ``served`` on loopback, ``in_process`` without a socket."""

    served: Simulator
    in_process: Simulator
    clients: list[httpx.Client] = field(default_factory=list)

    def socket_client(self) -> httpx.Client:
        client = httpx.Client(base_url=self.served.api_url, timeout=10, verify=TLS)
        self.clients.append(client)
        return client

    def in_process_client(self) -> httpx.Client:
        transport = self.in_process.transport()
        client = httpx.Client(base_url=IN_PROCESS_URL, transport=transport, timeout=10)
        self.clients.append(client)
        return client


@pytest.fixture
def make_twins() -> Iterator[Callable[..., Twins]]:
    """``make_twins(scale, **simulator_options)``: twin simulators over one frozen instant."""
    made: list[Twins] = []

    def make(scale: str = "tiny,spaces=3", **options: Any) -> Twins:
        at = Clock().freeze()
        served = Simulator(twin_world(at, scale), **options).start()
        twins = Twins(served, Simulator(twin_world(at, scale), **options))
        made.append(twins)
        assert twins.in_process.credentials == served.credentials  # the same account
        return twins

    yield make
    for twins in made:
        for client in twins.clients:
            client.close()
        twins.served.stop()


@dataclass(frozen=True)
class Step:
    """One request of the script, and the fault (if any) queued for it."""

    method: str
    path: str
    params: dict[str, str] | None = None
    auth: str = "key"  # key, none, wrong_key, legacy, wrong_legacy, oauth_client, wrong_client
    headers: dict[str, str] | None = None
    form: dict[str, str] | None = None
    fault: str | None = None
    retry_after: int | None = None


def script(world: World) -> list[Step]:
    """Requests covering routing, authentication, OAuth, the legacy host and every fault
    that can be played without a socket."""
    mine = [space.id for space in world.spaces_of()]
    with_tickets = next(s for s in mine if world.state.require_space(s).ticket_tool is not None)
    without_tickets = next(s for s in mine if world.state.require_space(s).ticket_tool is None)
    foreign = next(s for s in world.state.spaces if s not in mine)
    task_id = world.truth().time_logs[0].task_id
    tickets = f"/v1/spaces/{with_tickets}/tickets"
    steps = [
        Step("GET", "/v1/user"),
        Step("GET", "/v1/spaces"),
        Step("GET", "/v1/spaces.json"),
        Step("GET", tickets, {"per_page": "2", "page": "1", "report": "0"}),
        Step("GET", tickets, {"per_page": "100", "page": "99"}),  # 204
        Step("GET", f"{tickets}/1"),
        Step("GET", f"{tickets}/custom_fields"),
        Step("GET", f"/v1/spaces/{with_tickets}/milestones/all"),
        Step("GET", f"/v1/spaces/{with_tickets}/user_roles"),
        Step("GET", f"/v1/spaces/{without_tickets}/tickets"),  # 404 Tool not found
        Step("GET", f"/v1/spaces/{foreign}"),  # 403
        Step("GET", "/v1/tasks", {"per_page": "5"}),
        Step("GET", "/v1/activity", {"per_page": "5"}),
        Step("GET", "/v1/no/such/thing"),  # 404
        Step("POST", "/v1/spaces"),  # a routed method, no such route: 404
        Step("GET", "/v1/spaces", auth="none"),  # 401
        Step("GET", "/v1/spaces", auth="wrong_key"),  # 401
        Step("GET", "/v1/spaces", headers={"Connection": "close"}),
        Step("GET", f"/user/time_entries/{task_id}/time_logs.xml", auth="legacy"),
        Step("GET", f"/user/time_entries/{task_id}/time_logs", auth="wrong_legacy"),  # 401
        Step("GET", "/authorization", {"client_id": "nobody", "response_type": "pin_code"}),
        Step("GET", "/token", auth="oauth_client"),  # 404: the token endpoint takes POST
        Step("POST", "/token", auth="wrong_client", form={"grant_type": "pin_code"}),
        Step("POST", "/token", auth="oauth_client", form={"grant_type": "password"}),
        Step("POST", "/token", auth="oauth_client", form={"grant_type": "pin_code"}),
        Step("HEAD", "/v1/spaces"),  # not routed: the HTTP library's 501
    ]
    for kind in ("500", "503", "429", "html", "bad_json", "empty", "copies", "slow"):
        steps.append(Step("GET", "/v1/spaces", fault=kind))
    steps += [
        Step("GET", "/v1/spaces", fault="503", retry_after=7),
        Step("GET", "/v1/spaces", fault="429", retry_after=3),
        Step("GET", f"{tickets}/2", fault="drop"),
        Step("GET", tickets, {"per_page": "10"}, fault="truncate"),
        Step("GET", "/v1/spaces"),  # and the next request is answered as usual
    ]
    return steps


def send(client: httpx.Client, sim: Simulator, step: Step) -> tuple[Any, ...]:
    """Queue the step's fault on ``sim``, send it, and describe what came back."""
    if step.fault is not None:
        sim.faults.enqueue(step.fault, retry_after=step.retry_after)
    creds = sim.credentials
    headers = dict(step.headers or {})
    auth: tuple[str, str] | None = None
    if step.auth == "key":
        headers.update(key_headers(creds))
    elif step.auth == "wrong_key":
        headers.update({"X-Api-Key": creds.api_key, "X-Api-Secret": "not-the-secret"})
    elif step.auth in ("legacy", "wrong_legacy"):
        auth = (creds.username, creds.password if step.auth == "legacy" else "wrong")
    elif step.auth in ("oauth_client", "wrong_client"):
        auth = (creds.client_id, creds.client_secret if step.auth == "oauth_client" else "no")
    try:
        response = client.request(
            step.method,
            step.path,
            params=step.params,
            headers=headers,
            auth=auth,
            data=step.form,
        )
    except httpx.TransportError as exc:
        return ("failed", type(exc).__name__, str(exc))
    return ("answered", response.status_code, response.headers.multi_items(), response.content)


def loggable(record: RequestRecord) -> tuple[Any, ...]:
    """A log record without its arrival times."""
    return (
        record.method,
        record.path,
        record.query,
        record.status,
        record.credential,
        record.kind,
        record.fault,
        record.endpoint,
    )


def test_every_request_is_answered_and_logged_alike(make_twins: Callable[..., Twins]) -> None:
    twins = make_twins(faults=QUICK_FAULTS)
    steps = script(twins.served.world)
    over_socket, in_process = twins.socket_client(), twins.in_process_client()
    seen = []
    for step in steps:
        expected = send(over_socket, twins.served, step)
        started = time.monotonic()
        assert send(in_process, twins.in_process, step) == expected, step
        if step.fault == "slow":
            assert time.monotonic() - started >= QUICK_FAULTS.slow_seconds
        seen.append(expected[:2])
    # the script reaches answers of every kind, and both failures
    assert {(200,), (204,), (401,), (403,), (404,), (429,), (501,), (503,)} <= {
        outcome[1:] for outcome in seen
    }
    assert seen.count(("failed", "RemoteProtocolError")) == 2
    served_log = [loggable(record) for record in twins.served.request_log]
    assert [loggable(record) for record in twins.in_process.request_log] == served_log
    assert len(served_log) == len(steps) - 1  # HEAD never reaches the simulator


def test_drop_and_truncate_fail_as_a_socket_does(make_twins: Callable[..., Twins]) -> None:
    twins = make_twins()
    client = twins.in_process_client()
    headers = key_headers(twins.in_process.credentials)
    twins.in_process.faults.enqueue("drop")
    with pytest.raises(httpx.RemoteProtocolError, match="disconnected without sending"):
        client.get("/v1/spaces", headers=headers)
    twins.in_process.faults.enqueue("truncate")
    with client.stream("GET", "/v1/spaces", headers=headers) as response:
        assert response.status_code == 200
        declared = int(response.headers["Content-Length"])
        received: list[bytes] = []
        with pytest.raises(httpx.RemoteProtocolError, match="complete message body"):
            received.extend(response.iter_bytes())  # keeps what came before the failure
    assert len(b"".join(received)) == declared // 2
    assert [record.status for record in twins.in_process.request_log] == [0, 200]


def test_latency_is_waited_in_process_too(make_twins: Callable[..., Twins]) -> None:
    twins = make_twins(latency=0.1)
    client = twins.in_process_client()
    started = time.monotonic()
    response = client.get("/v1/spaces", headers=key_headers(twins.in_process.credentials))
    assert response.status_code == 200
    assert time.monotonic() - started >= 0.1


def test_the_rate_limit_counts_in_process_requests(make_twins: Callable[..., Twins]) -> None:
    twins = make_twins(rate_limit=(240, 2))

    def burst(client: httpx.Client, sim: Simulator) -> list[tuple[int, bool]]:
        headers = key_headers(sim.credentials)
        answers = [client.get("/v1/spaces", headers=headers) for _ in range(4)]
        return [(answer.status_code, "Retry-After" in answer.headers) for answer in answers]

    in_process = burst(twins.in_process_client(), twins.in_process)
    assert in_process == [(200, False), (200, False), (429, True), (429, False)]
    assert burst(twins.socket_client(), twins.served) == in_process


def test_an_oauth_login_works_in_process(make_twins: Callable[..., Twins]) -> None:
    twins = make_twins()
    sim, client = twins.in_process, twins.in_process_client()
    creds = sim.credentials
    grant = client.post(
        "/token",
        data={"grant_type": "pin_code", "pin_code": sim.issue_pin()},
        auth=(creds.client_id, creds.client_secret),
    )
    assert grant.status_code == 200
    bearer = {"Authorization": f"Bearer {grant.json()['access_token']}"}
    spaces = client.get("/v1/spaces", headers=bearer)
    assert spaces.status_code == 200
    assert spaces.content == client.get("/v1/spaces", headers=key_headers(creds)).content
    sim.expire_access_tokens()
    assert client.get("/v1/spaces", headers=bearer).json()["error"] == "invalid_token"


@pytest.mark.parametrize("kind", ["drop", "truncate", "500", "503", "html", "bad_json"])
def test_the_mirrors_client_sees_a_fault_alike_either_way(
    make_twins: Callable[..., Twins], kind: str
) -> None:
    twins = make_twins()
    seen = []
    for sim, settings, transport in (
        (twins.served, settings_for(twins.served), None),
        (twins.in_process, in_process_settings(), twins.in_process.transport()),
    ):
        sim.faults.enqueue(kind)
        with AssemblaClient(
            settings, credentials_for(sim), transport=transport, legacy_transport=transport
        ) as client:
            spaces = client.get("/v1/spaces")  # retried once, then answered
            seen.append((spaces, client.stats.snapshot()))
    (over_socket, socket_stats), (in_process, in_process_stats) = seen
    assert in_process == over_socket
    assert in_process_stats == socket_stats
    assert in_process_stats.retries == 1


@pytest.mark.parametrize("kind", ["trickle", "trickle_headers", "endless", "huge"])
def test_hostile_faults_say_they_need_a_socket(make_twins: Callable[..., Twins], kind: str) -> None:
    twins = make_twins()
    twins.in_process.faults.enqueue(kind)
    client = twins.in_process_client()
    with pytest.raises(SocketOnlyFault, match=f"the '{kind}' fault needs a socket"):
        client.get("/v1/spaces", headers=key_headers(twins.in_process.credentials))


def test_a_mirror_synced_in_process_equals_one_synced_over_sockets(
    make_twins: Callable[..., Twins], tmp_path: Path
) -> None:
    twins = make_twins("small")
    over_sockets, in_process = tmp_path / "sockets.db", tmp_path / "in-process.db"
    # decoded here on both sides: only the transport differs
    assert run_sync(twins.served, over_sockets, with_comments=True, decode_processes=0).ok
    assert run_sync_in_process(
        twins.in_process, in_process, with_comments=True, decode_processes=0
    ).ok
    assert_same_mirror(in_process, over_sockets)
    assert twins.in_process.request_counts() == twins.served.request_counts()
