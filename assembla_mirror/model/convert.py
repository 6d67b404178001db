"""The specs of the mirror's tables, derived from their models: records to rows.

Each table filled from records has a :class:`~.specs.TableSpec`, derived here
from its model in :mod:`.tables`: its payload fields in column order, each with
the converter the model names (see :mod:`.values`), the columns the caller
supplies, its key, and its required fields (the payload columns that cannot be
null). Applying a spec is :mod:`.specs`' (which a decode worker uses without
loading the models); this module hands those functions on, so that
``convert.TICKETS`` and ``convert.to_row`` are one import away.
"""

from __future__ import annotations

import re

from assembla_mirror.model import tables
from assembla_mirror.model.declare import (
    Base,
    Source,
    column_converter,
    column_source,
    table_of,
)

# "import X as X": handed on, part of this module's interface.
from assembla_mirror.model.specs import Row as Row
from assembla_mirror.model.specs import TableSpec as TableSpec
from assembla_mirror.model.specs import UnreadableItem as UnreadableItem
from assembla_mirror.model.specs import event_digest as event_digest
from assembla_mirror.model.specs import event_key_material as event_key_material
from assembla_mirror.model.specs import event_row as event_row
from assembla_mirror.model.specs import is_record as is_record
from assembla_mirror.model.specs import ticket_custom_field_rows as ticket_custom_field_rows
from assembla_mirror.model.specs import to_row as to_row
from assembla_mirror.model.values import INT64_MAX as INT64_MAX
from assembla_mirror.model.values import INT64_MIN as INT64_MIN
from assembla_mirror.model.values import LONE_SURROGATE as LONE_SURROGATE
from assembla_mirror.model.values import Converter as Converter
from assembla_mirror.model.values import boolean as boolean
from assembla_mirror.model.values import calendar_date as calendar_date
from assembla_mirror.model.values import dump_json as dump_json
from assembla_mirror.model.values import ident as ident
from assembla_mirror.model.values import integer as integer
from assembla_mirror.model.values import json_text as json_text
from assembla_mirror.model.values import real as real
from assembla_mirror.model.values import text as text
from assembla_mirror.model.values import utc as utc


def entity_name(model: type[Base]) -> str:
    """How warnings name a record of ``model``: ``UserRole`` is a "user role"."""
    return re.sub(r"(?<!^)(?=[A-Z])", " ", model.__name__).lower()


def table_spec(model: type[Base]) -> TableSpec:
    """The :class:`TableSpec` of a model declared with :mod:`.declare`'s column helpers.

    Payload columns become the fields, in declaration order; supplied columns
    the extra columns, in declaration order; non-nullable payload columns the
    required fields; the primary key the key. Names are plain ``str`` (SQLAlchemy's
    are a subclass, which ``marshal`` refuses on the way to a decode worker).
    """
    table = table_of(model)
    fields: list[tuple[str, Converter]] = []
    required: list[str] = []
    extra: list[str] = []
    for column in table.columns:
        source = column_source(column)
        if source is Source.PAYLOAD:
            fields.append((str(column.name), column_converter(column)))
            if not column.nullable:
                required.append(str(column.name))
        elif source is Source.SUPPLIED:
            extra.append(str(column.name))
    if "raw_json" not in table.columns or column_source(table.c.raw_json) is not Source.RAW_JSON:
        raise TypeError(
            f"{model.__name__} keeps no raw_json_column(), so it has no rows of records"
        )
    key = tuple(str(column.name) for column in table.primary_key.columns)
    return TableSpec(
        entity_name(model), str(table.name), tuple(fields), key, tuple(required), tuple(extra)
    )


SPACES = table_spec(tables.Space)
USERS = table_spec(tables.User)
USER_ROLES = table_spec(tables.UserRole)
MILESTONES = table_spec(tables.Milestone)
TICKET_STATUSES = table_spec(tables.TicketStatus)
CUSTOM_FIELDS = table_spec(tables.CustomField)
TICKETS = table_spec(tables.Ticket)
TICKET_COMMENTS = table_spec(tables.TicketComment)
TASKS = table_spec(tables.Task)
TIME_LOGS = table_spec(tables.TimeLog)
EVENTS = table_spec(tables.Event)
TAGS = table_spec(tables.Tag)
ATTACHMENTS = table_spec(tables.Attachment)
TICKET_ASSOCIATIONS = table_spec(tables.TicketAssociation)
#: What a tag's list of tickets gives ``ticket_tags``: each ticket's id (its links are
#: written by :mod:`assembla_mirror.store.archive`, not as records).
TICKET_REFS = TableSpec("ticket", "ticket_tags", (("id", integer),))

#: Row order of ``ticket_custom_fields`` (see :func:`ticket_custom_field_rows`).
TICKET_CUSTOM_FIELDS_COLUMNS = tuple(
    column.name for column in tables.TicketCustomField.__table__.columns
)
