"""``/v1/tasks`` visibility and filters, and the legacy XML time logs."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import UTC, timedelta
from decimal import Decimal

import httpx
import pytest

from assembla_mirror.simulator import Simulator, World
from assembla_mirror.simulator.entities import Task

from .helpers import all_pages, get, instant


def visible(world: World) -> list[Task]:
    return world.truth().tasks


def own(world: World) -> list[Task]:
    caller = world.primary_user.id
    return [t for t in visible(world) if t.user_id == caller]


def roles(world: World) -> dict[str, str]:
    caller = world.primary_user.id
    return {d.space.id: d.roles[caller].role for d in world.state.member_spaces(caller)}


def test_default_is_the_callers_own_tasks(small: httpx.Client, small_world: World) -> None:
    listed = all_pages(small, "/v1/tasks")
    assert sorted(t["id"] for t in listed) == sorted(t.id for t in own(small_world))
    assert [t["id"] for t in listed] == sorted(t["id"] for t in listed)  # default: id asc
    task = listed[0]
    assert isinstance(task["hours"], str)
    assert Decimal(task["hours"]) > 0
    assert set(task) >= {"begin_at", "end_at", "billed", "ticket_id", "ticket_number", "url"}


def test_users_are_added_only_in_owned_spaces(small: httpx.Client, small_world: World) -> None:
    caller = small_world.primary_user.id
    role = roles(small_world)
    everyone = [t for t in small_world.state.tasks.values() if t.space_id in role]
    in_member = {t.user_id for t in everyone if role[t.space_id] == "member"}
    in_owned = {t.user_id for t in everyone if role[t.space_id] == "owner"}
    other = sorted((in_member & in_owned) - {caller})[0]  # has tasks on both sides
    listed = all_pages(small, "/v1/tasks", **{"users[]": other})
    theirs = [t for t in listed if t["user_id"] == other]
    assert theirs
    assert all(role[t["space_id"]] == "owner" for t in theirs)
    expected = {t.id for t in everyone if t.user_id == caller}
    expected |= {t.id for t in everyone if t.user_id == other and role[t.space_id] == "owner"}
    assert {t["id"] for t in listed} == expected


def test_all_users_gives_the_whole_truth(small: httpx.Client, small_world: World) -> None:
    listed = all_pages(small, "/v1/tasks", **{"users[]": list(small_world.state.users)})
    assert sorted(t["id"] for t in listed) == sorted(t.id for t in visible(small_world))


def test_spaces_filter_by_id_or_wiki_name(small: httpx.Client, small_world: World) -> None:
    space = small_world.truth().spaces[0]
    expected = sorted(t.id for t in own(small_world) if t.space_id == space.id)
    for ref in (space.id, space.wiki_name):
        listed = all_pages(small, "/v1/tasks", **{"spaces[]": ref})
        assert sorted(t["id"] for t in listed) == expected


def test_ticket_ids_filter(small: httpx.Client, small_world: World) -> None:
    linked = [t for t in own(small_world) if t.ticket_id is not None][:2]
    ids = [t.ticket_id for t in linked]
    listed = all_pages(small, "/v1/tasks", **{"ticket_ids[]": ids})
    assert listed
    assert {t["ticket_id"] for t in listed} == set(ids)
    expected = {t.id for t in own(small_world) if t.ticket_id in ids}
    assert {t["id"] for t in listed} == expected


def test_from_to_dates_are_inclusive_on_the_utc_day(
    small: httpx.Client, small_world: World
) -> None:
    tasks = own(small_world)
    day = tasks[len(tasks) // 2].begin_at.astimezone(UTC).date()
    listed = all_pages(small, "/v1/tasks", **{"from": day.isoformat(), "to": day.isoformat()})
    expected = {t.id for t in tasks if t.begin_at.astimezone(UTC).date() == day}
    assert {t["id"] for t in listed} == expected
    later = all_pages(small, "/v1/tasks", **{"from": day.strftime("%d/%m/%Y")})
    assert {t["id"] for t in later} == {t.id for t in tasks if t.begin_at.date() >= day}


def test_from_to_with_times_compare_instants(small: httpx.Client, small_world: World) -> None:
    tasks = sorted(own(small_world), key=lambda t: t.begin_at)
    start = tasks[3].begin_at.replace(second=0)
    end = tasks[-4].begin_at.replace(second=0)
    listed = all_pages(
        small,
        "/v1/tasks",
        **{"from": start.strftime("%Y-%m-%d %H:%M"), "to": end.strftime("%Y-%m-%d %H:%M")},
    )
    expected = {t.id for t in tasks if start <= t.begin_at < end + timedelta(minutes=1)}
    assert {t["id"] for t in listed} == expected
    assert 0 < len(expected) < len(tasks)


def test_bad_dates_are_refused(small: httpx.Client) -> None:
    response = small.get("/v1/tasks", params={"from": "yesterday"})
    assert response.status_code == 422
    assert "from" in response.json()["base"][0]


@pytest.mark.parametrize("field", ["begin_at", "updated_at", "created_at"])
def test_sort_by(small: httpx.Client, field: str) -> None:
    listed = all_pages(small, "/v1/tasks", sort_by=field, sort_order="desc")
    keys = [(instant(t[field]), t["id"]) for t in listed]
    assert keys == sorted(keys, reverse=True)


def test_legacy_time_logs_xml(small_sim: Simulator, small_world: World) -> None:
    truth = small_world.truth()
    task_id = truth.time_logs[0].task_id
    expected = [log for log in truth.time_logs if log.task_id == task_id]
    creds = small_sim.credentials
    for suffix in ("", ".xml"):
        response = get(
            f"{small_sim.legacy_url}/user/time_entries/{task_id}/time_logs{suffix}",
            auth=(creds.username, creds.password),
            headers={"Accept": "application/xml"},
        )
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("application/xml")
        root = ET.fromstring(response.content)  # noqa: S314 (our own server's XML)
        assert (root.tag, root.get("type")) == ("time-logs", "array")
        logs = root.findall("time-log")
        assert [int(log.findtext("id") or 0) for log in logs] == [log.id for log in expected]
        for element, log in zip(logs, expected, strict=True):
            assert element.findtext("task-id") == str(task_id)
            assert element.findtext("user-id") == creds.user_id
            assert instant(element.findtext("created-at") or "") == log.created_at
            description = element.find("description")
            assert description is not None
            if log.description is None:
                assert description.get("nil") == "true"
            else:
                assert description.text == log.description


def test_legacy_time_logs_of_a_task_without_logs(tiny_sim: Simulator) -> None:
    world = tiny_sim.world
    space = world.spaces_of()[0].id
    task = world.add_task(space=space, hours="1.5")
    creds = tiny_sim.credentials
    response = get(
        f"{tiny_sim.legacy_url}/user/time_entries/{task.id}/time_logs",
        auth=(creds.username, creds.password),
    )
    assert response.status_code == 200
    assert ET.fromstring(response.content).findall("time-log") == []  # noqa: S314
