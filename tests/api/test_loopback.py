"""The client against the simulator over real loopback HTTP: paging, auth, faults, pacing."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from assembla_mirror.api.auth import exchange_pin
from assembla_mirror.api.client import AssemblaClient
from assembla_mirror.api.credentials import (
    Credentials,
    load_credentials,
    read_credentials_file,
    save_credentials,
)
from assembla_mirror.api.settings import RateLimit
from assembla_mirror.errors import (
    ApiError,
    AuthError,
    ForbiddenError,
    NotFoundError,
    ResponseFormatError,
    ToolNotFoundError,
)
from assembla_mirror.simulator import FaultConfig, Simulator, World
from tests.api.reading import get_list, get_time_logs, iter_pages

from .simulated import (
    everything_secret,
    foreign_space,
    key_credentials,
    live_ticket_ids,
    most_in_any_window,
    new_world,
    records,
    serving,
    settings_for,
    settled_log,
    ticket_space,
)


@pytest.fixture
def world() -> World:
    return new_world()


@pytest.fixture
def sim(world: World) -> Iterator[Simulator]:
    with serving(world) as running:
        yield running


@pytest.fixture
def client(sim: Simulator) -> Iterator[AssemblaClient]:
    with AssemblaClient(settings_for(sim), key_credentials(sim)) as running:
        yield running


def assert_clean(text: str, sim: Simulator, *extra: str) -> None:
    for secret in [*everything_secret(sim), *extra]:
        assert secret not in text


# -- paging -------------------------------------------------------------------------------


@pytest.mark.parametrize("total", [100, 200])
def test_a_list_of_an_exact_multiple_of_100_ends_with_one_204(
    sim: Simulator, world: World, client: AssemblaClient, total: int
) -> None:
    space_id = ticket_space(world)
    while len(live_ticket_ids(world, space_id)) < total:
        world.add_ticket(space_id, summary="filler")
    for number in sorted(world.state.require_space(space_id).tickets)[total:]:
        world.delete_ticket(space_id, number)
    assert len(live_ticket_ids(world, space_id)) == total
    sim.clear_log()
    path = f"/v1/spaces/{space_id}/tickets"
    pages = list(iter_pages(client, path, {"report": 0}))
    assert {item["id"] for page in pages for item in page.items} == live_ticket_ids(world, space_id)
    log = records(sim, path, count=total // 100 + 1)
    assert [r.status for r in log] == [200] * (total // 100) + [204]
    assert pages[-1].last
    assert pages[-1].items == []


def test_an_empty_list_is_a_204(sim: Simulator, client: AssemblaClient) -> None:
    sim.clear_log()
    assert get_list(client, "tasks", {"from": "2100-01-01"}) == []
    assert [r.status for r in records(sim, "/v1/tasks", count=1)] == [204]


def test_an_unpaged_list_longer_than_a_page_is_read_once_more_and_stops(
    sim: Simulator, world: World, client: AssemblaClient
) -> None:
    space_id = ticket_space(world)
    for index in range(110):
        world.add_member(space_id, world.add_user(login=f"bulk{index}").id)
    expected = len(world.state.require_space(space_id).roles)
    sim.clear_log()
    path = f"/v1/spaces/{space_id}/users"
    pages = list(iter_pages(client, path))
    users = [item for page in pages for item in page.items]
    assert len(users) == len({u["id"] for u in users}) == expected > 100
    # The second answer repeats the first, so the walk stops there.
    assert len(records(sim, path, count=2)) == 2


def test_a_space_without_the_ticket_tool(world: World, client: AssemblaClient) -> None:
    without = next(
        s.id for s in world.spaces_of() if world.state.require_space(s.id).ticket_tool is None
    )
    with pytest.raises(ToolNotFoundError):
        list(iter_pages(client, f"spaces/{without}/tickets", {"report": 0}))


def test_a_missing_resource_is_not_found(client: AssemblaClient) -> None:
    with pytest.raises(NotFoundError):
        client.get("spaces/no-such-space-at-all")


# -- auth -------------------------------------------------------------------------------------


def test_missing_credentials_send_nothing(sim: Simulator) -> None:
    sim.clear_log()
    with (
        AssemblaClient(settings_for(sim), Credentials()) as client,
        pytest.raises(AuthError, match="ASSEMBLA_API_KEY"),
    ):
        client.whoami()
    assert sim.request_log == []


def test_wrong_key_pair(sim: Simulator) -> None:
    wrong = Credentials(api_key="wrong-key-0000", api_secret="wrong-secret-0000")
    with AssemblaClient(settings_for(sim), wrong) as client, pytest.raises(AuthError) as caught:
        client.whoami()
    assert "ASSEMBLA_API_KEY and ASSEMBLA_API_SECRET" in str(caught.value)
    assert_clean(str(caught.value), sim, *wrong.secrets())
    assert [r.status for r in settled_log(sim, 1)] == [401]


def test_a_foreign_space_is_forbidden_without_retries(
    sim: Simulator, world: World, client: AssemblaClient
) -> None:
    sim.clear_log()
    with pytest.raises(ForbiddenError):
        client.get(f"spaces/{foreign_space(world)}")
    assert [r.status for r in settled_log(sim, 1)] == [403]


def pin_login(sim: Simulator, path: Path) -> Credentials:
    """The PIN flow by hand; the tokens land in the credentials file at ``path``."""
    creds = sim.credentials
    grant = exchange_pin(sim.api_url, creds.client_id, creds.client_secret, sim.issue_pin())
    save_credentials(
        Credentials(
            access_token=grant.access_token,
            refresh_token=grant.refresh_token,
            client_id=creds.client_id,
            client_secret=creds.client_secret,
        ),
        path,
    )
    return load_credentials({}, path)


def test_an_expired_token_is_refreshed_transparently_and_stored(
    sim: Simulator, tmp_path: Path
) -> None:
    path = tmp_path / "conf" / "credentials.json"
    creds = pin_login(sim, path)
    with AssemblaClient(settings_for(sim), creds) as client:
        first = client.whoami()
        settled_log(sim, 2)  # the PIN exchange and this call, before clearing
        sim.expire_access_tokens()
        sim.clear_log()
        assert client.whoami() == first
        assert client.stats.refreshes == 1
    assert [(r.method, r.path, r.status) for r in settled_log(sim, 3)] == [
        ("GET", "/v1/user", 401),
        ("POST", "/token", 200),
        ("GET", "/v1/user", 200),
    ]
    stored = read_credentials_file(path)
    assert stored["access_token"] != creds.access_token
    assert stored["refresh_token"] == creds.refresh_token
    assert path.stat().st_mode & 0o777 == 0o600
    with AssemblaClient(settings_for(sim), load_credentials({}, path)) as client:
        assert client.whoami() == first  # the stored token works in the next run


def test_a_dead_refresh_token_says_run_mirror_auth_again(sim: Simulator, tmp_path: Path) -> None:
    creds = pin_login(sim, tmp_path / "credentials.json")
    sim.expire_access_tokens()
    sim.revoke_refresh_tokens()
    with AssemblaClient(settings_for(sim), creds) as client, pytest.raises(AuthError) as caught:
        client.whoami()
    assert "refresh token is no longer valid: run `mirror auth` again" in str(caught.value)
    assert_clean(str(caught.value), sim, *creds.secrets())


def test_legacy_time_logs_and_a_wrong_legacy_password(
    sim: Simulator, world: World, client: AssemblaClient
) -> None:
    caller = world.primary_user.id
    task_id = next(
        tid
        for tid, logs in world.state.time_logs.items()
        if logs and world.task(tid).user_id == caller
    )
    logs = get_time_logs(client, task_id)
    assert {int(log["id"]) for log in logs} == {log.id for log in world.state.time_logs[task_id]}
    assert all(log["task_id"] == str(task_id) for log in logs)
    wrong = key_credentials(sim).with_(password="not-the-password")
    with AssemblaClient(settings_for(sim), wrong) as other, pytest.raises(AuthError) as caught:
        get_time_logs(other, task_id)
    assert "ASSEMBLA_USERNAME and ASSEMBLA_PASSWORD" in str(caught.value)
    assert_clean(str(caught.value), sim, "not-the-password")


def test_another_users_time_logs_are_not_found(world: World, client: AssemblaClient) -> None:
    caller = world.primary_user.id
    task_id = next(tid for tid, task in world.state.tasks.items() if task.user_id != caller)
    with pytest.raises(NotFoundError):
        get_time_logs(client, task_id)


# -- faults -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "seen_as"),
    [
        ("500", {500: 2, 200: 1}),
        ("503", {503: 2, 200: 1}),
        ("drop", {"connection dropped": 2, 200: 1}),
        ("truncate", {"truncated response body": 2, 200: 1}),
        ("html", {200: 3}),
        ("bad_json", {200: 3}),
    ],
)
def test_a_transient_fault_is_retried(
    sim: Simulator, world: World, client: AssemblaClient, kind: str, seen_as: dict[object, int]
) -> None:
    sim.faults.enqueue(kind, count=2, path_prefix="/v1/spaces")
    sim.clear_log()
    spaces = get_list(client, "spaces")
    assert {s["id"] for s in spaces} == {s.id for s in world.spaces_of()}
    assert len(records(sim, "/v1/spaces", count=3)) == 3
    stats = client.stats.snapshot()
    assert stats.retries == 2
    seen: dict[object, int] = dict(stats.by_status.items())
    seen.update(stats.failures)
    assert seen == seen_as


def test_429_without_retry_after(sim: Simulator, client: AssemblaClient) -> None:
    sim.faults.enqueue("429", count=1)
    sim.clear_log()
    client.whoami()
    assert [r.status for r in settled_log(sim, 2)] == [429, 200]
    assert client.stats.throttled == 1


def test_429_with_retry_after_holds_every_request_back(
    sim: Simulator, client: AssemblaClient
) -> None:
    sim.faults.enqueue("429", count=1, retry_after=1)
    sim.clear_log()
    client.whoami()
    throttled, retried = settled_log(sim, 2)
    assert throttled.status == 429
    assert retried.status == 200
    assert retried.t - throttled.t >= 1.0


def test_retries_exhausted_name_method_path_status_and_leak_nothing(sim: Simulator) -> None:
    sim.faults.enqueue("503", count=10)
    creds = key_credentials(sim)
    settings = settings_for(sim, max_attempts=3)
    with AssemblaClient(settings, creds) as client, pytest.raises(ApiError) as caught:
        get_list(client, "spaces/abc/tickets", {"report": 0})
    assert str(caught.value) == "GET /v1/spaces/abc/tickets failed after 3 attempts: HTTP 503"
    assert_clean(repr(caught.value.__context__) + str(caught.value), sim, *creds.secrets())
    assert len(settled_log(sim, 3)) == 3


def test_bad_bodies_exhausted_are_a_format_error(sim: Simulator) -> None:
    sim.faults.enqueue("bad_json", count=10)
    settings = settings_for(sim, max_attempts=2)
    with (
        AssemblaClient(settings, key_credentials(sim)) as client,
        pytest.raises(ResponseFormatError, match="GET /v1/user failed after 2 attempts"),
    ):
        client.whoami()


# -- pacing measured at the server ------------------------------------------------------------


def hammer(client: AssemblaClient, workers: int, per_worker: int) -> None:
    errors: list[BaseException] = []

    def work() -> None:
        try:
            for _ in range(per_worker):
                client.whoami()
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []


def test_default_pacing_never_puts_more_than_20_requests_in_a_second(sim: Simulator) -> None:
    sim.rate_limit = (240, 20)  # the simulator enforces the real limits too
    with AssemblaClient(settings_for(sim, rate_limit=RateLimit()), key_credentials(sim)) as client:
        sim.clear_log()
        hammer(client, workers=6, per_worker=5)
    log = settled_log(sim, 30)
    times = [r.t for r in log]
    assert len(times) == 30
    assert most_in_any_window(times, 1.0) <= 20
    assert all(r.status == 200 for r in log)


def test_scaled_windows_hold_for_both_limits(sim: Simulator) -> None:
    # The minute rule with a 0.6 s "minute": 8 per 0.6 s, and 3 per 0.1 s.
    limit = RateLimit(per_minute=8, per_second=3, minute_window=0.6, second_window=0.1)
    with AssemblaClient(settings_for(sim, rate_limit=limit), key_credentials(sim)) as client:
        sim.clear_log()
        hammer(client, workers=5, per_worker=5)
    times = [r.t for r in settled_log(sim, 25)]
    assert len(times) == 25
    assert most_in_any_window(times, 0.6) <= 8
    assert most_in_any_window(times, 0.1) <= 3


def test_pacing_holds_with_latency_and_a_slow_request(world: World) -> None:
    limit = RateLimit(per_minute=6, per_second=2, minute_window=0.5, second_window=0.1)
    with serving(world, faults=FaultConfig(slow_seconds=0.3), latency=0.02) as sim:
        sim.faults.enqueue("slow", count=1)
        with AssemblaClient(settings_for(sim, rate_limit=limit), key_credentials(sim)) as client:
            hammer(client, workers=4, per_worker=4)
        times = [r.t for r in settled_log(sim, 16)]
    assert len(times) == 16
    assert most_in_any_window(times, 0.5) <= 6
    assert most_in_any_window(times, 0.1) <= 2
