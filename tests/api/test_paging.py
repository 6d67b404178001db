"""paging.walk: every end signal, the loop guards, resuming, no HTTP involved."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from assembla_mirror.errors import ApiError
from tests.api.reading import ListedPage as Page
from tests.api.reading import walk_items as iter_pages

FetchPage = Callable[[int, int], list[dict[str, Any]]]


def paged(total: int, *, per_page_cap: int = 100) -> tuple[FetchPage, list[int]]:
    """A fetch over ``total`` items honouring page/per_page; records the pages asked for."""
    asked: list[int] = []

    def fetch(page: int, per_page: int) -> list[dict[str, Any]]:
        asked.append(page)
        size = min(per_page, per_page_cap)
        start = (page - 1) * size
        return [{"id": i} for i in range(start, min(total, start + size))]

    return fetch, asked


def test_a_short_page_ends_the_walk_without_another_request() -> None:
    fetch, asked = paged(250)
    pages = list(iter_pages(fetch))
    assert [len(p.items) for p in pages] == [100, 100, 50]
    assert [p.last for p in pages] == [False, False, True]
    assert asked == [1, 2, 3]


@pytest.mark.parametrize("total", [100, 200])
def test_an_exact_multiple_of_100_costs_one_extra_request_answered_204(total: int) -> None:
    fetch, asked = paged(total)
    pages = list(iter_pages(fetch))
    assert sum(len(p.items) for p in pages) == total
    assert pages[-1] == Page(total // 100 + 1, [], last=True)
    assert asked == list(range(1, total // 100 + 2))


def test_an_empty_list_is_one_empty_last_page() -> None:
    fetch, asked = paged(0)
    assert list(iter_pages(fetch)) == [Page(1, [], last=True)]
    assert asked == [1]


def test_a_list_that_ignores_paging_is_read_once() -> None:
    whole = [{"id": i} for i in range(150)]
    asked: list[int] = []

    def fetch(page: int, per_page: int) -> list[dict[str, Any]]:
        asked.append(page)
        return whole

    pages = list(iter_pages(fetch))
    assert [len(p.items) for p in pages] == [150, 0]
    assert pages[-1].last
    assert asked == [1, 2]  # the repeat is detected and not yielded


def test_a_page_that_overlaps_but_brings_new_ids_is_kept() -> None:
    # Items shift between pages while data changes; only a page of nothing new ends the walk.
    answers = {1: [{"id": i} for i in range(100)], 2: [{"id": i} for i in range(90, 150)]}
    pages = list(iter_pages(lambda page, per_page: answers.get(page, [])))
    assert [len(p.items) for p in pages] == [100, 60]


def test_a_later_page_repeating_the_first_ends_the_walk() -> None:
    # e.g. an endpoint that serves its pages 1-3 and then falls back to page 1
    fetch, asked = paged(300)

    def wrapping(page: int, per_page: int) -> list[dict[str, Any]]:
        return fetch(page if page <= 3 else 1, per_page)

    pages = list(iter_pages(wrapping))
    assert [len(p.items) for p in pages] == [100, 100, 100, 0]
    assert asked == [1, 2, 3, 1]


def test_items_without_ids_are_compared_by_content() -> None:
    whole = [{"name": f"status {i}"} for i in range(100)]
    pages = list(iter_pages(lambda page, per_page: whole))
    assert [len(p.items) for p in pages] == [100, 0]


def test_start_page_resumes_a_walk() -> None:
    fetch, asked = paged(250)
    pages = list(iter_pages(fetch, start_page=2))
    assert [p.number for p in pages] == [2, 3]
    assert asked == [2, 3]


def test_max_pages_stops_an_endless_list() -> None:
    counter = iter(range(10**9))

    def fetch(page: int, per_page: int) -> list[dict[str, Any]]:
        return [{"id": next(counter)} for _ in range(per_page)]

    with pytest.raises(ApiError, match="still more data after 5 pages"):
        list(iter_pages(fetch, max_pages=5, label="GET /v1/spaces/x/tickets"))


def test_per_page_is_passed_and_defines_a_short_page() -> None:
    fetch, _asked = paged(25)
    pages = list(iter_pages(fetch, per_page=10))
    assert [len(p.items) for p in pages] == [10, 10, 5]


def test_pages_are_fetched_lazily() -> None:
    fetch, asked = paged(1000)
    walk = iter_pages(fetch)
    next(walk)
    assert asked == [1]
