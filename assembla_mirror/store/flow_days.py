"""The flow views day by day: ``cumulative_flow`` and ``milestone_burndown``.

Neither joins days with stays (at 100,000 tickets over years that is billions
of rows). What holds at the end of a day (UTC) changes on the days something
starts or stops holding: each adds +1 or -1 (an estimate: its amount) on its
day, and a running sum over a calendar of every day (zero rows included) turns
those into counts. A stay that starts and ends within one day counts on no day.
"""

from __future__ import annotations

from collections.abc import Callable

from assembla_mirror.store.dialect import Dialect
from assembla_mirror.store.flow_parts import (
    NEVER,
    calendar,
    day_counts,
    day_of,
    earlier,
    hundredths,
    integer_value,
    intervals,
    later,
    real_value,
)


def _when(changed: str, created: str) -> str:
    """The day a change counts from: its own, or its subject's creation day if later
    (nothing of a ticket counts before it exists); NULL for none."""
    return (
        f"CASE WHEN {changed} IS NULL OR {created} IS NULL THEN {day_of(changed)}"
        f" ELSE {later(day_of(changed), day_of(created))} END"
    )


def cumulative_flow(dialect: Dialect) -> str:
    """``cumulative_flow``: subjects per space, day and status at the end of the day,
    from the space's first creation day through today."""
    today = dialect.today()
    return f"""WITH RECURSIVE {intervals()},
    dated AS (
        SELECT space_id, status, {_when("started_at", "created_on")} AS d_from,
               {_when("ended_at", "created_on")} AS d_to
        FROM intervals WHERE started_at IS NOT NULL
    ),
    space_first AS (SELECT space_id, MIN(d_from) AS first_day FROM dated GROUP BY space_id),
    span AS (SELECT MIN(first_day) AS first_day, {today} AS last_day FROM space_first),
    {calendar(dialect, "span")},
    space_statuses AS (SELECT DISTINCT space_id, status FROM intervals),
    moves AS (
        SELECT space_id, status, d_from AS day, 1 AS delta
        FROM dated WHERE d_to IS NULL OR d_to > d_from
        UNION ALL
        SELECT space_id, status, d_to, -1 FROM dated WHERE d_to > d_from
        UNION ALL
        SELECT f.space_id, st.status, c.day, 0
        FROM space_first AS f
        JOIN days AS c ON c.day >= f.first_day
        JOIN space_statuses AS st ON st.space_id = f.space_id
    ),
    per_day AS (
        SELECT space_id, status, day, SUM(delta) AS delta
        FROM moves WHERE day <= {today}
        GROUP BY space_id, status, day
    )
    SELECT space_id, day, status, CAST({day_counts("delta", "space_id, status")} AS BIGINT)
           AS tickets
    FROM per_day"""


def _changes(name: str, field: str, value: Callable[[str], str]) -> str:
    """CTE ``name``: the changes of ``field`` (values through ``value``), numbered per
    ticket in order (``n``), each with the value before it (``before``: the previous
    change's new value, the first change's old one)."""
    # A window over the field's changes only: few tickets change their milestone or
    # estimate, and the index on (ticket_id, field, changed_at) nearly sorts them.
    window = "OVER (PARTITION BY ticket_id ORDER BY changed_at, id)"
    return f"""{name} AS (
        SELECT ticket_id, changed_at, n, new_value,
               CASE WHEN n = 1 THEN old_value ELSE prev_new END AS before
        FROM (
            SELECT ticket_id, changed_at, {value("old_value")} AS old_value,
                   {value("new_value")} AS new_value, ROW_NUMBER() {window} AS n,
                   LAG({value("new_value")}) {window} AS prev_new
            FROM ticket_changes WHERE field = '{field}'
        ) AS v
    )"""


def _moves(changes: str, current: str, column: int, number: Callable[[str], str]) -> str:
    """The rows of ``moves`` a field's ``changes`` give, in its ``column`` (0 milestone,
    1 open, 2 units; the others 0): at its creation a subject takes the value before
    its first change (its own ``current`` value, alias ``s``, without changes), then
    each change adds its new value minus the one before. ``number`` makes a value a
    number, NULL as 0."""

    def only(value: str) -> str:
        return ", ".join(value if at == column else "0" for at in range(3))

    # A subject without a creation time starts from nothing at its first change.
    before = "CASE WHEN s.created_on IS NULL AND c.n = 1 THEN NULL ELSE c.before END"
    created = f"CASE WHEN c.ticket_id IS NULL THEN {current} ELSE c.before END"
    return f"""SELECT s.ticket_id, {day_of("s.created_on")}, {only(number(created))}
        FROM subjects AS s LEFT JOIN {changes} AS c ON c.ticket_id = s.ticket_id AND c.n = 1
        WHERE s.created_on IS NOT NULL AND {number(created)} <> 0
        UNION ALL
        SELECT s.ticket_id, {_when("c.changed_at", "s.created_on")},
               {only(f"{number('c.new_value')} - {number(before)}")}
        FROM {changes} AS c JOIN subjects AS s ON s.ticket_id = c.ticket_id"""


def milestone_burndown(dialect: Dialect) -> str:
    """``milestone_burndown``: open tickets of a milestone and their estimates per day.

    Per ticket, its milestone (0 for none: Assembla's ids are positive), whether it
    is open (1 or 0) and its estimate (in ten-thousandths, 0 for none) are running
    sums, by day, of what changes them (``moves``): no stays, milestones and
    estimates are joined. A ticket's day counts for the milestone it is in then if
    it is open, and takes back what its day before counted.
    """
    today = dialect.today()

    def units(value: str) -> str:
        return f"COALESCE(CAST({dialect.rounded(f'({value}) * 10000', 0)} AS BIGINT), 0)"

    def milestone(value: str) -> str:
        return f"COALESCE({value}, 0)"

    running = "OVER (PARTITION BY ticket_id ORDER BY day ROWS UNBOUNDED PRECEDING)"
    first_day = earlier(
        f"COALESCE({day_of('ms.start_date')}, {NEVER})", f"COALESCE(f.first_day, {NEVER})"
    )
    return f"""WITH RECURSIVE {intervals()},
    {_changes("member_changes", "milestone_id", integer_value)},
    {_changes("estimate_changes", "estimate", real_value)},
    moves(ticket_id, day, d_milestone, d_open, d_units) AS (
        SELECT ticket_id, {_when("started_at", "created_on")}, 0, 1, 0
        FROM intervals WHERE state = 1 AND started_at IS NOT NULL
        UNION ALL
        SELECT ticket_id, {_when("ended_at", "created_on")}, 0, -1, 0
        FROM intervals WHERE state = 1 AND started_at IS NOT NULL AND ended_at IS NOT NULL
        UNION ALL
        {_moves("member_changes", "s.milestone_id", 0, milestone)}
        UNION ALL
        {_moves("estimate_changes", "s.estimate", 2, units)}
    ),
    ticket_days AS (
        SELECT ticket_id, day, CAST(SUM(d_milestone) AS BIGINT) AS d_milestone,
               CAST(SUM(d_open) AS BIGINT) AS d_open, CAST(SUM(d_units) AS BIGINT) AS d_units
        FROM moves GROUP BY ticket_id, day
    ),
    states AS (
        SELECT ticket_id, day, d_milestone, d_open, d_units,
               CAST(SUM(d_milestone) {running} AS BIGINT) AS milestone,
               CAST(SUM(d_open) {running} AS BIGINT) AS is_open,
               CAST(SUM(d_units) {running} AS BIGINT) AS units
        FROM ticket_days
    ),
    member_first AS (
        SELECT milestone AS milestone_id, MIN(day) AS first_day
        FROM states WHERE milestone <> 0 GROUP BY milestone
    ),
    bounds AS (
        SELECT milestone_id, space_id, first_day, last_day FROM (
            SELECT ms.id AS milestone_id, ms.space_id, {first_day} AS first_day,
                   CASE WHEN COALESCE(ms.is_completed, FALSE) AND ms.completed_date IS NOT NULL
                        THEN {day_of("ms.completed_date")} ELSE {today} END AS last_day
            FROM milestones AS ms LEFT JOIN member_first AS f ON f.milestone_id = ms.id
        ) AS v
        WHERE first_day < {NEVER}
    ),
    span AS (SELECT MIN(first_day) AS first_day, MAX(last_day) AS last_day FROM bounds),
    {calendar(dialect, "span")},
    counted AS (
        SELECT milestone AS milestone_id, day, 1 AS tickets, units
        FROM states WHERE milestone <> 0 AND is_open = 1
        UNION ALL
        SELECT milestone - d_milestone, day, -1, d_units - units
        FROM states WHERE milestone - d_milestone <> 0 AND is_open - d_open = 1
        UNION ALL
        SELECT b.milestone_id, c.day, 0, 0
        FROM bounds AS b JOIN days AS c ON c.day >= b.first_day AND c.day <= b.last_day
    ),
    per_day AS (
        SELECT v.milestone_id, b.space_id, v.day, SUM(v.tickets) AS tickets,
               SUM(v.units) AS units
        FROM counted AS v JOIN bounds AS b ON b.milestone_id = v.milestone_id
        WHERE v.day >= b.first_day AND v.day <= b.last_day
        GROUP BY v.milestone_id, b.space_id, v.day
    )
    SELECT milestone_id, space_id, day,
           CAST({day_counts("tickets", "milestone_id")} AS BIGINT) AS open_tickets,
           {hundredths(dialect, day_counts("units", "milestone_id"), "100.0")}
               AS open_estimate
    FROM per_day"""
