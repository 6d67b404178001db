"""The SQL of the mirror's dashboard in Datasette (the charts and filters of
:mod:`assembla_mirror.read.datasette.dashboards`), stated here with the store's shared
definitions so the pictures agree with the views and reports.

SQLite SQL, the only database Datasette serves. ``[[ ... ]]`` is the
datasette-dashboards plugin's optional clause: kept when its filter is set, dropped
otherwise; the filters are ``:space``, ``:milestone``, ``:from`` and ``:to``.
"""

from __future__ import annotations

from assembla_mirror.store.expressions import for_datasette

__all__ = ["CHART_QUERIES", "DAILY_DAYS", "FILTER_QUERIES", "NEXT_MILESTONES"]

_X = for_datasette()

#: The space filter, on a query whose space is ``s``.
_SPACE = "[[ AND s.name = :space ]]"
#: Day ``v.day`` is a Monday: the day-by-day views are drawn a point a week, which keeps a
#: year of them under Datasette's row limit (a chart over the limit is cut, with a ⚠).
_MONDAY = "strftime('%w', v.day) = '1'"
#: The burndown is drawn day by day over these last days, a point a week before.
DAILY_DAYS = 60
#: How many milestones the burndown draws when none is picked: the open ones due next.
NEXT_MILESTONES = 3
#: The milestones the burndown draws: the one picked, or the open ones due next.
_NEXT_MILESTONES = (
    "SELECT m2.id FROM milestones AS m2 JOIN spaces AS s ON s.id = m2.space_id "
    f"WHERE NOT COALESCE(m2.is_completed, FALSE) {_SPACE} [[ AND m2.title = :milestone ]] "
    f"ORDER BY m2.due_date IS NULL, m2.due_date LIMIT {NEXT_MILESTONES}"
)

#: Each chart's query, by chart.
CHART_QUERIES: dict[str, str] = {
    "total-hours": f"SELECT {_X.hours_or_zero} AS hours FROM tasks AS t "
    "JOIN spaces AS s ON s.id = t.space_id WHERE TRUE "
    f"{_SPACE} [[ AND t.begin_at >= :from ]] [[ AND t.begin_at < date(:to, '+1 day') ]]",
    "open-tickets": "SELECT COUNT(*) AS tickets FROM tickets AS k "
    f"JOIN spaces AS s ON s.id = k.space_id WHERE k.state = 1 {_SPACE}",
    "hours-per-week": f"SELECT {_X.week_start} AS week, s.name AS space, {_X.hours} AS hours "
    "FROM tasks AS t JOIN spaces AS s ON s.id = t.space_id "
    f"WHERE t.begin_at IS NOT NULL {_SPACE} [[ AND t.begin_at >= :from ]] "
    "[[ AND t.begin_at < date(:to, '+1 day') ]] "
    "GROUP BY week, s.id ORDER BY week",
    "open-by-status": "SELECT v.space_name AS space, v.status, v.tickets "
    "FROM open_tickets_by_status AS v JOIN spaces AS s ON s.id = v.space_id "
    f"WHERE TRUE {_SPACE} ORDER BY v.tickets DESC",
    "cumulative-flow": "SELECT v.day, v.status, SUM(v.tickets) AS tickets "
    "FROM cumulative_flow AS v JOIN spaces AS s ON s.id = v.space_id "
    f"WHERE ({_MONDAY} OR v.day = {_X.today}) {_SPACE} "
    "[[ AND v.day >= :from ]] [[ AND v.day <= :to ]] "
    "GROUP BY v.day, v.status ORDER BY v.day",
    "burndown": "SELECT v.day, s.name || ': ' || m.title AS milestone, v.open_tickets "
    "FROM milestone_burndown AS v "
    "JOIN spaces AS s ON s.id = v.space_id "
    "JOIN milestones AS m ON m.id = v.milestone_id "
    f"WHERE v.milestone_id IN ({_NEXT_MILESTONES}) "
    f"AND (v.day >= date('now', '-{DAILY_DAYS} days') OR {_MONDAY}) "
    "[[ AND v.day >= :from ]] [[ AND v.day <= :to ]] ORDER BY v.day",
}

#: The choices of the dashboard's select filters, by filter.
FILTER_QUERIES: dict[str, str] = {
    "space": "SELECT name FROM spaces ORDER BY name",
    "milestone": "SELECT DISTINCT title FROM milestones "
    "WHERE NOT COALESCE(is_completed, FALSE) AND title IS NOT NULL ORDER BY title",
}
