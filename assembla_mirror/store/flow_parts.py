"""The pieces the flow views (:mod:`.flow`, :mod:`.flow_days`) are built from.

The history is ``ticket_changes`` over the *subjects*: the live tickets and
those in ``deleted_tickets`` (a deleted ticket keeps its history). A subject's
stays in statuses (:func:`intervals`) and its values of a field over time (see
:mod:`.flow_days`) follow its creation, then its changes of the field in
``(changed_at, id)`` order, each ended by the next (``LEAD``). Values are text:
empty text counts as NULL, and a milestone id or an estimate that is not a
number is NULL rather than an error (a cast would fail on PostgreSQL).

Durations are counted in whole seconds (exact integers on both databases) and
rounded once, to hundredths of an hour (:func:`hundredths`). Everything here is
SQL both databases read alike; what differs comes from the :class:`Dialect`.
"""

from __future__ import annotations

from assembla_mirror.store.dialect import Dialect

#: A day after every real one: the end of what has not ended.
NEVER = "'9999-12-31'"


def hundredths(dialect: Dialect, units: str, per_hundredth: str) -> str:
    """``units`` / ``per_hundredth`` hundredths, as a float to the hundredth.

    Rounding a whole number of hundredths (half away from zero on both
    databases) and dividing by 100 gives the same float everywhere; rounding a
    float to 2 decimals may not (0.005 is not exact in binary).
    """
    return f"{dialect.rounded(f'({units}) / ({per_hundredth})', 0)} / 100.0"


def hours(dialect: Dialect, seconds: str) -> str:
    """Hours to the hundredth from whole ``seconds`` (36 seconds a hundredth)."""
    return hundredths(dialect, seconds, "36.0")


def day_of(datetime: str) -> str:
    """The date (``YYYY-MM-DD``) of a stored UTC datetime or date."""
    return f"substr({datetime}, 1, 10)"


def integer_value(value: str) -> str:
    """Text ``value`` as an integer: NULL unless it is digits only (a milestone id)."""
    return (
        f"CASE WHEN length({value}) BETWEEN 1 AND 18 AND trim({value}, '0123456789') = ''"
        f" THEN CAST({value} AS BIGINT) END"
    )


def real_value(value: str) -> str:
    """Text ``value`` as a float: NULL unless a plain decimal (``8``, ``-0.5``, ``.5``)."""
    # One sign at most, then digits with at most one point ("trim(text, characters)"
    # strips those characters from both ends on both databases).
    unsigned = f"ltrim({value}, '+-')"
    return (
        f"CASE WHEN length({value}) - length({unsigned}) <= 1"
        f" AND {unsigned} NOT IN ('', '.') AND trim({unsigned}, '0123456789.') = ''"
        f" AND length({unsigned}) - length(replace({unsigned}, '.', '')) <= 1"
        f" THEN CAST({value} AS DOUBLE PRECISION) END"
    )


def later(first: str, second: str) -> str:
    """The later of two dates (neither NULL)."""
    return f"CASE WHEN {first} > {second} THEN {first} ELSE {second} END"


def earlier(first: str, second: str) -> str:
    """The earlier of two dates (neither NULL)."""
    return f"CASE WHEN {first} < {second} THEN {first} ELSE {second} END"


SUBJECTS = """subjects AS (
        SELECT k.id AS ticket_id, k.space_id, k.number, k.summary, k.status, k.state,
               k.created_on, k.milestone_id, k.estimate, NULL AS deleted_at, 0 AS deleted
        FROM tickets AS k
        UNION ALL
        SELECT d.id, d.space_id, d.number, d.summary, d.status, d.state, d.created_on,
               d.milestone_id, NULL, d.deleted_at, 1
        FROM deleted_tickets AS d
        WHERE NOT EXISTS (SELECT 1 FROM tickets AS k WHERE k.id = d.id)
    )"""


def text_value(value: str) -> str:
    """Text ``value`` as recorded, empty text as NULL."""
    return f"NULLIF({value}, '')"


def _stays(status: str, started: str, ended: str, last: str, stay: str, prev: str) -> str:
    """One branch of ``intervals``: stays of subjects ``s`` (changes ``c``), with their
    state: a listed status's, else for a ticket's last stay the ticket's own."""
    return f"""SELECT s.ticket_id, s.space_id, s.number, {stay} AS stay, {status} AS status,
               CASE WHEN {last} THEN COALESCE(st.state, s.state) ELSE st.state END AS state,
               {started} AS started_at, {ended} AS ended_at, s.deleted,
               CASE WHEN {last} THEN 1 ELSE 0 END AS is_last, {prev} AS prev_status,
               s.summary, s.created_on
        FROM {{stays}}
        LEFT JOIN statuses AS st ON st.space_id = s.space_id AND st.name = {status}"""


def intervals() -> str:
    """The CTEs up to ``intervals``: one row per stay, with what the views need beside
    the public columns (``is_last``, ``prev_status``, ``summary``, ``created_on``).

    A subject's first stay starts at its creation, in its first change's old status
    (its own status without changes); each change starts the next stay, in its new
    status, and ends the one before. The last stay is in the subject's own status and
    lasts (a deleted ticket's until it was found deleted).
    """
    window = "OVER (PARTITION BY ticket_id ORDER BY changed_at, id)"
    # changed_at is never NULL: a change without a next_at is the last one.
    first = _stays(
        status="CASE WHEN c.ticket_id IS NULL THEN s.status ELSE c.old_value END",
        started="s.created_on",
        ended="CASE WHEN c.ticket_id IS NULL THEN s.deleted_at ELSE c.changed_at END",
        last="c.ticket_id IS NULL",
        stay="1",
        prev="NULL",
    ).format(
        stays="subjects AS s LEFT JOIN status_changes AS c ON c.ticket_id = s.ticket_id AND c.n = 1"
    )
    changed = _stays(
        status="CASE WHEN c.next_at IS NULL THEN s.status ELSE c.new_value END",
        started="c.changed_at",
        ended="CASE WHEN c.next_at IS NULL THEN s.deleted_at ELSE c.next_at END",
        last="c.next_at IS NULL",
        stay="c.n + 1",
        prev="CASE WHEN c.n = 1 THEN c.old_value ELSE c.prev_new END",
    ).format(stays="status_changes AS c JOIN subjects AS s ON s.ticket_id = c.ticket_id")
    return f"""{SUBJECTS},
    status_changes AS (
        SELECT ticket_id, changed_at, {text_value("old_value")} AS old_value,
               {text_value("new_value")} AS new_value, ROW_NUMBER() {window} AS n,
               LEAD(changed_at) {window} AS next_at,
               LAG({text_value("new_value")}) {window} AS prev_new
        FROM ticket_changes WHERE field = 'status'
    ),
    statuses AS (
        SELECT space_id, name, MIN(state) AS state FROM ticket_statuses GROUP BY space_id, name
    ),
    intervals AS (
        {first}
        UNION ALL
        {changed}
    )"""


def calendar(dialect: Dialect, span: str) -> str:
    """CTE ``days(day)``: every date from ``span.first_day`` through ``span.last_day``
    (``span`` a CTE of one row; the views that use it start ``WITH RECURSIVE``)."""
    return f"""days(day) AS (
        SELECT first_day FROM {span}
        UNION ALL
        SELECT {dialect.next_day("c.day")} FROM days AS c JOIN {span} AS p ON c.day < p.last_day
    )"""


def day_counts(value: str, keys: str) -> str:
    """The running total per ``keys`` and day of the ``value`` deltas of ``per_day``."""
    return (
        f"SUM({value}) OVER (PARTITION BY {keys} ORDER BY day"
        " ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)"
    )
