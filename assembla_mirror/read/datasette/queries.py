"""Canned queries for Datasette: the questions a team lead asks, as forms.

Each query is plain SQLite with ``:named`` parameters, which Datasette shows as
form fields and binds (never pastes) into the SQL. A blank field means "no
limit" (or the stated default), because Datasette runs a canned query with
every missing parameter set to ''. Conventions shared by all of them:

* ``:from`` / ``:to``: days ``YYYY-MM-DD``, both inclusive, on the UTC time
  the work began (``tasks.begin_at``) or the event happened;
* ``:space``: a space's name, wiki_name or id (any case for names);
* ``:days``: a number of days.

"Today" is SQLite's ``date('now')``, a UTC day. Where a query restates what a
report view or a report also says (the week a task falls in, a milestone's
label, the open-ticket count ...), it uses the store's one definition of it
(:mod:`assembla_mirror.store.expressions`), in SQLite, the only database
Datasette serves.
"""

from __future__ import annotations

from typing import Any

from assembla_mirror.read.datasette.conventions import SPACE, TASK_DATES, X, query
from assembla_mirror.read.datasette.flow_queries import FLOW_QUERIES
from assembla_mirror.store.expressions import hours_per_space

HOURS_BY_SPACE = hours_per_space(X, tasks=TASK_DATES, spaces=SPACE)

HOURS_BY_USER_WEEK = f"""
SELECT {X.week_start} AS week_start,
       {X.person} AS person,
       {X.hours} AS hours, COUNT(*) AS entries
FROM tasks AS t
JOIN spaces AS s ON s.id = t.space_id
LEFT JOIN users AS u ON u.id = t.user_id
WHERE {TASK_DATES} AND {SPACE}
GROUP BY week_start, t.user_id
ORDER BY week_start, person"""

HOURS_BY_MILESTONE = f"""
SELECT s.name AS space,
       {X.entry_milestone} AS milestone,
       m.due_date, m.is_completed,
       {X.hours} AS hours, COUNT(DISTINCT t.ticket_id) AS tickets,
       COUNT(*) AS entries
FROM tasks AS t
JOIN spaces AS s ON s.id = t.space_id
LEFT JOIN tickets AS k ON k.id = t.ticket_id
LEFT JOIN milestones AS m ON m.id = k.milestone_id
WHERE {TASK_DATES} AND {SPACE}
GROUP BY s.id, m.id, milestone
ORDER BY hours DESC"""

OPEN_TICKETS = f"""
SELECT s.name AS space, {X.ticket_milestone} AS milestone, m.due_date,
       k.status, COUNT(*) AS tickets,
       ROUND(SUM(COALESCE(k.total_estimate, 0)), 2) AS estimate
FROM tickets AS k
JOIN spaces AS s ON s.id = k.space_id
LEFT JOIN milestones AS m ON m.id = k.milestone_id
WHERE k.state = 1 AND {SPACE}
  AND (:milestone = '' OR lower(m.title) = lower(:milestone) OR CAST(m.id AS TEXT) = :milestone)
GROUP BY s.id, m.id, k.status
ORDER BY space, m.due_date IS NULL, m.due_date, milestone, tickets DESC"""


STALE_TICKETS = f"""
WITH cutoff(at) AS (
  SELECT datetime('now', '-' || CAST(COALESCE(NULLIF(:days, ''), '30') AS INTEGER) || ' days')
)
SELECT s.name AS space, k.number, k.summary, k.status,
       {X.assignee} AS assignee,
       k.updated_at AS last_update,
       (SELECT MAX(t.begin_at) FROM tasks AS t WHERE t.ticket_id = k.id) AS last_time_logged,
       CAST(julianday('now') - julianday(MAX(k.updated_at, COALESCE(
         (SELECT MAX(t.begin_at) FROM tasks AS t WHERE t.ticket_id = k.id), ''))) AS INTEGER)
         AS idle_days
FROM tickets AS k JOIN spaces AS s ON s.id = k.space_id
LEFT JOIN users AS u ON u.id = k.assigned_to_id, cutoff
WHERE k.state = 1 AND {SPACE}
  AND k.updated_at < cutoff.at
  AND NOT EXISTS (SELECT 1 FROM tasks AS t WHERE t.ticket_id = k.id
                  AND (t.begin_at >= cutoff.at OR t.updated_at >= cutoff.at))
  AND NOT EXISTS (SELECT 1 FROM ticket_comments AS c WHERE c.ticket_id = k.id
                  AND c.created_on >= cutoff.at)
ORDER BY idle_days DESC, space, k.number"""

CLOSED_TICKETS = f"""
SELECT s.name AS space, k.number, k.summary, k.status, {X.ticket_milestone} AS milestone,
       {X.assignee} AS assignee, k.completed_date,
       ROUND((SELECT SUM(t.hours) FROM tasks AS t WHERE t.ticket_id = k.id), 2) AS hours
FROM tickets AS k
JOIN spaces AS s ON s.id = k.space_id
LEFT JOIN milestones AS m ON m.id = k.milestone_id
LEFT JOIN users AS u ON u.id = k.assigned_to_id
WHERE k.state = 0 AND {SPACE}
  AND (:from = '' OR k.completed_date >= :from)
  AND (:to = '' OR k.completed_date < date(:to, '+1 day'))
ORDER BY k.completed_date DESC"""

WORKLOAD = f"""
WITH cutoff(at) AS (
  SELECT datetime('now', '-' || CAST(COALESCE(NULLIF(:days, ''), '14') AS INTEGER) || ' days')
)
SELECT {X.assignee} AS assignee,
       COUNT(*) AS open_tickets,
       SUM(k.priority <= 2) AS high_priority,
       ROUND(SUM(COALESCE(k.total_estimate, 0)), 2) AS estimate,
       (SELECT {X.hours_or_zero} FROM tasks AS t, cutoff
        WHERE t.user_id = k.assigned_to_id AND t.begin_at >= cutoff.at) AS recent_hours
FROM tickets AS k
JOIN spaces AS s ON s.id = k.space_id
LEFT JOIN users AS u ON u.id = k.assigned_to_id
WHERE k.state = 1 AND {SPACE}
GROUP BY k.assigned_to_id
ORDER BY open_tickets DESC"""

OVERDUE_MILESTONES = f"""
SELECT s.name AS space, m.title AS milestone, m.due_date,
       CAST(julianday({X.today}) - julianday(m.due_date) AS INTEGER) AS days_late,
       {X.open_tickets} AS open_tickets, COUNT(k.id) AS tickets
FROM milestones AS m
JOIN spaces AS s ON s.id = m.space_id
LEFT JOIN tickets AS k ON k.milestone_id = m.id
WHERE {X.overdue} AND {SPACE}
GROUP BY m.id
ORDER BY days_late DESC"""

DAILY_ACTIVITY = f"""
SELECT s.name AS space, time(e.date) AS time_utc, e.author_name AS author, e.operation,
       e.object, e.title,
       CASE WHEN e.whatchanged <> '' THEN 'changed: ' || e.whatchanged
            WHEN e.object LIKE '%Comment%' THEN e.comment_or_description
            ELSE '' END AS details,
       e.url
FROM events AS e
LEFT JOIN spaces AS s ON s.id = e.space_id
WHERE e.date >= COALESCE(NULLIF(:day, ''), {X.today})
  AND e.date < date(COALESCE(NULLIF(:day, ''), {X.today}), '+1 day')
  AND {SPACE}
ORDER BY space, e.date"""

# All words, in any order, as `mirror search` asks (store/fts5.py, match_query): :q is
# split at whitespace and each word quoted and matched as a prefix, so FTS operators
# typed in the box are plain text and a stray quote or bracket cannot break the query.
# (SQLite only, as Datasette is; a blank :q matches nothing.)
FTS_QUERY = """
words(word, rest) AS (
  SELECT '', trim(replace(replace(replace(:q, char(9), ' '), char(10), ' '), char(13), ' ')) || ' '
  UNION ALL
  SELECT substr(rest, 1, instr(rest, ' ') - 1), ltrim(substr(rest, instr(rest, ' ') + 1))
  FROM words WHERE rest <> ''
),
fts(query) AS (
  SELECT COALESCE(group_concat('"' || replace(word, '"', '""') || '"*', ' '), '""')
  FROM words WHERE word <> ''
)"""

SEARCH = f"""
WITH RECURSIVE {FTS_QUERY.strip()},
matches(ticket_id, rank) AS (
  SELECT rowid, bm25(tickets_fts) FROM tickets_fts
  WHERE tickets_fts MATCH (SELECT query FROM fts)
  UNION ALL
  SELECT c.ticket_id, bm25(ticket_comments_fts) FROM ticket_comments_fts
  JOIN ticket_comments AS c ON c.id = ticket_comments_fts.rowid
  WHERE ticket_comments_fts MATCH (SELECT query FROM fts)
)
SELECT s.name AS space, k.number, k.summary, k.status, MIN(x.rank) AS rank
FROM matches AS x
JOIN tickets AS k ON k.id = x.ticket_id
JOIN spaces AS s ON s.id = k.space_id
WHERE {SPACE}
GROUP BY k.id
ORDER BY rank
LIMIT 100"""


QUERIES: dict[str, dict[str, Any]] = {
    "hours_by_space_between": query(
        "Hours by space between two days",
        "Hours logged per space; from/to are inclusive days (UTC), blank for no limit.",
        HOURS_BY_SPACE,
    ),
    "hours_by_person_and_week": query(
        "Hours by person and week",
        "Hours per person and week (Monday, UTC) between two days, optionally in one space.",
        HOURS_BY_USER_WEEK,
    ),
    "hours_by_milestone_between": query(
        "Hours by milestone",
        "Hours logged on each milestone's tickets; time without a ticket or milestone "
        "has its own row, so the total matches hours by space.",
        HOURS_BY_MILESTONE,
    ),
    "open_tickets_by_status_and_milestone": query(
        "Open tickets by milestone and status",
        "Open tickets per milestone (soonest due first) and status, with their estimates; "
        "milestone by title or id, blank for all.",
        OPEN_TICKETS,
    ),
    "stale_tickets": query(
        "Open tickets with no activity for N days",
        "Open tickets not updated, commented or worked on (time logged) in the last N days "
        "(blank: 30).",
        STALE_TICKETS,
    ),
    "tickets_closed_between": query(
        "Tickets closed between two days",
        "What got done: closed tickets by completion day (UTC), with hours logged on each.",
        CLOSED_TICKETS,
    ),
    "workload_by_assignee": query(
        "Workload by assignee",
        "Open tickets, high-priority ones, open estimate and hours logged in the last N days "
        "(blank: 14) per assignee.",
        WORKLOAD,
    ),
    "overdue_milestones": query(
        "Overdue milestones",
        "Milestones past their due date and not completed, with their open tickets.",
        OVERDUE_MILESTONES,
    ),
    "daily_activity": query(
        "Who did what on a day",
        "The day's events per space (UTC day, blank for today): time, author, operation, "
        "title and what changed or the comment.",
        DAILY_ACTIVITY,
    ),
    "search_tickets_and_comments": query(
        "Search tickets and comments",
        "Tickets whose summary, description or a comment contain all the words, in any "
        "order, as mirror search finds them (words match their beginnings; accents and "
        "case ignored).",
        SEARCH,
    ),
    **FLOW_QUERIES,
}
