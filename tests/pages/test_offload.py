"""Decoding pages in worker processes: same rows as in-process, failures fall back, no secrets.

Pages come from the simulator over loopback HTTP; workers are real processes.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from assembla_mirror.api.paging import item_key
from assembla_mirror.api.settings import RateLimit
from assembla_mirror.errors import ResponseFormatError
from assembla_mirror.model import convert as n
from assembla_mirror.pages.decode import (
    Page,
    answer,
    decode_page,
    from_answer,
    request_bytes,
)
from assembla_mirror.pages.jsonlist import split_json_array
from assembla_mirror.pages.offload import Decoder
from assembla_mirror.pages.rows import table_rows, ticket_rows
from assembla_mirror.simulator import Simulator
from assembla_mirror.sync import SyncOptions
from assembla_mirror.sync.engine import decode_processes
from tests.expected import assert_same_mirror
from tests.support import run_sync, settings_for

UPDATED_AT = n.TICKETS.columns.index("updated_at")
SPECS = [value for value in vars(n).values() if isinstance(value, n.TableSpec)]


@pytest.fixture
def http(sim: Simulator) -> Iterator[httpx.Client]:
    headers = {"X-Api-Key": sim.credentials.api_key, "X-Api-Secret": sim.credentials.api_secret}
    with httpx.Client(base_url=sim.api_url, headers=headers) as client:
        yield client


@pytest.fixture
def ticket_page(sim: Simulator, http: httpx.Client) -> tuple[bytes, dict[str, int]]:
    """A full page of the first space's tickets as sent, and that space's custom field ids."""
    space = http.get("/v1/spaces").json()[0]["id"]
    fields = http.get(f"/v1/spaces/{space}/tickets/custom_fields").json()
    page = http.get(f"/v1/spaces/{space}/tickets", params={"report": 0, "per_page": 100})
    assert page.status_code == 200
    return page.content, {field["title"]: field["id"] for field in fields}


def test_a_ticket_page_decodes_to_the_rows_prepare_makes(
    ticket_page: tuple[bytes, dict[str, int]],
) -> None:
    content, field_ids = ticket_page
    items, raw = split_json_array(content.decode())
    page = decode_page(n.TICKETS, field_ids, content)
    expected = ticket_rows(n.TICKETS, items, field_ids, raw)
    assert page.rows == expected
    assert len(page) == len(items) > 0
    assert page.item_keys() == {item_key(item) for item in items}
    assert page.oldest_updated_at == min(row[UPDATED_AT] for row in expected.rows)
    assert any(page.rows.values.values()), "the page should carry custom field values"


def test_a_task_page_decodes_to_the_rows_prepare_makes(http: httpx.Client) -> None:
    content = http.get("/v1/tasks", params={"per_page": 100}).content
    items, raw = split_json_array(content.decode())
    assert decode_page(n.TASKS, None, content).rows == table_rows(n.TASKS, items, raw)


def test_what_a_worker_sends_back_is_what_decoding_here_gives(
    ticket_page: tuple[bytes, dict[str, int]],
) -> None:
    content, field_ids = ticket_page
    here = decode_page(n.TICKETS, field_ids, content)
    there = from_answer(answer(request_bytes(n.TICKETS, field_ids, content)))
    assert (there.count, there.keys, there.oldest_updated_at) == (
        here.count,
        here.keys,
        here.oldest_updated_at,
    )
    assert there.rows.rows == here.rows.rows
    assert there.rows.values == here.rows.values
    assert there.rows.listed == here.rows.listed


@pytest.mark.parametrize(
    ("body", "error"),
    [
        (b'[{"id": 1, "number": 1', ValueError),  # cut short: worth a retry
        (b"<html>busy</html>", ValueError),
        (b'{"error": "nope"}', ResponseFormatError),  # JSON, but not a list
        (b"[1, 2]", ResponseFormatError),
    ],
)
def test_bad_bodies_raise_the_same_error_here_and_from_a_worker(
    body: bytes, error: type[Exception]
) -> None:
    with pytest.raises(error):
        decode_page(n.TICKETS, {}, body)
    with pytest.raises(error):
        from_answer(answer(request_bytes(n.TICKETS, {}, body)))


@pytest.mark.parametrize("body", [b"[]", b""], ids=["empty list", "204"])
def test_an_empty_list_is_an_empty_page(body: bytes) -> None:
    # A 200 cut to nothing never gets here: the client retries it (tests/api).
    page = decode_page(n.TASKS, None, body)
    assert (len(page), page.item_keys(), page.rows.rows) == (0, set(), [])


def test_a_worker_decodes_exactly_as_this_process_does(
    ticket_page: tuple[bytes, dict[str, int]],
) -> None:
    content, field_ids = ticket_page
    with Decoder(1) as decoder:
        page = decoder.decode(n.TICKETS, field_ids, content)
        assert not decoder.in_process
        (worker,) = decoder._workers
    assert page.rows == decode_page(n.TICKETS, field_ids, content).rows
    assert worker.process.poll() is not None, "closing the decoder stops its worker"


def test_workers_are_shared_by_threads_and_never_more_than_asked(
    ticket_page: tuple[bytes, dict[str, int]],
) -> None:
    content, field_ids = ticket_page
    expected = decode_page(n.TICKETS, field_ids, content).rows.rows
    results: list[bool] = []
    with Decoder(2) as decoder:

        def decode_some() -> None:
            for _ in range(5):
                results.append(decoder.decode(n.TICKETS, field_ids, content).rows.rows == expected)

        threads = [threading.Thread(target=decode_some) for _ in range(6)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert len(decoder._workers) <= 2
        assert not decoder.in_process
    assert results == [True] * 30


def test_a_worker_that_dies_leaves_the_decoding_to_this_process(
    ticket_page: tuple[bytes, dict[str, int]], caplog: pytest.LogCaptureFixture
) -> None:
    content, field_ids = ticket_page
    expected = decode_page(n.TICKETS, field_ids, content).rows
    with Decoder(1) as decoder:
        assert decoder.decode(n.TICKETS, field_ids, content).rows == expected
        decoder._workers[0].process.kill()
        decoder._workers[0].process.wait()
        with caplog.at_level(logging.WARNING, logger="assembla_mirror.pages.offload"):
            assert decoder.decode(n.TICKETS, field_ids, content).rows == expected
        assert decoder.in_process
        assert "decoding in this process from now on" in caplog.text
        assert decoder.decode(n.TICKETS, field_ids, content).rows == expected


def test_a_worker_that_cannot_start_leaves_the_decoding_to_this_process(
    ticket_page: tuple[bytes, dict[str, int]],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    content, field_ids = ticket_page
    monkeypatch.setattr(sys, "executable", str(tmp_path / "no-python-here"))
    with Decoder(1) as decoder:
        page = decoder.decode(n.TICKETS, field_ids, content)
        assert decoder.in_process
    assert page.rows == decode_page(n.TICKETS, field_ids, content).rows


@pytest.mark.skipif(not Path("/proc/self/environ").exists(), reason="reads /proc (Linux)")
def test_a_worker_never_sees_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ASSEMBLA_API_SECRET", "very-secret-value")
    monkeypatch.setenv("ASSEMBLA_MIRROR_DB", "postgresql://me:db-password@host/mirror")
    monkeypatch.setenv("PGPASSWORD", "another-password")
    with Decoder(1) as decoder:
        decoder.decode(n.TASKS, None, b"[]")
        (worker,) = decoder._workers
        environ = Path(f"/proc/{worker.process.pid}/environ").read_bytes()
        for secret in (b"very-secret-value", b"db-password", b"another-password", b"ASSEMBLA_"):
            assert secret not in environ
    assert decoder.worker_peak_rss_kib is not None
    assert decoder.worker_peak_rss_kib > 0


def test_workers_are_used_only_when_nothing_paces_the_requests(sim: Simulator) -> None:
    unpaced = settings_for(sim)
    paced = settings_for(sim, rate_limit=RateLimit())
    several_cores = (os.cpu_count() or 1) > 1
    assert decode_processes(SyncOptions(), unpaced) == (1 if several_cores else 0)
    assert decode_processes(SyncOptions(), paced) == 0
    assert decode_processes(SyncOptions(decode_processes=3), paced) == 3
    assert decode_processes(SyncOptions(decode_processes=0), unpaced) == 0


def test_a_sync_decoding_in_a_worker_equals_one_decoding_here(
    sim: Simulator, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    here, there = tmp_path / "here.db", tmp_path / "there.db"
    assert run_sync(sim, here, decode_processes=0).ok
    with caplog.at_level(logging.WARNING, logger="assembla_mirror.pages.offload"):
        assert run_sync(sim, there, decode_processes=1).ok
    # Falling back would pass the comparison too: the worker must really have decoded.
    assert "decoding in this process" not in caplog.text
    assert_same_mirror(there, here)


@pytest.mark.parametrize("spec", SPECS, ids=lambda spec: spec.table)
def test_the_names_a_page_travels_with_are_plain_strings(spec: n.TableSpec) -> None:
    """marshal, the workers' wire format, refuses SQLAlchemy's ``str`` subclass."""
    names = [spec.table, *spec.columns, *spec.key, *spec.required, *spec.extra]
    assert {type(name) for name in names} == {str}
    assert answer(request_bytes(spec, None, b"[]"))  # refused if it were not


def test_a_decoded_page_from_a_worker_keeps_its_rows_packed_until_read(
    ticket_page: tuple[bytes, dict[str, int]],
) -> None:
    content, field_ids = ticket_page
    page = from_answer(answer(request_bytes(n.TICKETS, field_ids, content)))
    assert page._rows is None  # a fetch thread does not pay for loading the rows
    assert isinstance(page, Page)
    assert json.loads(page.rows.rows[0][-1])["id"] == page.rows.rows[0][0]
