"""Reading lists through the API client the simple way, for tests about the client itself.

The client hands each answer's bytes to a decoder of the caller's; these helpers
use the plain JSON list reader (:class:`~assembla_mirror.pages.jsonlist.JsonList`)
and the legacy XML reader, so a test sees items as Assembla sent them.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from assembla_mirror.api.client import AssemblaClient
from assembla_mirror.api.paging import walk
from assembla_mirror.model import convert as n
from assembla_mirror.pages.decode import read_items
from assembla_mirror.pages.jsonlist import JsonList


@dataclass(frozen=True)
class ListedPage:
    """One page of a list as a test looks at it."""

    number: int
    items: list[Any]
    last: bool
    raw: list[str] | None = None


def pages_of(walked: Iterator[tuple[int, JsonList | None, bool]]) -> Iterator[ListedPage]:
    """The pages of a walk (lazily), an empty last page where the list ended with nothing new."""
    for number, page, last in walked:
        if page is None:
            yield ListedPage(number, [], True)
        else:
            yield ListedPage(number, page.items, last, page.texts)


def iter_pages(client: AssemblaClient, path: str, params: Any = None) -> list[ListedPage]:
    """Every page of a list at ``path``."""
    return list(pages_of(client.iter_decoded(path, params, JsonList.decode)))


def get_list(client: AssemblaClient, path: str, params: Any = None) -> list[Any]:
    """The items of one list answer at ``path`` (``[]`` for a 204)."""
    return client.read(path, params, JsonList.decode).items


def get_time_logs(client: AssemblaClient, task_id: int) -> list[Any]:
    """One task's time logs from the legacy XML host, as parsed (text values)."""
    path = f"/user/time_entries/{int(task_id)}/time_logs"
    return client.read(path, None, lambda content: read_items(n.TIME_LOGS, content)[0], legacy=True)


def walk_items(fetch: Any, **options: Any) -> Iterator[ListedPage]:
    """:func:`~assembla_mirror.api.paging.walk` over a fetch answering lists of items."""
    return pages_of(walk(lambda number, size: JsonListOf(fetch(number, size)), **options))


class JsonListOf(JsonList):
    """A list of items given directly (no JSON text)."""

    def __init__(self, items: list[Any]) -> None:
        super().__init__(items, [""] * len(items))
