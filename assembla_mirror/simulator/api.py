"""The read endpoints of the v1 JSON API and the legacy XML host, on one :data:`ROUTER`.

Handlers run with the world's lock held (see the server) and follow
``api-contract.md``: bare JSON arrays, 204 for empty pages, per-endpoint default
page sizes, unpaged configuration lists, 403 for foreign spaces and 404
``Tool not found for this project`` for ticket endpoints of a space without the
ticket tool. The archive's endpoints (tags, documents, associations) are in
:mod:`.api_archive`, on the same router.
"""

from __future__ import annotations

from collections.abc import Callable

from assembla_mirror.simulator import queries, render
from assembla_mirror.simulator.entities import Event, Task, Ticket
from assembla_mirror.simulator.history import comments_of
from assembla_mirror.simulator.queries import BadQuery, TaskQuery
from assembla_mirror.simulator.routes import (
    XML,
    Call,
    HttpError,
    Response,
    Router,
    json_response,
    not_found,
    whole,
)
from assembla_mirror.simulator.state import SpaceData

ROUTER = Router()
get = ROUTER.add

TICKETS_PER_PAGE = 10
TASKS_PER_PAGE = 25
EVENTS_PER_PAGE = 50
MILESTONES_PER_PAGE = 10
COMMENTS_PER_PAGE = 10


def _unprocessable(exc: BadQuery) -> HttpError:
    return HttpError(json_response(render.dumps({"base": [str(exc)]}), 422))


# --- people and spaces ----------------------------------------------------------------


@get("GET", "/v1/user")
def me(call: Call) -> Response:
    """The caller."""
    return json_response(render.user(call.user))


@get("GET", "/v1/users/:id_or_login")
def user(call: Call) -> Response:
    """Any user by id or login."""
    found = call.world.state.user(call.params["id_or_login"])
    return json_response(render.user(found)) if found else not_found()


@get("GET", "/v1/spaces")
def spaces(call: Call) -> Response:
    """The caller's spaces (unpaged)."""
    mine = call.world.state.member_spaces(call.user.id)
    return whole(mine, lambda d: render.space(d.space, call.zone_of(d), _owns(call, d)))


def _owns(call: Call, data: SpaceData) -> bool:
    return data.roles[call.user.id].role == "owner"


@get("GET", "/v1/spaces/:space")
def space(call: Call) -> Response:
    """One space by id or wiki_name."""
    data = call.space()
    return json_response(render.space(data.space, call.zone_of(data), _owns(call, data)))


@get("GET", "/v1/spaces/:space/users")
def space_users(call: Call) -> Response:
    """The space's members (unpaged)."""
    data = call.space()
    users = call.world.state.users
    return whole([users[uid] for uid in data.roles], render.user)


@get("GET", "/v1/spaces/:space/user_roles")
def user_roles(call: Call) -> Response:
    """One row per member (unpaged)."""
    data = call.space()
    where = call.zone_of(data)
    return whole(list(data.roles.values()), lambda row: render.user_role(row, where))


@get("GET", "/v1/spaces/:space/space_tools")
def space_tools(call: Call) -> Response:
    """The tools installed in the space (unpaged)."""
    data = call.space()
    where = call.zone_of(data)
    return whole(data.tools, lambda tool: render.space_tool(tool, where))


# --- milestones -------------------------------------------------------------------------


def _milestones(call: Call, which: str) -> Response:
    data = call.space()
    where = call.zone_of(data)
    items = queries.milestones(data, which)
    return call.page(items, MILESTONES_PER_PAGE, lambda m: render.milestone(m, where))


@get("GET", "/v1/spaces/:space/milestones")
def open_milestones(call: Call) -> Response:
    """Open milestones only (paged)."""
    return _milestones(call, "open")


@get("GET", "/v1/spaces/:space/milestones/all")
def all_milestones(call: Call) -> Response:
    """Every milestone (paged)."""
    return _milestones(call, "all")


@get("GET", "/v1/spaces/:space/milestones/upcoming")
def upcoming_milestones(call: Call) -> Response:
    """Open milestones by due date (paged)."""
    return _milestones(call, "upcoming")


@get("GET", "/v1/spaces/:space/milestones/completed")
def completed_milestones(call: Call) -> Response:
    """Completed milestones (paged)."""
    return _milestones(call, "completed")


@get("GET", "/v1/spaces/:space/milestones/:id")
def milestone(call: Call) -> Response:
    """One milestone."""
    data = call.space()
    found = data.milestones.get(int(call.params["id"]))
    return json_response(render.milestone(found, call.zone_of(data))) if found else not_found()


# --- tickets ---------------------------------------------------------------------------------


def ticket_renderer(call: Call, data: SpaceData) -> Callable[[Ticket], bytes]:
    """Renders the space's tickets for the caller, exactly as the tickets list does."""
    where, generation, state = call.zone_of(data), data.field_generation, call.world.state
    return lambda t: render.ticket(t, where, generation, state)


@get("GET", "/v1/spaces/:space/tickets")
def tickets(call: Call) -> Response:
    """Tickets of a report (default: open ones), sorted and paged; ``number[]`` picks some."""
    data = call.ticket_space()
    draw = ticket_renderer(call, data)
    numbers = call.args("number")
    if numbers:
        return whole(queries.tickets_by_number(data, numbers), draw)
    items = queries.tickets(
        call.world.state,
        data,
        call.user.id,
        call.arg("report"),
        call.arg("sort_by"),
        call.arg("sort_order"),
    )
    return call.page(items, TICKETS_PER_PAGE, draw)


@get("GET", "/v1/spaces/:space/tickets/statuses")
def statuses(call: Call) -> Response:
    """The ticket statuses (unpaged)."""
    data = call.ticket_space()
    where = call.zone_of(data)
    return whole(data.statuses, lambda s: render.ticket_status(s, where))


@get("GET", "/v1/spaces/:space/tickets/custom_fields")
def custom_fields(call: Call) -> Response:
    """The ticket custom fields (unpaged)."""
    data = call.ticket_space()
    where = call.zone_of(data)
    return whole(list(data.fields.values()), lambda f: render.custom_field(f, where))


@get("GET", "/v1/spaces/:space/tickets/id/:id")
def ticket_by_id(call: Call) -> Response:
    """One ticket by its global id."""
    data = call.ticket_space()
    found = call.world.state.tickets_by_id.get(int(call.params["id"]))
    if found is None or found.space_id != data.space.id:
        return not_found()
    return json_response(ticket_renderer(call, data)(found))


@get("GET", "/v1/spaces/:space/tickets/:number")
def ticket(call: Call) -> Response:
    """One ticket by number."""
    data = call.ticket_space()
    found = data.tickets.get(int(call.params["number"]))
    return json_response(ticket_renderer(call, data)(found)) if found else not_found()


@get("GET", "/v1/spaces/:space/tickets/:number/ticket_comments")
def comments(call: Call) -> Response:
    """A ticket's comments, newest first (paged)."""
    data = call.ticket_space()
    found = data.tickets.get(int(call.params["number"]))
    if found is None:
        return not_found()
    where, state = call.zone_of(data), call.world.state
    newest_first = comments_of(state, found)[::-1]
    return call.page(newest_first, COMMENTS_PER_PAGE, lambda c: render.comment(c, where, state))


# --- tasks and activity -------------------------------------------------------------------


@get("GET", "/v1/tasks")
def tasks(call: Call) -> Response:
    """The caller's tasks (plus ``users[]`` in owned spaces), filtered, sorted, paged."""
    state = call.world.state
    try:
        query = TaskQuery(
            users=frozenset(call.args("users")),
            spaces=frozenset(call.args("spaces")),
            ticket_ids=frozenset(int(t) for t in call.args("ticket_ids") if t.isdigit()),
            start=_bound(call, "from"),
            end=_bound(call, "to"),
            sort_by=s if (s := call.arg("sort_by")) in queries.TASK_SORTS else "id",
            descending=(call.arg("sort_order") or "").lower() == "desc",
        )
    except BadQuery as exc:
        raise _unprocessable(exc) from None
    items = queries.tasks(state, call.user.id, query)

    def draw(task: Task) -> bytes:
        return render.task(task, call.zone_of(state.spaces[task.space_id]))

    return call.page(items, TASKS_PER_PAGE, draw)


def _bound(call: Call, name: str) -> queries.Bound | None:
    value = call.arg(name)
    return queries.parse_bound(value, name) if value else None


@get("GET", "/v1/activity")
def activity(call: Call) -> Response:
    """Events of the last 60 days, newest first (paged); ``space_id``, ``from``, ``to``."""
    state = call.world.state
    space_id = None
    if (ref := call.arg("space_id")) is not None:
        data = state.space(ref)
        space_id = data.space.id if data is not None else ref
    try:
        start, end = _bound(call, "from"), _bound(call, "to")
    except BadQuery as exc:
        raise _unprocessable(exc) from None
    items = queries.activity(state, call.user.id, space_id, start, end, call.world.clock.now())

    def draw(event: Event) -> bytes:
        return render.event(event, call.zone_of(state.spaces[event.space_id]))

    return call.page(items, EVENTS_PER_PAGE, draw)


# --- legacy XML host --------------------------------------------------------------------------


@get("GET", "/user/time_entries/:task_id/time_logs")
def time_logs(call: Call) -> Response:
    """The time logs of one of the caller's own tasks (unpaged XML); 404 for anyone else's."""
    state = call.world.state
    task = state.tasks.get(int(call.params["task_id"]))
    if task is None or task.user_id != call.user.id:
        return not_found()
    where = call.zone_of(state.spaces[task.space_id])
    return Response(200, render.time_logs_xml(state.time_logs.get(task.id, []), where), XML)


# The archive's endpoints (tags, documents, associations) register themselves on ROUTER
# from a module of their own; importing it here makes ROUTER complete wherever it is used.
from assembla_mirror.simulator import api_archive  # noqa: E402, F401
