"""Canned queries on tickets' history: time in status, cycle time, the exact burndown.

They read the flow views (``time_in_status_by_space``, ``ticket_flow``,
``milestone_burndown``), so they answer as ``mirror report cycle-time`` and the
views do; the conventions (``:space``, ``:from``/``:to``) are those of every
canned query (:mod:`.conventions`).
"""

from __future__ import annotations

from typing import Any

from assembla_mirror.read.datasette.conventions import SPACE, query


def _percentile(percent: int, values: str) -> str:
    """The ``percent`` percentile of a group's ``values`` ranked ``r`` (0-based) of ``n``,
    interpolated between the closest ranks as ``percentile_cont`` (and the reports) do:
    position ``percent * (n - 1) / 100``, in integers so that no float rounding moves it."""
    low = f"({percent} * (n - 1)) / 100"
    share = f"(({percent} * (n - 1)) % 100) / 100.0"
    at_low = f"MAX(CASE WHEN r = {low} THEN {values} END)"
    at_high = f"MAX(CASE WHEN r = {low} + 1 THEN {values} END)"
    return f"{at_low} + COALESCE(({at_high} - {at_low}) * MAX({share}), 0)"


# Per space and status, over each ticket's hours in that status (ended stays only).
TIME_IN_STATUS = f"""
SELECT v.space_name AS space, v.status,
       CASE v.state WHEN 1 THEN 'open' WHEN 0 THEN 'closed' END AS state, v.tickets,
       v.median_hours, v.p85_hours, v.mean_hours,
       ROUND(v.median_hours / 24.0, 2) AS median_days, ROUND(v.p85_hours / 24.0, 2) AS p85_days
FROM time_in_status_by_space AS v
JOIN spaces AS s ON s.id = v.space_id
LEFT JOIN (SELECT space_id, name, MIN(list_order) AS list_order FROM ticket_statuses
           GROUP BY space_id, name) AS st ON st.space_id = v.space_id AND st.name = v.status
WHERE {SPACE}
ORDER BY space, st.list_order IS NULL, st.list_order, v.status"""

# Per month of closing: live tickets closed now, as `mirror report cycle-time` counts them.
CYCLE_TIME = f"""
WITH closed AS (
  SELECT substr(f.closed_at, 1, 7) AS month, f.cycle_time_hours AS cycle,
         f.lead_time_hours AS lead
  FROM ticket_flow AS f JOIN spaces AS s ON s.id = f.space_id
  WHERE f.closed_at IS NOT NULL AND f.deleted = 0 AND {SPACE}
    AND (:from = '' OR f.closed_at >= :from) AND (:to = '' OR f.closed_at < date(:to, '+1 day'))
),
ranked AS (
  SELECT month, 'cycle' AS kind, cycle AS hours,
         ROW_NUMBER() OVER (PARTITION BY month ORDER BY cycle) - 1 AS r,
         COUNT(*) OVER (PARTITION BY month) AS n
  FROM closed WHERE cycle IS NOT NULL
  UNION ALL
  SELECT month, 'lead', lead, ROW_NUMBER() OVER (PARTITION BY month ORDER BY lead) - 1,
         COUNT(*) OVER (PARTITION BY month)
  FROM closed WHERE lead IS NOT NULL
),
stats AS (
  SELECT month, kind, {_percentile(50, "hours")} AS median, {_percentile(85, "hours")} AS p85
  FROM ranked GROUP BY month, kind
)
SELECT c.month, COUNT(*) AS closed,
       (SELECT ROUND(median / 24.0, 2) FROM stats WHERE month = c.month AND kind = 'cycle')
         AS cycle_median_days,
       (SELECT ROUND(p85 / 24.0, 2) FROM stats WHERE month = c.month AND kind = 'cycle')
         AS cycle_p85_days,
       (SELECT ROUND(median / 24.0, 2) FROM stats WHERE month = c.month AND kind = 'lead')
         AS lead_median_days,
       (SELECT ROUND(p85 / 24.0, 2) FROM stats WHERE month = c.month AND kind = 'lead')
         AS lead_p85_days
FROM closed AS c
GROUP BY c.month
ORDER BY c.month"""

# Per day, exact from the tickets' history (the milestone_burndown view), with a
# straight line from the most tickets the milestone held open to none on its due date.
# Blank milestone: the open milestone due soonest (the current sprint).
BURNDOWN = f"""
WITH chosen AS (
  SELECT m.id, m.title, s.name AS space, m.due_date
  FROM milestones AS m JOIN spaces AS s ON s.id = m.space_id
  WHERE {SPACE} AND (
    (:milestone = '' AND m.id = (
        SELECT m2.id FROM milestones AS m2 JOIN spaces AS s ON s.id = m2.space_id
        WHERE NOT COALESCE(m2.is_completed, 0) AND m2.due_date IS NOT NULL AND {SPACE}
        ORDER BY m2.due_date LIMIT 1))
    OR lower(m.title) = lower(:milestone) OR CAST(m.id AS TEXT) = :milestone)
),
lines AS (
  SELECT b.milestone_id, b.day, b.open_tickets, b.open_estimate,
         MIN(b.day) OVER w AS first_day, MAX(b.open_tickets) OVER w AS peak
  FROM milestone_burndown AS b JOIN chosen AS c ON c.id = b.milestone_id
  WINDOW w AS (PARTITION BY b.milestone_id)
)
SELECT c.space, c.title AS milestone, c.due_date, l.day, l.open_tickets, l.open_estimate,
       CASE WHEN c.due_date > l.first_day THEN ROUND(MAX(0.0, l.peak
         * (julianday(c.due_date) - julianday(l.day))
         / (julianday(c.due_date) - julianday(l.first_day))), 1) END AS ideal_open_tickets
FROM lines AS l JOIN chosen AS c ON c.id = l.milestone_id
ORDER BY c.space, c.title, l.day"""


FLOW_QUERIES: dict[str, dict[str, Any]] = {
    "milestone_burndown_by_day": query(
        "Milestone burndown",
        "Per day, exact from the tickets' history: the milestone's open tickets and their "
        "estimate at the end of the day, and an ideal line from its peak to none on the due "
        "date. Milestone by title or id; blank for the open milestone due soonest.",
        BURNDOWN,
    ),
    "time_in_each_status": query(
        "Time in each status",
        "Per space and status: tickets that spent time there, and the median, 85th "
        "percentile and mean of the hours each spent (left stays only), in the workflow's "
        "order.",
        TIME_IN_STATUS,
    ),
    "cycle_time_by_month": query(
        "Cycle and lead time by month",
        "Tickets closed per month (UTC, from/to on the closing day) and the median and 85th "
        "percentile of their cycle time (leaving the first status to closing) and lead time "
        "(creation to closing), in days.",
        CYCLE_TIME,
    ),
}
