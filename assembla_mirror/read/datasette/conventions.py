"""What the canned queries share: the forms' conventions, as SQL conditions.

* ``:space``: a space's name, wiki_name or id (any case for names);
* ``:from`` / ``:to``: days ``YYYY-MM-DD``, both inclusive, in UTC;

and :func:`query`, the shape of one canned query in Datasette's metadata.
"""

from __future__ import annotations

from typing import Any

from assembla_mirror.store.expressions import for_datasette

#: The store's shared definitions, in SQLite (the only database Datasette serves).
X = for_datasette()

SPACE = (
    "(:space = '' OR s.id = :space OR lower(s.wiki_name) = lower(:space)"
    " OR lower(s.name) = lower(:space))"
)
TASK_DATES = (
    "(:from = '' OR t.begin_at >= :from) AND (:to = '' OR t.begin_at < date(:to, '+1 day'))"
)


def query(title: str, description: str, sql: str) -> dict[str, Any]:
    """A canned query entry of Datasette metadata. Its SQL is hidden until asked for
    (``hide_sql``): people come for the answer, and a screenful of SQL above it pushes
    the answer out of sight; "Show SQL" is one click away."""
    return {"title": title, "description": description, "sql": sql.strip(), "hide_sql": True}
