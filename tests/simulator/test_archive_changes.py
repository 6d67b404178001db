"""Changing the archive (tags, files, associations) and downloading through a storage host."""

from __future__ import annotations

import hashlib
from datetime import datetime

import httpx
import pytest

from assembla_mirror.simulator import IN_PROCESS_URL, Simulator, World, content
from assembla_mirror.simulator.entities import MISSING
from assembla_mirror.simulator.state import SpaceData

from .helpers import all_pages, connect, instant, key_headers


@pytest.fixture(autouse=True)
def frozen(tiny_sim: Simulator) -> None:
    """The served world's clock stands still, so "now" is exact (tests advance it)."""
    tiny_sim.world.clock.freeze()


def two_numbers(world: World) -> tuple[int, int]:
    """The numbers of the first two tickets of the archive space."""
    first, second = sorted(archive_space(world).tickets)[:2]
    return first, second


def archive_space(world: World) -> SpaceData:
    caller = world.primary_user.id
    return next(d for d in world.state.member_spaces(caller) if d.ticket_tool and d.files_tool)


def updated_at(client: httpx.Client, space: str, number: int) -> datetime:
    return instant(client.get(f"/v1/spaces/{space}/tickets/{number}").json()["updated_at"])


def test_tagging_bumps_the_ticket_and_emits_no_event(
    tiny_sim: Simulator, tiny: httpx.Client
) -> None:
    world = tiny_sim.world
    space = archive_space(world).space.id
    first, _ = two_numbers(world)
    events = len(world.state.events)
    tag = world.add_tag(space, "Priorité ★", state=1, color="#123456")
    ticket = world.ticket(space, first)
    before = updated_at(tiny, space, first)
    world.clock.advance(60)
    world.tag_ticket(space, first, "Priorité ★")
    assert updated_at(tiny, space, first) == world.clock.now() > before
    assert tag.id in {t["id"] for t in tiny.get(f"/v1/spaces/{space}/tickets/{first}/tags").json()}
    listed = all_pages(tiny, f"/v1/spaces/{space}/tags/{tag.id}/tickets")
    assert [t["id"] for t in listed] == [ticket.id]
    assert tiny.get(f"/v1/spaces/{space}/tags/proposed").json()[-1]["name"] == "Priorité ★"
    world.clock.advance(60)
    world.untag_ticket(space, first, tag.id)
    assert updated_at(tiny, space, first) == world.clock.now()
    assert tiny.get(f"/v1/spaces/{space}/tags/{tag.id}/tickets").status_code == 204
    with pytest.raises(KeyError):
        world.untag_ticket(space, first, tag.id)
    assert len(world.state.events) == events
    assert (ticket.id, tag.id) not in world.truth().ticket_tags


def test_tags_page_by_ten_and_deleting_one_bumps_nothing(
    tiny_sim: Simulator, tiny: httpx.Client
) -> None:
    world = tiny_sim.world
    data = archive_space(world)
    space = data.space.id
    first, _ = two_numbers(world)
    for index in range(12 - len(data.tags)):
        world.add_tag(space, f"extra {index}")
    assert len(tiny.get(f"/v1/spaces/{space}/tags").json()) == 10
    assert len(tiny.get(f"/v1/spaces/{space}/tags", params={"page": 2}).json()) == 2
    with pytest.raises(ValueError, match="already has"):
        world.add_tag(space, "extra 0")
    renamed = world.update_tag(space, "extra 0", name="renamed", state=4)
    assert tiny.get(f"/v1/spaces/{space}/tags/{renamed.id}").json()["state"] == 4
    tag = world.tag_ticket(space, first, renamed.id)
    bumped = updated_at(tiny, space, first)
    world.clock.advance(60)
    world.delete_tag(space, tag.id)
    assert tiny.get(f"/v1/spaces/{space}/tags/{tag.id}").status_code == 404
    assert tag.id not in {t["id"] for t in all_pages(tiny, f"/v1/spaces/{space}/tags")}
    assert updated_at(tiny, space, first) == bumped
    assert all(tag.id != t for _, t in world.truth().ticket_tags)


def test_files_attach_version_and_delete(tiny_sim: Simulator, tiny: httpx.Client) -> None:
    world = tiny_sim.world
    space = archive_space(world).space.id
    first, _ = two_numbers(world)
    events = len(world.state.events)
    world.clock.advance(60)
    doc = world.add_document(space, ticket_number=first, filename="trace ünïcode.log", size=70_000)
    assert doc.content_type == "text/plain"
    assert updated_at(tiny, space, first) == world.clock.now()
    attached = tiny.get(f"/v1/spaces/{space}/tickets/{first}/attachments").json()
    assert attached[-1]["id"] == doc.id
    assert attached[-1]["attachable_id"] == world.ticket(space, first).id
    download = f"/v1/spaces/{space}/documents/{doc.id}/download"
    old_bytes = tiny.get(download).content
    assert hashlib.sha256(old_bytes).hexdigest() == doc.sha256
    world.clock.advance(60)
    old_sha = doc.sha256
    world.update_document(space, doc.id, filesize=1234)
    served = tiny.get(f"/v1/spaces/{space}/documents/{doc.id}").json()
    assert (served["version"], served["filesize"]) == (2, 1234)
    assert instant(served["updated_at"]) == world.clock.now()
    assert updated_at(tiny, space, first) < world.clock.now()  # a new version bumps no ticket
    new_bytes = tiny.get(download).content
    assert len(new_bytes) == 1234
    assert new_bytes != old_bytes[:1234]
    assert doc.sha256 != old_sha
    newest = tiny.get(
        f"/v1/spaces/{space}/documents", params={"sort_by": "updated_at", "sort_order": "desc"}
    )
    assert newest.json()[0]["id"] == doc.id
    world.clock.advance(60)
    world.delete_document(space, doc.id)
    assert tiny.get(f"/v1/spaces/{space}/documents/{doc.id}").status_code == 404
    assert doc.id not in {d["id"] for d in all_pages(tiny, f"/v1/spaces/{space}/documents")}
    assert doc.id not in {d.id for d in world.truth().documents}
    assert updated_at(tiny, space, first) < world.clock.now()
    assert len(world.state.events) == events
    space_file = world.add_document(space, filename="plan.pdf", size=10)
    assert space_file.attachable_type is None
    assert space_file.content().startswith(b"%PDF")


def test_associations_normalise_and_bump_both_tickets(
    tiny_sim: Simulator, tiny: httpx.Client
) -> None:
    world = tiny_sim.world
    space = archive_space(world).space.id
    first, second = two_numbers(world)
    one, two = world.ticket(space, first), world.ticket(space, second)
    events = len(world.state.events)
    world.clock.advance(60)
    made = world.associate(space, first, second, 6)  # stored as: one is two's story
    assert (made.ticket1_id, made.ticket2_id, made.relationship) == (two.id, one.id, 5)
    child = world.associate(space, first, two.id, 1, by_id=True)
    assert (child.ticket1_id, child.ticket2_id, child.relationship) == (two.id, one.id, 0)
    raw = world.associate(space, first, second, 6, normalize=False)
    assert (raw.ticket1_id, raw.ticket2_id, raw.relationship) == (one.id, two.id, 6)
    with pytest.raises(ValueError, match="so already"):
        world.associate(space, second, first, 5)
    for number in (first, second):
        assert updated_at(tiny, space, number) == world.clock.now()
        listed = tiny.get(f"/v1/spaces/{space}/tickets/{number}/ticket_associations").json()
        assert {made.id, child.id, raw.id} <= {a["id"] for a in listed}
    world.clock.advance(60)
    world.dissociate(made.id)
    for number in (first, second):
        assert updated_at(tiny, space, number) == world.clock.now()
        listed = tiny.get(f"/v1/spaces/{space}/tickets/{number}/ticket_associations").json()
        assert made.id not in {a["id"] for a in listed}
    assert len(world.state.events) == events
    assert made.id not in {a.id for a in world.truth().associations}


def test_deleting_a_ticket_drops_its_tags_files_and_associations(
    tiny_sim: Simulator, tiny: httpx.Client
) -> None:
    world = tiny_sim.world
    space = archive_space(world).space.id
    first, second = two_numbers(world)
    victim, other = world.ticket(space, first), world.ticket(space, second)
    tag = world.add_tag(space, "doomed")
    world.tag_ticket(space, first, tag.id)
    doc = world.add_document(space, ticket_number=first, filename="a.png", size=300)
    link = world.associate(space, first, second, 2)
    world.clock.advance(60)
    world.delete_ticket(space, first)
    truth = world.truth()
    assert all(t != victim.id for t, _ in truth.ticket_tags)
    assert doc.id not in {d.id for d in truth.documents}
    assert link.id not in {a.id for a in truth.associations}
    assert tiny.get(f"/v1/spaces/{space}/tags/{tag.id}/tickets").status_code == 204
    assert updated_at(tiny, space, second) == world.clock.now()  # lost its association
    assert other.id in {t.id for t in truth.tickets}


def test_corrupt_serves_bad_archive_values(tiny_sim: Simulator, tiny: httpx.Client) -> None:
    world = tiny_sim.world
    data = archive_space(world)
    doc = next(iter(data.documents.values()))
    world.corrupt("document", doc.id, filesize="big", url=MISSING)
    served = tiny.get(f"/v1/spaces/{data.space.id}/documents/{doc.id}").json()
    assert served["filesize"] == "big"
    assert "url" not in served
    tag = next(iter(data.tags.values()))
    world.corrupt("tag", (data.space.id, tag.name), state=99)
    assert tiny.get(f"/v1/spaces/{data.space.id}/tags/{tag.id}").json()["state"] == 99


# --- downloads through a storage host ----------------------------------------------------------


def test_download_redirects_to_storage_that_gets_no_credentials(
    tiny_sim: Simulator, tiny: httpx.Client
) -> None:
    world = tiny_sim.world
    data = archive_space(world)
    doc = world.add_document(data.space.id, filename="big.zip", size=200_000)
    tiny_sim.storage_url = tiny_sim.api_url
    answer = tiny.get(f"/v1/spaces/{data.space.id}/documents/{doc.id}/download")
    assert answer.status_code == 302
    location = answer.headers["location"]
    assert location.startswith(f"{tiny_sim.api_url}/storage/{doc.id}/1?signature=")
    with httpx.Client(timeout=10) as bare:
        fetched = bare.get(location)
        assert fetched.content == doc.content()
        part = bare.get(location, headers={"Range": "bytes=100000-"})
        assert (part.status_code, part.content) == (206, doc.content()[100000:])
        assert bare.get(location.replace("signature=", "signature=0")).status_code == 403
    with connect(tiny_sim) as leaky:
        assert leaky.get(location).status_code == 200
    log = tiny_sim.storage_log
    assert [r.had_credentials for r in log] == [False, False, False, True]
    assert log[-1].credential_headers == ("X-Api-Key", "X-Api-Secret")
    assert all(r.kind == "storage" and r.credential is None for r in log)
    world.update_document(data.space.id, doc.id)
    with httpx.Client(timeout=10) as bare:
        assert bare.get(location).status_code == 404  # only the current version is stored


def test_in_process_storage_on_any_https_host(tiny_sim: Simulator) -> None:
    world = tiny_sim.world
    data = archive_space(world)
    doc = next(iter(data.documents.values()))
    tiny_sim.storage_url = "https://files.example.test:8443"
    headers = key_headers(tiny_sim.credentials)
    with httpx.Client(
        base_url=IN_PROCESS_URL, transport=tiny_sim.transport(), headers=headers
    ) as client:
        answer = client.get(f"/v1/spaces/{data.space.id}/documents/{doc.id}/download")
        location = answer.headers["location"]
        assert location.startswith("https://files.example.test:8443/storage/")
    with httpx.Client(transport=tiny_sim.transport()) as storage:
        assert storage.get(location).content == doc.content()
    assert [r.had_credentials for r in tiny_sim.storage_log] == [False]
    tiny_sim.storage_url = "http://files.example.test"  # allowed: a client must refuse it
    for bad in ("ftp://files.example.test", "https://files.example.test/bucket"):
        with pytest.raises(ValueError, match="storage_url"):
            tiny_sim.storage_url = bad


def test_downloads_count_for_the_rate_limit_storage_does_not(
    tiny_sim: Simulator, tiny: httpx.Client
) -> None:
    data = archive_space(tiny_sim.world)
    doc = next(iter(data.documents.values()))
    path = f"/v1/spaces/{data.space.id}/documents/{doc.id}/download"
    tiny_sim.storage_url = tiny_sim.api_url
    location = tiny.get(path).headers["location"]
    tiny_sim.rate_limit = (30, 2)
    assert [tiny.get(path).status_code for _ in range(3)] == [302, 302, 429]
    with httpx.Client(timeout=10) as bare:
        assert [bare.get(location).status_code for _ in range(4)] == [200] * 4


def test_content_ranges_match_the_whole() -> None:
    whole = content.data("abc", 3, 200_000, "application/zip")
    assert whole.startswith(b"PK\x03\x04")
    for start, stop in ((0, 1), (65_535, 65_537), (100, 199_999), (131_072, 200_000)):
        assert (
            b"".join(content.chunks("abc", 3, 200_000, "application/zip", start, stop))
            == (whole[start:stop])
        )
    assert content.data("abc", 4, 200_000, "application/zip") != whole
    assert content.sha256("abc", 3, 200_000, "application/zip") == hashlib.sha256(whole).hexdigest()
