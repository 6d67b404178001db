"""The ``ticket_hierarchy`` view: epics, stories and subtasks, with hours rolled up.

Tickets form a hierarchy through ``ticket_associations``: parent/child links
(relationships 0 and 1) and story/subtask links (5 and 6). Each link is read as
an edge from the child to the parent:

* relationship 0 (ticket2 is ticket1's parent) and 5 (ticket2 is ticket1's
  story): the child is ticket1, the parent ticket2;
* relationship 1 (ticket2 is ticket1's child) and 6 (ticket2 is ticket1's
  subtask): the child is ticket2, the parent ticket1.

Other relationships (related, duplicate, blocking ...) are not hierarchy. A link
naming a ticket the mirror does not hold, or a ticket to itself, is left out.

The view has one row per ticket. Its parent is the lowest-id one when it has
several; following parents from a ticket gives its ``depth`` and its root (the
top ancestor). Its descendants are every ticket below it by any path, each
counted once, which is what ``total_hours`` and ``total_estimate`` add up: a
subtask under two stories of one epic counts once in the epic.

Hostile data cannot make the view loop: the set of (ancestor, descendant) pairs
is built with ``UNION``, which stops when a step adds no new pair (a cycle
adds none after its first round), and the walk up through parents stops at a
ticket it has already passed and after :data:`MAX_DEPTH` steps. In a cycle a
ticket is its own descendant; it is not counted as one.

Hours are summed as the other views sum them (``SUM(tasks.hours)``, REAL) and
rounded once, to the hundredth, as ``hours_by_ticket`` rounds them.
"""

from __future__ import annotations

from assembla_mirror.store.dialect import Dialect

#: Most steps the walk up from a ticket to its root takes (deeper chains stop there).
MAX_DEPTH = 20

#: ``tickets.hierarchy_type`` in words.
HIERARCHY_NAMES = {0: "none", 1: "subtask", 2: "story", 3: "epic"}


def _listed(code: str) -> str:
    """``code`` (an integer expression) as a ``tickets.hierarchy_type`` word, NULL when unknown."""
    cases = " ".join(f"WHEN {number} THEN '{name}'" for number, name in HIERARCHY_NAMES.items())
    return f"CASE {code} {cases} END"


def _marker(ticket: str) -> str:
    """``,<id>,``: how the walk up records a ticket it passed (found with a substring test)."""
    return f"',' || CAST({ticket} AS TEXT) || ','"


def ticket_hierarchy(dialect: Dialect) -> str:
    """The ``ticket_hierarchy`` view's ``SELECT`` in ``dialect``."""
    # Ids are read from tickets on both ends so that the recursive terms keep the
    # type of tickets.id (PostgreSQL wants a recursive column's type to stay put).
    passed = dialect.contains("u.path", _marker("p.parent"))
    return f"""WITH RECURSIVE
    links AS (
        SELECT ticket1_id AS child, ticket2_id AS parent
        FROM ticket_associations WHERE relationship IN (0, 5)
        UNION ALL
        SELECT ticket2_id, ticket1_id
        FROM ticket_associations WHERE relationship IN (1, 6)
    ),
    edges AS (
        SELECT DISTINCT c.id AS child, p.id AS parent
        FROM links AS l
        JOIN tickets AS c ON c.id = l.child
        JOIN tickets AS p ON p.id = l.parent
        WHERE c.id <> p.id
    ),
    parents AS (
        SELECT child, MIN(parent) AS parent FROM edges GROUP BY child
    ),
    below(ancestor, descendant) AS (
        SELECT parent, child FROM edges
        UNION
        SELECT b.ancestor, e.child FROM below AS b JOIN edges AS e ON e.parent = b.descendant
    ),
    up(ticket_id, ancestor, depth, path) AS (
        SELECT child, parent, 1, {_marker("child")} || CAST(parent AS TEXT) || ','
        FROM parents
        UNION ALL
        SELECT u.ticket_id, p.parent, u.depth + 1, u.path || CAST(p.parent AS TEXT) || ','
        FROM up AS u JOIN parents AS p ON p.child = u.ancestor
        WHERE u.depth < {MAX_DEPTH} AND NOT ({passed})
    ),
    roots AS (
        SELECT ticket_id, ancestor AS root, depth
        FROM (
            SELECT ticket_id, ancestor, depth,
                   ROW_NUMBER() OVER (PARTITION BY ticket_id ORDER BY depth DESC) AS n
            FROM up
        ) AS ranked
        WHERE n = 1
    ),
    own AS (
        SELECT ticket_id, SUM(hours) AS hours FROM tasks
        WHERE ticket_id IS NOT NULL GROUP BY ticket_id
    ),
    rolled AS (
        SELECT b.ancestor, COUNT(*) AS descendants, SUM(o.hours) AS hours,
               SUM(d.estimate) AS estimate
        FROM below AS b
        JOIN tickets AS d ON d.id = b.descendant
        LEFT JOIN own AS o ON o.ticket_id = b.descendant
        WHERE b.ancestor <> b.descendant
        GROUP BY b.ancestor
    )
    SELECT k.id AS ticket_id, k.space_id, k.number, k.summary, k.status, k.state,
           k.hierarchy_type, {_listed("k.hierarchy_type")} AS hierarchy_name,
           pa.parent AS parent_ticket_id, pk.number AS parent_number,
           COALESCE(r.root, k.id) AS root_ticket_id, COALESCE(r.depth, 0) AS depth,
           COALESCE(s.descendants, 0) AS descendants,
           {dialect.rounded("COALESCE(o.hours, 0)", 2)} AS hours,
           {dialect.rounded("COALESCE(o.hours, 0) + COALESCE(s.hours, 0)", 2)} AS total_hours,
           {dialect.rounded("COALESCE(k.estimate, 0)", 2)} AS estimate,
           {dialect.rounded("COALESCE(k.estimate, 0) + COALESCE(s.estimate, 0)", 2)}
               AS total_estimate
    FROM tickets AS k
    LEFT JOIN parents AS pa ON pa.child = k.id
    LEFT JOIN tickets AS pk ON pk.id = pa.parent
    LEFT JOIN roots AS r ON r.ticket_id = k.id
    LEFT JOIN rolled AS s ON s.ancestor = k.id
    LEFT JOIN own AS o ON o.ticket_id = k.id"""


#: What the view answers (for Datasette's description of it).
HIERARCHY_DESCRIPTION = (
    "One row per ticket with its place in the epic / story / subtask hierarchy "
    "(from ticket_associations): parent, root, depth, and hours and estimates rolled up "
    "over every ticket below it, each counted once."
)

#: What each of its columns means.
HIERARCHY_COLUMNS = {
    "ticket_id": "The ticket (tickets.id).",
    "space_id": "The space it belongs to (spaces.id).",
    "number": "Ticket number in its space.",
    "summary": "Ticket summary.",
    "status": "Ticket status.",
    "state": "1 open, 0 closed.",
    "hierarchy_type": "0 none, 1 subtask, 2 story, 3 epic (tickets.hierarchy_type).",
    "hierarchy_name": "hierarchy_type in words: none, subtask, story or epic.",
    "parent_ticket_id": "Its parent (tickets.id) through a parent/child or story/subtask "
    "association; the lowest id when it has several; null for a top ticket.",
    "parent_number": "The parent's ticket number.",
    "root_ticket_id": "Its top ancestor, following parents (itself for a top ticket).",
    "depth": f"Steps from it up to its root: 0 for a top ticket (at most {MAX_DEPTH}).",
    "descendants": "Tickets below it (children, their children ...), each counted once.",
    "hours": "Hours logged on the ticket itself (sum of tasks.hours), 0 when none.",
    "total_hours": "Its own hours plus those of every ticket below it, each counted once.",
    "estimate": "Its own estimate (tickets.estimate), 0 when none.",
    "total_estimate": "Its own estimate plus those of every ticket below it, each counted once.",
}
