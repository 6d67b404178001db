"""Deterministic generation of the work inside spaces: tickets with their histories,
comments, tasks, time logs and the activity history of the last 60 days.

Tuned for volume (the ``bench`` scale makes 100,000 tickets and tasks): one
pass per object, values drawn straight from the shared ``random.Random``.
Tickets' histories come from :mod:`.generator_history`, events from
:mod:`.generator_events`.
"""

from __future__ import annotations

import bisect
import math
import random
from datetime import datetime, timedelta
from decimal import Decimal

from assembla_mirror.simulator import generator_events, text
from assembla_mirror.simulator.entities import Comment, Task, Ticket, TimeLog
from assembla_mirror.simulator.generator_history import EDITS, ESTIMATES, SpaceHistory
from assembla_mirror.simulator.history import epoch
from assembla_mirror.simulator.scale import Scale
from assembla_mirror.simulator.state import SpaceData, WorldState
from assembla_mirror.simulator.text import pick

WINDOW = timedelta(days=60)
BUSY_COMMENTS = 12  # the first ticket of each space has more comments than one page holds
PRIORITIES = (1, 2, 3, 4, 5)
PRIORITY_CUMULATIVE = (0.05, 0.20, 0.75, 0.90)  # 5% highest ... 55% normal ... 10% lowest
STORY_SIZES = (0, 0, 0, 1, 4, 7)
HIERARCHY = (0, 0, 0, 0, 1, 2)
NO_CHANGES = "--- []\n"
LOG_TEXTS = (None, "Screenshot", "Auto-saved ⏱", "Pause café")
#: Which share of the history the older libyaml wrote (see history.py).
OLD_YAML_SHARE = 0.4

#: Ticket numbers the original `assembla` README fetches; never generated as deleted.
README_TICKETS = (201, 301)


def poisson(rng: random.Random, mean: float) -> int:
    """A Poisson-distributed count with the given mean (Knuth's method; means are small)."""
    if mean <= 0:
        return 0
    limit, count, product = math.exp(-mean), 0, rng.random()
    while product > limit:
        count += 1
        product *= rng.random()
    return count


class WorkGenerator:
    """Fills spaces with tickets and tasks, then writes the activity history."""

    def __init__(self, rng: random.Random, state: WorldState, scale: Scale, now: datetime):
        self.rng = rng
        self.state = state
        self.scale = scale
        self.now = now
        self.start = now - timedelta(days=max(1, scale.history_days))
        self.cutoff = now - WINDOW
        self.span = max(1.0, (now - self.start).total_seconds())
        self.comments = scale.comments_per_ticket
        self.deleted: list[tuple[Ticket, datetime]] = []
        state.yaml_upgrade = epoch(self.start + (now - self.start) * OLD_YAML_SHARE)

    def space(self, data: SpaceData, tickets: int, tasks: int) -> None:
        """Generate ``tickets`` live tickets (plus deleted ones) and ``tasks`` tasks."""
        members = list(data.roles)
        workers = [uid for uid, row in data.roles.items() if row.role != "watcher"] or members
        if tickets:
            self._tickets(data, tickets, SpaceHistory(self.rng, self.state, data, workers, members))
        self._tasks(data, tasks, workers)

    # --- tickets --------------------------------------------------------------------

    def _tickets(self, data: SpaceData, count: int, plan: SpaceHistory) -> None:
        rng, state, now = self.rng, self.state, self.now
        ratio = min(0.9, self.scale.deleted_ticket_ratio)
        begin = max(data.space.created_at, self.start)
        latest = now - timedelta(seconds=60)
        moment, live = begin, 0
        while live < count:
            # Spread what is left of the history over the tickets still to come, so
            # creation times never pile up at the end of it.
            left = (latest - moment).total_seconds()
            step = max(1.0, left / ((count - live) / (1 - ratio) + 1))
            moment = min(latest, moment + timedelta(seconds=int(rng.uniform(0.2, 1.8) * step)))
            ticket = self._ticket(data, moment, plan)
            if live and rng.random() < ratio and ticket.number not in README_TICKETS:
                age = (now - moment).total_seconds()
                self.deleted.append((ticket, moment + timedelta(seconds=int(rng.random() * age))))
                continue
            plan.ticket(ticket, self._final_status(plan, moment), now, poisson(rng, EDITS))
            data.tickets[ticket.number] = ticket
            state.tickets_by_id[ticket.id] = ticket
            extra = BUSY_COMMENTS if live == 0 else 0
            self._comments(ticket, plan.members, extra + poisson(rng, self.comments))
            live += 1

    def _final_status(self, plan: SpaceHistory, created: datetime) -> str:
        """Where a ticket created at ``created`` stands now: older ones more often closed."""
        rng = self.rng
        age = (self.now - created).total_seconds()
        closed = rng.random() < 0.15 + 0.6 * min(1.0, age / self.span)
        statuses = plan.closed if closed and plan.closed != [plan.first] else plan.open
        return statuses[int(rng.random() ** 2 * len(statuses))]

    def _ticket(self, data: SpaceData, created: datetime, plan: SpaceHistory) -> Ticket:
        """A ticket as created: in the first status, with its first values."""
        rng = self.rng
        number = data.next_number
        data.next_number += 1
        estimate = pick(rng, ESTIMATES)
        worked = round(rng.random() * estimate * 6) / 4
        assignee = None if rng.random() < 0.4 else pick(rng, plan.workers)
        reporter = pick(rng, plan.members)
        shape = rng.random()
        return Ticket(
            id=self.state.new_id("ticket"),
            space_id=data.space.id,
            number=number,
            summary=text.summary(rng),
            description=None if shape < 0.15 else "" if shape < 0.2 else text.paragraph(rng),
            status=plan.first,
            state=plan.states[plan.first],
            priority=PRIORITIES[bisect.bisect(PRIORITY_CUMULATIVE, rng.random())],
            reporter_id=reporter,
            created_on=created,
            updated_at=created,
            assigned_to_id=assignee,
            milestone_id=pick(rng, plan.milestones)
            if plan.milestones and rng.random() < 0.6
            else None,
            importance=-1.0 if rng.random() < 0.3 else round(rng.random() * 1000, 2),
            is_story=rng.random() < 0.05,
            story_importance=pick(rng, STORY_SIZES),
            hierarchy_type=pick(rng, HIERARCHY),
            notification_list=",".join(dict.fromkeys(u for u in (reporter, assignee) if u)),
            estimate=estimate,
            total_estimate=estimate,
            working_hours=worked,
            total_working_hours=worked,
            total_invested_hours=worked,
            due_date=(created + timedelta(days=3 + int(rng.random() * 57))).date()
            if rng.random() < 0.2
            else None,
            completed_date=None,
            titles=data.titles,
            custom_values={
                fid: plan.field_value(kind, options, created)
                for fid, kind, options, _ in plan.fields
            },
        )

    def _comments(self, ticket: Ticket, members: list[str], count: int) -> None:
        """Add ``count`` text comments, oldest first; ``updated_at`` covers the newest."""
        if not count:
            return
        rng, state = self.rng, self.state
        age = (self.now - ticket.created_on).total_seconds()
        rows = state.comments.setdefault(ticket.id, [])
        for offset in sorted(int(rng.random() * age) for _ in range(count)):
            when = ticket.created_on + timedelta(seconds=offset)
            rows.append(
                Comment(
                    id=state.new_id("comment"),
                    ticket_id=ticket.id,
                    space_id=ticket.space_id,
                    user_id=pick(rng, members),
                    comment=pick(rng, text.COMMENTS),
                    created_on=when,
                    updated_at=when,
                    ticket_changes=NO_CHANGES,
                )
            )
        ticket.updated_at = max(ticket.updated_at, rows[-1].created_on)

    # --- tasks ------------------------------------------------------------------------

    def _tasks(self, data: SpaceData, count: int, workers: list[str]) -> None:
        rng, state, now = self.rng, self.state, self.now
        caller = state.primary_user_id
        others = [uid for uid in workers if uid != caller] or workers
        mine = caller in data.roles
        tickets = list(data.tickets.values())
        begin = max(data.space.created_at, self.start)
        span = max(60.0, (now - begin).total_seconds() - 12 * 3600)
        for _ in range(count):
            quarters = 1 + int(rng.random() * 32)
            start = begin + timedelta(seconds=int(rng.random() * span))
            end = start + timedelta(minutes=15 * quarters)
            created = min(now, end + timedelta(seconds=int(rng.random() * 3600)))
            updated = created
            if rng.random() < 0.2:
                updated += timedelta(seconds=int(rng.random() * (now - created).total_seconds()))
            linked = pick(rng, tickets) if tickets and rng.random() < 0.4 else None
            description = pick(rng, text.TASK_WORDS)
            if rng.random() < 0.3:
                description += f" — {text.summary(rng)}"
            task = Task(
                id=state.new_id("task"),
                space_id=data.space.id,
                user_id=caller if mine and rng.random() < 0.4 else pick(rng, others),
                description=description,
                hours=Decimal(str(quarters / 4)),
                begin_at=start,
                end_at=end,
                created_at=created,
                updated_at=updated,
                url=None
                if rng.random() < 0.8
                else f"https://example.com/work/{int(rng.random() * 9999)}",
                billed=rng.random() < 0.1,
                ticket_id=linked.id if linked else None,
                ticket_number=linked.number if linked else None,
            )
            state.tasks[task.id] = task
            self._time_logs(task)

    def _time_logs(self, task: Task) -> None:
        count = poisson(self.rng, self.scale.time_logs_per_task)
        rng = self.rng
        length = (task.end_at - task.begin_at).total_seconds()
        for _ in range(count):
            self.state.time_logs.setdefault(task.id, []).append(
                TimeLog(
                    id=self.state.new_id("time_log"),
                    task_id=task.id,
                    space_id=task.space_id,
                    user_id=task.user_id,
                    description=pick(rng, LOG_TEXTS),
                    created_at=task.begin_at + timedelta(seconds=int(rng.random() * length)),
                    is_timeout=rng.random() < 0.1,
                )
            )

    # --- activity history --------------------------------------------------------------

    def finish(self) -> None:
        """Write the events of the last 60 days for everything generated, sorted by date."""
        made = generator_events.activity(self.state, self.cutoff, self.deleted)
        self.state.events = made
        self.state.next_ids["event"] = len(made) + 1
