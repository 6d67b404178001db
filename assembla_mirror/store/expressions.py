"""The SQL the report views, the reports and Datasette's canned queries share, stated once.

Each :class:`Expressions` field is one definition (the Monday a task's week
starts, an open-ticket count, a milestone's label ...) rendered in one
dialect. The views (:mod:`assembla_mirror.store.views`), the reports
(:mod:`assembla_mirror.store.reports`) and the canned queries
(:mod:`assembla_mirror.read.datasette.queries`) are built from them, so the
same question gets the same answer in all three.

Every expression reads the table aliases all of them use: ``s`` spaces, ``u``
users, ``t`` tasks, ``k`` tickets, ``m`` milestones.
"""

from __future__ import annotations

from dataclasses import dataclass

from assembla_mirror.store.dialect import Dialect
from assembla_mirror.store.sqlite import SQLITE


@dataclass(frozen=True)
class Expressions:
    """The shared definitions, as SQL text of one dialect (see the module docstring)."""

    #: The Monday (``YYYY-MM-DD``, UTC) of the week task ``t`` began in.
    week_start: str
    #: Today's date, UTC.
    today: str
    #: Who logged task ``t``: the user's name, else login, else the bare id.
    person: str
    #: The hours of a group of tasks, to the hundredth (NULL when none has hours).
    hours: str
    #: The same, 0 for a group without hours (a space nobody logged time in).
    hours_or_zero: str
    #: Open tickets ``k`` of a group (``state`` 1).
    open_tickets: str
    #: Closed tickets ``k`` of a group (``state`` 0).
    closed_tickets: str
    #: The share of a group's tickets that is closed, in percent to a tenth (NULL for none).
    percent_closed: str
    #: Ticket ``k``'s milestone ``m``, named: its title, or why there is none.
    ticket_milestone: str
    #: The milestone time entry ``t`` counts toward, named: finer than
    #: :attr:`ticket_milestone`, since an entry may have no ticket (``k``) or name one
    #: the mirror does not hold.
    entry_milestone: str
    #: What time entry ``t`` was logged on: its ticket's (``k``) summary, or why there is none.
    entry_summary: str
    #: Who ticket ``k`` is assigned to, named: the user ``u``'s name, else the name the
    #: ticket carries, else the login or bare id, else ``(unassigned)``.
    assignee: str
    #: Milestone ``m`` is due before today and not completed.
    overdue: str
    #: The estimates of a group of tickets ``k``, to the hundredth (0 for none).
    estimate: str
    #: The hours invested in a group of tickets ``k``, to the hundredth (0 for none).
    invested_hours: str


def expressions(dialect: Dialect) -> Expressions:
    """The shared definitions in ``dialect``."""
    today = dialect.today()
    # SUM(k.state = 0) as every database reads it (only SQLite sums a comparison):
    # 1 or 0, and NULL for a ticket without a state, which SUM leaves out.
    closed = "SUM(CASE WHEN k.state = 0 THEN 1 WHEN k.state IS NOT NULL THEN 0 END)"
    opened = "SUM(CASE WHEN k.state = 1 THEN 1 WHEN k.state IS NOT NULL THEN 0 END)"
    return Expressions(
        week_start=dialect.week_start("t.begin_at"),
        today=today,
        person="COALESCE(u.name, u.login, t.user_id)",
        hours=dialect.rounded("SUM(t.hours)", 2),
        hours_or_zero=dialect.rounded("COALESCE(SUM(t.hours), 0)", 2),
        open_tickets=f"COALESCE({opened}, 0)",
        closed_tickets=f"COALESCE({closed}, 0)",
        percent_closed=(
            "CASE WHEN COUNT(k.id) = 0 THEN NULL"
            f" ELSE {dialect.rounded(f'100.0 * {closed} / COUNT(k.id)', 1)} END"
        ),
        ticket_milestone=(
            "CASE WHEN k.milestone_id IS NULL THEN '(no milestone)'"
            " ELSE COALESCE(m.title, '(milestone not in mirror)') END"
        ),
        entry_milestone=(
            "CASE WHEN t.ticket_id IS NULL THEN '(no ticket)'"
            " WHEN k.id IS NULL THEN '(ticket not in mirror)'"
            " WHEN k.milestone_id IS NULL THEN '(no milestone)'"
            " WHEN m.id IS NULL THEN '(milestone not in mirror)'"
            " ELSE m.title END"
        ),
        entry_summary=(
            "CASE WHEN t.ticket_id IS NULL THEN '(no ticket)'"
            " ELSE COALESCE(k.summary, '(ticket not in mirror)') END"
        ),
        assignee="COALESCE(u.name, k.assigned_to_name, u.login, k.assigned_to_id, '(unassigned)')",
        overdue=f"m.due_date < {today} AND NOT COALESCE(m.is_completed, FALSE)",
        estimate=dialect.rounded("COALESCE(SUM(k.total_estimate), 0)", 2),
        invested_hours=dialect.rounded("COALESCE(SUM(k.total_invested_hours), 0)", 2),
    )


def hours_per_space(x: Expressions, *, tasks: str, spaces: str) -> str:
    """Hours and time entries per space, every space (0 hours included), most hours first.

    ``tasks`` is a condition on the tasks counted (alias ``t``), ``spaces`` one on
    the spaces listed (alias ``s``). Columns: space, hours, entries.
    """
    # Unindented: Datasette shows a canned query's SQL as it is written.
    return (
        f"SELECT s.name AS space, {x.hours_or_zero} AS hours, COUNT(t.id) AS entries\n"
        "FROM spaces AS s\n"
        f"LEFT JOIN tasks AS t ON t.space_id = s.id AND {tasks}\n"
        f"WHERE {spaces}\n"
        "GROUP BY s.id, s.name\n"
        "ORDER BY hours DESC, space"
    )


def for_datasette() -> Expressions:
    """The shared definitions as Datasette's canned queries need them.

    Datasette serves SQLite files only, so its canned queries are SQLite SQL.
    """
    return expressions(SQLITE)


# --- values stored as text, read as what they mean (custom fields) --------------------
# Both read the text with functions every database has (trim, substr, length), never a
# cast that could fail: PostgreSQL refuses the whole query on one value it cannot cast.

#: Characters of a plain decimal (a sign, digits, a point).
_DECIMAL = "'0123456789.+-'"


def _plain_decimal(text: str) -> str:
    """A condition: ``text`` (signs, digits and points only) is one sign at most, then
    digits with at most one point (``8``, ``-0.5``, ``.5``, ``5.``)."""
    unsigned = f"ltrim({text}, '+-')"
    return (
        f"length({text}) - length({unsigned}) <= 1 AND {unsigned} NOT IN ('', '.')"
        f" AND trim({unsigned}, '0123456789.') = ''"
        f" AND length({unsigned}) - length(replace({unsigned}, '.', '')) <= 1"
    )


def number_value(value: str) -> str:
    """Text ``value`` as a float (REAL, double precision): a plain decimal with an optional
    exponent (``8``, ``-0.5``, ``007``, ``1e3``, ``2.5E-2``), spaces around allowed; NULL
    for anything else (``''``, ``1,5``, ``nan``, ``5 h``), never an error.

    The text is bounded (40 characters, a two-digit exponent) so that no accepted
    value overflows a float, which would be an error too.
    """
    text = f"lower(trim({value}))"
    rest = f"ltrim({text}, {_DECIMAL})"  # '' or the exponent ('e...') or garbage
    mantissa = f"substr({text}, 1, length({text}) - length({rest}))"
    exponent = f"substr({rest}, 2)"
    digits = f"ltrim({exponent}, '+-')"
    exponent_ok = (
        f"substr({rest}, 1, 1) = 'e' AND length({exponent}) - length({digits}) <= 1"
        f" AND length({digits}) BETWEEN 1 AND 2 AND trim({digits}, '0123456789') = ''"
    )
    return (
        f"CASE WHEN length({text}) BETWEEN 1 AND 40 AND ({rest} = '' OR ({exponent_ok}))"
        f" AND {_plain_decimal(mantissa)} THEN CAST({text} AS DOUBLE PRECISION) END"
    )


def iso_date(value: str) -> str:
    """Text ``value`` as ``YYYY-MM-DD`` text when it is a real date (spaces around
    allowed; ``2024-02-29`` yes, ``2023-02-29``, ``2024-13-01``, ``31/01/2024`` no),
    else NULL; never an error."""
    day = f"trim({value})"
    shape = (
        f"length({day}) = 10 AND substr({day}, 5, 1) = '-' AND substr({day}, 8, 1) = '-'"
        f" AND trim(substr({day}, 1, 4) || substr({day}, 6, 2) || substr({day}, 9, 2),"
        " '0123456789') = ''"
    )
    year, month, mday = (f"CAST(substr({day}, {at}, {n}) AS INTEGER)" for at, n in _PARTS)
    # Divisibility spelled out: '%' would be a parameter marker to psycopg.
    leap = (
        f"({year} - 4 * ({year} / 4) = 0 AND {year} - 100 * ({year} / 100) <> 0)"
        f" OR {year} - 400 * ({year} / 400) = 0"
    )
    last = (
        f"CASE WHEN {month} IN (4, 6, 9, 11) THEN 30"
        f" WHEN {month} = 2 THEN CASE WHEN {leap} THEN 29 ELSE 28 END ELSE 31 END"
    )
    valid = f"{year} >= 1 AND {month} BETWEEN 1 AND 12 AND {mday} BETWEEN 1 AND {last}"
    # Nested: the casts run only on text of the right shape (a CASE decides the order).
    return f"CASE WHEN {shape} THEN CASE WHEN {valid} THEN {day} END END"


#: Where year, month and day are in ``YYYY-MM-DD``: (first character, length).
_PARTS = ((1, 4), (6, 2), (9, 2))
