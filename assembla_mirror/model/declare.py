"""How the mirror's tables are declared: each column once, with its meaning and its source.

Every column of a model is declared with one of four helpers. Each returns an
ordinary ``mapped_column`` carrying the column's description (its ``doc``) and
where its value comes from (its ``info``), so a model reads as the list of its
columns and what they mean::

    class Task(Base):
        # ... its docstring: the table's description ...
        __tablename__ = "tasks"

        hours: Mapped[float | None] = payload_column(real, "Hours spent.")

* :func:`payload_column`: the field of the same name in the record Assembla
  sends, through a converter of :mod:`.values`. One that cannot be null
  (``Mapped[int]`` rather than ``Mapped[int | None]``) is required: a record
  without it is skipped, naming the field.
* :func:`supplied_column`: a value the code building the row supplies beside
  the payload (the space of a status list, which the payload names only by its
  space tool; an event's key).
* :func:`mirror_column`: kept by the mirror itself, outside a record's row (a
  space's ``has_ticket_tool``, the sync's bookkeeping).
* :func:`raw_json_column`: the record exactly as sent.

From these, :mod:`.convert` derives how a record becomes a row, the Datasette
metadata its descriptions, and the object API its records' fields. Neither
``doc`` nor ``info`` is part of the schema: they change no DDL.
"""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import Any

from sqlalchemy import BigInteger, Column, ForeignKey, Integer, MetaData, String, Table, Text
from sqlalchemy.orm import DeclarativeBase, MappedColumn, mapped_column

from assembla_mirror.model.columns import ISODate, UTCDateTime
from assembla_mirror.model.values import Converter

# Deterministic constraint names: SQLite batch migrations can only drop or
# alter a constraint Alembic can name.
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


#: An integer column: 64 bits in every database (SQLite's INTEGER always is; PostgreSQL's
#: is 32, too few for the ids and counts a converter of .values lets through).
INTEGER = Integer().with_variant(BigInteger(), "postgresql")


class Base(DeclarativeBase):
    """Declarative base carrying the naming convention."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {  # noqa: RUF012 (SQLAlchemy reads this class attribute)
        datetime: UTCDateTime(),
        date: ISODate(),
        str: String(),
        int: INTEGER,
    }


class Source(enum.Enum):
    """Where a column's value comes from (kept in the column's ``info``)."""

    PAYLOAD = "payload"
    SUPPLIED = "supplied"
    MIRROR = "mirror"
    RAW_JSON = "raw_json"


#: Keys of a column's ``info``.
SOURCE, CONVERT = "source", "convert"


def payload_column(
    convert: Converter, description: str, *args: Any, **options: Any
) -> MappedColumn[Any]:
    """A column holding the payload field of the same name, as ``convert`` makes it.

    ``args`` and ``options`` go to ``mapped_column`` (a type, a foreign key,
    ``index=True`` ...). The column is required exactly when it is not nullable.
    """
    if not callable(convert):
        # In a class body, a column declared above shadows a converter of its name.
        raise TypeError(f"{description!r}: {convert!r} is not a converter of .values")
    info = {SOURCE: Source.PAYLOAD, CONVERT: convert}
    return mapped_column(*args, doc=description, info=info, **options)


def supplied_column(description: str, *args: Any, **options: Any) -> MappedColumn[Any]:
    """A column whose value the caller supplies when it builds the row, after the payload's."""
    return mapped_column(*args, doc=description, info={SOURCE: Source.SUPPLIED}, **options)


def mirror_column(description: str, *args: Any, **options: Any) -> MappedColumn[Any]:
    """A column the mirror keeps itself, outside the rows built from records."""
    return mapped_column(*args, doc=description, info={SOURCE: Source.MIRROR}, **options)


RAW_JSON_DESCRIPTION = (
    "The record exactly as the API sent it (JSON), including fields with no column."
)


def raw_json_column() -> MappedColumn[Any]:
    """The record as Assembla sent it (JSON text): last in every row built from a record."""
    return mapped_column(Text, doc=RAW_JSON_DESCRIPTION, info={SOURCE: Source.RAW_JSON})


def nested_in(parent: str) -> ForeignKey:
    """A foreign key to ``parent`` (``"spaces.id"``), where the API nests this record under it.

    Deleting the parent deletes what hangs off it.
    """
    return ForeignKey(parent, ondelete="CASCADE")


# --- reading the declarations back -------------------------------------------------


def table_of(model: type[Base]) -> Table:
    """The table ``model`` declares."""
    return Base.metadata.tables[model.__tablename__]


def column_source(column: Column[Any]) -> Source:
    """Where ``column``'s value comes from; a column declared without a helper is an error."""
    try:
        source: Source = column.info[SOURCE]
    except KeyError:
        raise TypeError(
            f"column {column.table.name}.{column.name} is not declared with a helper of "
            "assembla_mirror.model.declare, so nothing says where its value comes from"
        ) from None
    return source


def column_converter(column: Column[Any]) -> Converter:
    """The converter of a payload column."""
    if column_source(column) is not Source.PAYLOAD:
        raise TypeError(f"column {column.table.name}.{column.name} is not filled from a payload")
    converter: Converter = column.info[CONVERT]
    return converter


def declared_models() -> dict[str, type[Base]]:
    """Every model declared so far by table name, in table order (see ``tables.MODELS``)."""
    by_table = {mapper.class_.__tablename__: mapper.class_ for mapper in Base.registry.mappers}
    return {table.name: by_table[table.name] for table in Base.metadata.sorted_tables}


def table_description(model: type[Base]) -> str:
    """What a table holds: the first paragraph of its model's docstring, on one line."""
    first_paragraph = (model.__doc__ or "").strip().split("\n\n")[0]
    return " ".join(first_paragraph.split())


def column_descriptions(model: type[Base]) -> dict[str, str]:
    """What each column of ``model`` holds, in table order."""
    return {column.name: column.doc or "" for column in table_of(model).columns}
