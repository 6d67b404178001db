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
