"""How much data a generated world holds: :class:`Scale` and its named presets."""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from typing import ClassVar

from assembla_mirror.errors import ConfigError


@dataclass(frozen=True)
class Scale:
    """Sizes for :meth:`World.generate <assembla_mirror.simulator.World.generate>`.

    ``spaces`` counts the spaces the primary caller belongs to (one more space,
    which the caller is not a member of, always exists). Per-space counts are
    exact for the first space and vary a little between the others; the space
    without a ticket tool has no tickets. ``*_per_ticket`` and
    ``time_logs_per_task`` are means.
    """

    spaces: int = 2
    users: int = 5
    tickets_per_space: int = 15
    milestones_per_space: int = 3
    custom_fields_per_space: int = 5
    tasks_per_space: int = 12
    time_logs_per_task: float = 1.0
    comments_per_ticket: float = 1.5
    deleted_ticket_ratio: float = 0.1
    history_days: int = 120

    PRESETS: ClassVar[dict[str, dict[str, int | float]]] = {
        "tiny": {},
        "small": {
            "spaces": 4,
            "users": 10,
            "tickets_per_space": 180,
            "milestones_per_space": 12,
            "tasks_per_space": 90,
            "time_logs_per_task": 0.5,
            "comments_per_ticket": 1.5,
            "deleted_ticket_ratio": 0.08,
            "history_days": 365,
        },
        "demo": {
            "spaces": 4,
            "users": 24,
            "tickets_per_space": 1200,
            "milestones_per_space": 15,
            "custom_fields_per_space": 6,
            "tasks_per_space": 1000,
            "time_logs_per_task": 0.3,
            "comments_per_ticket": 2.0,
            "deleted_ticket_ratio": 0.05,
            "history_days": 540,
        },
        "large": {
            "spaces": 20,
            "users": 60,
            "tickets_per_space": 1500,
            "milestones_per_space": 20,
            "custom_fields_per_space": 6,
            "tasks_per_space": 1200,
            "time_logs_per_task": 0.3,
            "comments_per_ticket": 2.0,
            "deleted_ticket_ratio": 0.05,
            "history_days": 730,
        },
        "bench": {
            "spaces": 10,
            "users": 50,
            "tickets_per_space": 11112,
            "milestones_per_space": 20,
            "tasks_per_space": 10000,
            "time_logs_per_task": 0.1,
            "comments_per_ticket": 0.5,
            "deleted_ticket_ratio": 0.03,
            "history_days": 730,
        },
    }

    @classmethod
    def preset(cls, name: str) -> Scale:
        """A named preset: tiny, small, demo, large or bench."""
        try:
            return cls(**cls.PRESETS[name])  # type: ignore[arg-type]
        except KeyError:
            known = ", ".join(cls.PRESETS)
            raise ConfigError(f"unknown scale preset {name!r}; choose one of {known}") from None

    @classmethod
    def parse(cls, text: str) -> Scale:
        """Parse ``preset[,key=value,...]`` such as ``demo,tickets_per_space=5000,spaces=10``.

        A text starting with ``key=value`` builds on the ``tiny`` defaults.
        """
        parts = [part.strip() for part in text.split(",") if part.strip()]
        base = cls()
        if parts and "=" not in parts[0]:
            base = cls.preset(parts.pop(0))
        types = {f.name: f.type for f in fields(cls)}
        changes: dict[str, int | float] = {}
        for part in parts:
            key, sep, raw = (s.strip() for s in part.partition("="))
            if not sep or key not in types:
                raise ConfigError(
                    f"bad scale setting {part!r}; use preset[,key=value,...] with keys "
                    + ", ".join(types)
                )
            try:
                changes[key] = float(raw) if types[key] == "float" else int(raw)
            except ValueError:
                raise ConfigError(f"scale setting {key} needs a number, got {raw!r}") from None
            if changes[key] < 0:
                raise ConfigError(f"scale setting {key} must not be negative")
        return replace(base, **changes)  # type: ignore[arg-type]
