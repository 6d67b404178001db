"""A hostile server over real HTTP: the Date header, trickled, endless and huge answers.

Each slow answer must end within about 0.1 s of the client leaving or the server
stopping, so these tests also time ``Simulator.stop()`` while one is in progress.
"""

from __future__ import annotations

import itertools
import json
import re
import socket
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime

import httpx
import pytest

from assembla_mirror.simulator import Clock, FaultConfig, Scale, Simulator, World
from assembla_mirror.simulator.faults import PIECE_BYTES, endless_body, huge_body

from .helpers import TLS, connect, get, key_headers, post

TRICKLE = 0.2
HUGE = 3_000_000
#: how long stop() may take with a slow answer in progress (it should take ~0.1 s)
PROMPT = 1.5


@pytest.fixture
def hostile() -> Iterator[Simulator]:
    """A simulator whose trickles pause 0.2 s per byte and whose huge answers are 3 MB."""
    world = World.generate(seed=4, scale=Scale())
    with Simulator(world, faults=FaultConfig(trickle_seconds=TRICKLE, huge_bytes=HUGE)) as sim:
        yield sim


def impatient(sim: Simulator, read: float) -> httpx.Client:
    """A client of ``sim`` that gives up when no byte arrives for ``read`` seconds."""
    return httpx.Client(
        base_url=sim.api_url,
        headers=key_headers(sim.credentials),
        timeout=httpx.Timeout(5.0, read=read),
        verify=TLS,
    )


def handler_threads() -> set[threading.Thread]:
    """The live request-handler threads of every simulator in this process."""
    return {t for t in threading.enumerate() if "process_request_thread" in t.name}


def stops_promptly(sim: Simulator, busy: set[threading.Thread]) -> bool:
    """Stop ``sim``; whether that, and the end of the ``busy`` handler threads, took < PROMPT.

    ``stop()`` itself never waits for handler threads (they are daemons), so a
    slow answer that missed the stop would live on: wait for the threads too.
    """
    assert busy
    deadline = time.monotonic() + PROMPT
    sim.stop()
    for thread in busy:
        thread.join(max(0.0, deadline - time.monotonic()))
    return time.monotonic() < deadline and not any(t.is_alive() for t in busy)


def served_at(response: httpx.Response) -> datetime:
    """The instant a response's ``Date`` header states."""
    return parsedate_to_datetime(response.headers["date"])


# --- Date -------------------------------------------------------------------------------


def test_every_answer_carries_the_world_clock_as_date() -> None:
    world = World.generate(seed=4, scale=Scale(), clock=Clock(offset=-90 * 86400))
    me = world.primary_user.id
    own_task = next(t for t in world.state.tasks.values() if t.user_id == me)
    with Simulator(world) as sim, connect(sim) as client:
        creds = sim.credentials
        sim.faults.enqueue("500", path_prefix="/v1/tasks")
        sim.faults.enqueue("429", path_prefix="/v1/tasks")
        answers = {
            "api": client.get("/v1/user"),
            "204": client.get("/v1/activity", params={"page": 999}),
            "404": client.get("/v1/nothing/here"),
            "500 fault": client.get("/v1/tasks"),
            "429 fault": client.get("/v1/tasks"),
            "401": get(f"{sim.api_url}/v1/user"),
            "legacy xml": get(
                f"{sim.legacy_url}/user/time_entries/{own_task.id}/time_logs",
                auth=(creds.login, creds.password),
            ),
            "oauth": post(f"{sim.api_url}/token", params={"grant_type": "pin_code"}),
            "http.server's own 501": client.head("/v1/user"),
        }
        expected = datetime.now(UTC) - timedelta(days=90)
        assert answers["legacy xml"].headers["content-type"].startswith("application/xml")
        assert answers["204"].status_code == 204
        assert answers["http.server's own 501"].status_code == 501
        for what, answer in answers.items():
            assert abs(served_at(answer) - expected) < timedelta(seconds=30), what
        world.clock.advance(3600)
        later = served_at(client.get("/v1/user"))
    assert timedelta(minutes=59) < later - served_at(answers["api"]) < timedelta(minutes=61)
    assert answers["api"].headers["date"].endswith(" GMT")


def test_date_follows_a_frozen_clock(tiny_sim: Simulator, tiny: httpx.Client) -> None:
    moment = datetime(2031, 5, 6, 7, 8, 9, tzinfo=UTC)
    tiny_sim.world.clock.freeze(moment)
    assert tiny.get("/v1/user").headers["date"] == "Tue, 06 May 2031 07:08:09 GMT"


# --- trickle ------------------------------------------------------------------------------


def test_trickle_sends_headers_then_a_byte_per_interval(hostile: Simulator) -> None:
    with connect(hostile) as client:
        expected = client.get("/v1/user").content
        hostile.faults.enqueue("trickle")
        started = time.monotonic()
        with client.stream("GET", "/v1/user") as response:
            headers_after = time.monotonic() - started
            assert response.status_code == 200
            assert int(response.headers["content-length"]) == len(expected)
            arrivals, pieces = [headers_after], []
            for piece in response.iter_raw():
                arrivals.append(time.monotonic() - started)
                pieces.append(piece)
                if len(pieces) == 4:
                    break
    assert headers_after < 1.0  # at once, not trickled (that would take ~30 s)
    assert pieces == [expected[i : i + 1] for i in range(4)]
    gaps = [b - a for a, b in itertools.pairwise(arrivals)]
    assert all(TRICKLE * 0.75 < gap < TRICKLE * 5 for gap in gaps), gaps
    assert hostile.request_log[-1].fault == "trickle"


def test_a_trickle_times_out_a_client_with_a_short_read_timeout(hostile: Simulator) -> None:
    hostile.faults.enqueue("trickle")
    with impatient(hostile, read=TRICKLE / 2) as client, pytest.raises(httpx.ReadTimeout):
        client.get("/v1/user")


def test_trickle_notices_the_client_leaving(hostile: Simulator) -> None:
    hostile.faults.configure(FaultConfig(trickle_seconds=30))
    hostile.faults.enqueue("trickle")
    with connect(hostile) as client, client.stream("GET", "/v1/user") as response:
        assert response.status_code == 200
    # The client hung up mid-body: the handler must not sit out its 30 s pause.
    assert wait_for(lambda: not server_connections(hostile), seconds=2)


def test_trickle_headers_sends_the_status_line_then_header_bytes(hostile: Simulator) -> None:
    hostile.faults.enqueue("trickle_headers")
    host, port = hostile.api_url.removeprefix("http://").split(":")
    creds = hostile.credentials
    request = (
        f"GET /v1/user HTTP/1.1\r\nHost: {host}\r\nX-Api-Key: {creds.api_key}\r\n"
        f"X-Api-Secret: {creds.api_secret}\r\n\r\n"
    )
    with socket.create_connection((host, int(port)), timeout=3) as sock:
        started = time.monotonic()
        sock.sendall(request.encode())
        status = b""
        while not status.endswith(b"\r\n"):
            status += sock.recv(1024)
        status_after = time.monotonic() - started
        arrivals, header = [status_after], b""
        for _ in range(4):
            header += sock.recv(1024)
            arrivals.append(time.monotonic() - started)
    assert status == b"HTTP/1.1 200 OK\r\n"
    assert status_after < 1.0
    assert header == b"Date"  # one byte per read: the block trickles
    gaps = [b - a for a, b in itertools.pairwise(arrivals)]
    assert all(TRICKLE * 0.75 < gap < TRICKLE * 5 for gap in gaps), gaps


def test_trickle_headers_times_out_a_client(hostile: Simulator) -> None:
    hostile.faults.enqueue("trickle_headers")
    with impatient(hostile, read=TRICKLE / 2) as client, pytest.raises(httpx.ReadTimeout):
        client.get("/v1/user")


@pytest.mark.parametrize("kind", ["trickle", "trickle_headers"])
def test_stop_is_prompt_during_a_trickle(hostile: Simulator, kind: str) -> None:
    hostile.faults.configure(FaultConfig(trickle_seconds=30))
    hostile.faults.enqueue(kind)
    host, port = hostile.api_url.removeprefix("http://").split(":")
    creds = hostile.credentials
    idle = handler_threads()
    with socket.create_connection((host, int(port)), timeout=3) as sock:
        sock.sendall(
            f"GET /v1/user HTTP/1.1\r\nHost: x\r\nX-Api-Key: {creds.api_key}\r\n"
            f"X-Api-Secret: {creds.api_secret}\r\n\r\n".encode()
        )
        assert sock.recv(1024).startswith(b"HTTP/1.1 200 OK\r\n")
        assert stops_promptly(hostile, handler_threads() - idle)


# --- endless and huge ---------------------------------------------------------------------


def test_endless_keeps_sending_and_stop_is_prompt(hostile: Simulator) -> None:
    hostile.faults.enqueue("endless", path_prefix="/v1/spaces")
    limit = 5_000_000
    idle = handler_threads()
    with connect(hostile) as client, client.stream("GET", "/v1/spaces") as response:
        assert response.status_code == 200
        assert response.headers["transfer-encoding"] == "chunked"
        assert response.headers["content-type"].startswith("application/json")
        assert "content-length" not in response.headers
        head, total = b"", 0
        # Held in a name: an abandoned iterator would be closed, and the connection with it.
        pieces = response.iter_bytes()
        for piece in pieces:
            if len(head) < 200_000:
                head += piece
            total += len(piece)
            if total > limit:
                break
        # The client stops reading but stays connected: the server's send buffer fills.
        assert stops_promptly(hostile, handler_threads() - idle)
        del pieces
    assert total > limit
    assert head.startswith(b'[{"id":1,"summary":"xxx')
    ids = [int(n) for n in re.findall(rb'\{"id":(\d+),', head)]
    assert ids == list(range(1, len(ids) + 1))
    assert len(ids) > 100


def test_endless_ends_when_the_client_leaves(hostile: Simulator) -> None:
    hostile.faults.enqueue("endless")
    with connect(hostile) as client, client.stream("GET", "/v1/user") as response:
        next(response.iter_bytes())
    assert wait_for(lambda: not server_connections(hostile), seconds=2)


def test_huge_sends_its_length_of_valid_json(hostile: Simulator) -> None:
    hostile.faults.enqueue("huge", path_prefix="/v1/tasks")
    with connect(hostile) as client:
        response = client.get("/v1/tasks")
        assert client.get("/v1/tasks").status_code == 200  # the connection stays usable
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    assert int(response.headers["content-length"]) == len(response.content) == HUGE
    items = json.loads(response.content)
    assert isinstance(items, list)
    assert [item["id"] for item in items] == list(range(1, len(items) + 1))
    assert all(set(item) == {"id", "summary"} for item in items)


def test_stop_is_prompt_during_a_huge_answer(hostile: Simulator) -> None:
    hostile.faults.configure(FaultConfig(huge_bytes=2_000_000_000))
    hostile.faults.enqueue("huge")
    idle = handler_threads()
    with connect(hostile) as client, client.stream("GET", "/v1/user") as response:
        assert int(response.headers["content-length"]) == 2_000_000_000
        pieces = response.iter_bytes()  # held: dropping it would close the connection
        next(pieces)
        assert stops_promptly(hostile, handler_threads() - idle)
        del pieces


def test_hostile_bodies_are_made_in_small_pieces() -> None:
    length, pieces = huge_body(200_000_000)
    assert length == 200_000_000
    first = [next(pieces) for _ in range(5)]
    assert first[0] == b"["
    assert all(len(piece) <= PIECE_BYTES + 1000 for piece in first)
    endless = endless_body()
    assert all(len(next(endless)) <= PIECE_BYTES for _ in range(5))
    for size in (0, 23, 1001, 1002, 2003, 65_536 * 3 + 17):
        length, pieces = huge_body(size)
        body = b"".join(pieces)
        assert len(body) == length == max(size, 23)
        assert all(isinstance(item, dict) for item in json.loads(body))


# --- helpers ------------------------------------------------------------------------------


def server_connections(sim: Simulator) -> set[socket.socket]:
    """The connections the simulator's server still holds open (a white-box peek)."""
    server = sim._server
    assert server is not None
    with server.connections_lock:
        return set(server.connections)


def wait_for(condition: Callable[[], bool], seconds: float) -> bool:
    """Poll ``condition`` until it holds or ``seconds`` pass."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return bool(condition())


def test_empty_and_copies_lie_only_to_the_query_they_name(hostile: Simulator) -> None:
    space = hostile.world.spaces_of()[0].id
    tickets = f"/v1/spaces/{space}/tickets"
    hostile.faults.enqueue("copies", path_prefix=tickets, query="number[]")
    hostile.faults.enqueue("empty", path_prefix=tickets, query="page=2")
    with impatient(hostile, read=5.0) as client:
        walk = client.get(tickets, params={"report": 0, "per_page": 5})
        assert walk.status_code == 200  # not page 2: the truth
        assert len(walk.json()) == 5
        page_one = {"report": 0, "page": 1, "per_page": 5}
        assert client.get(tickets, params=page_one).json() == walk.json()
        numbers = [item["number"] for item in walk.json()]
        lied = client.get(tickets, params={"number[]": numbers})
        assert len(lied.json()) == 100
        assert {item["id"] for item in lied.json()} == {walk.json()[0]["id"]}
        assert client.get(tickets, params={"page": 2}).status_code == 204
        truthful = client.get(tickets, params={"number[]": numbers})
        assert sorted(item["number"] for item in truthful.json()) == sorted(numbers)
    assert hostile.faults.pending == 0
