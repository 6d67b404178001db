"""Walking a paged Assembla list, one page at a time, independent of HTTP.

Assembla lists carry no totals and no links (see the API contract): the only
end signals are a ``204``/empty answer and a short page (``len < per_page``).
Some lists ignore ``page`` altogether and return everything every time, so a
page whose ids were all seen before also ends the walk (it is not yielded).
A hard ``max_pages`` guard makes sure no endpoint can keep a walk going forever.

Pages, not items, are yielded so the caller can commit and checkpoint per
page. What a page is, the caller decides: a fetch returns any :class:`Listing`
(its item count and keys); the mirror's is the decoded page of
:mod:`assembla_mirror.pages.decode`. The final page is marked ``last``; when the
end only shows on the request after a full page (a list of exactly 100, 200, ...
items), the walk yields None for that final page.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any, Protocol, TypeVar

from assembla_mirror.errors import ApiError

#: The largest page Assembla honours; above it the endpoint's default applies.
DEFAULT_PER_PAGE = 100
#: 10,000 pages of 100 is far beyond any real space; reaching it means a loop.
DEFAULT_MAX_PAGES = 10_000


class Listing(Protocol):
    """What paging needs of one answer: how many items it holds and what identifies them."""

    def __len__(self) -> int: ...

    def item_keys(self) -> set[str]:
        """The :func:`item_key` of every item."""
        ...


L = TypeVar("L", bound=Listing)


def walk(
    fetch: Callable[[int, int], L],
    *,
    per_page: int = DEFAULT_PER_PAGE,
    start_page: int = 1,
    max_pages: int = DEFAULT_MAX_PAGES,
    label: str = "list",
) -> Iterator[tuple[int, L | None, bool]]:
    """The pages of a list from ``start_page`` until one of the end signals:
    ``(number, answer, last)`` per page, ``fetch(number, per_page)`` asking for one.

    The answer is None on the final page when that page brought nothing new
    (empty, or a page the endpoint sent again). ``label`` (a sanitized path)
    names the list in the error raised when more than ``max_pages`` pages are
    requested.
    """
    if per_page < 1 or start_page < 1 or max_pages < 1:
        raise ValueError("per_page, start_page and max_pages must be positive")
    # The keys of the first and the previous page: an endpoint that ignores paging
    # sends its one page again, so these two catch it, in memory that does not
    # grow with the list (a set of every key seen would, by 100 keys a page).
    first: set[str] | None = None
    previous: set[str] = set()
    for number in range(start_page, start_page + max_pages):
        body = fetch(number, per_page)
        if not len(body):
            yield number, None, True
            return
        keys = body.item_keys()
        if keys <= previous or (first is not None and keys <= first):
            # Nothing new: the endpoint ignores paging and sent a page again.
            yield number, None, True
            return
        first = keys if first is None else first
        previous = keys
        last = len(body) < per_page
        yield number, body, last
        if last:
            return
    raise ApiError(
        f"{label}: still more data after {max_pages} pages; stopped "
        "(the endpoint may ignore paging)",
        path=label,
    )


def item_key(item: Any) -> str:
    """What identifies an item across pages: its ``id``, else its whole content.

    An element the parser could not read (:class:`decode.UnreadableItem`) has a key of its own.
    """
    if not isinstance(item, dict):
        return str(getattr(item, "key", None) or repr(item))
    identifier = item.get("id")
    if identifier is not None:
        return f"id:{identifier!r}"
    return "json:" + json.dumps(item, sort_keys=True, default=str)
