"""One schema source: every column is declared once, in the models, and the rest follows.

The declarations carry descriptions and sources but no schema: the database an
upgrade builds is still exactly the models. Every table and column says what it
means and where its value comes from, and a payload column's converter yields
what its column type stores.
"""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Column
from sqlalchemy.orm import mapped_column

from assembla_mirror.model import values
from assembla_mirror.model.declare import (
    Source,
    column_converter,
    column_descriptions,
    column_source,
    payload_column,
    table_description,
    table_of,
)
from assembla_mirror.model.tables import MODELS, Base
from assembla_mirror.read.datasette import descriptions
from assembla_mirror.store.database import open_db

COLUMNS = [column for model in MODELS.values() for column in table_of(model).columns]
ALL_COLUMNS = [pytest.param(column, id=f"{column.table.name}.{column.name}") for column in COLUMNS]
PAYLOAD_COLUMNS = [
    pytest.param(column, id=f"{column.table.name}.{column.name}")
    for column in COLUMNS
    if column_source(column) is Source.PAYLOAD
]


def without_full_text_search(name: str | None, type_: str, _parents: Any) -> bool:
    """As migrations/env.py does: the FTS tables are their migration's, not a model's."""
    return not (
        type_ == "table" and name is not None and ("_fts_" in name or name.endswith("_fts"))
    )


def test_the_models_are_exactly_a_freshly_migrated_database(tmp_path: Path) -> None:
    engine = open_db(tmp_path / "fresh.db")
    with engine.connect() as connection:
        context = MigrationContext.configure(
            connection,
            opts={"compare_type": True, "include_name": without_full_text_search},
        )
        assert compare_metadata(context, Base.metadata) == []
    engine.dispose()


def test_every_table_is_modelled_and_described() -> None:
    assert set(MODELS) == set(Base.metadata.tables)
    for model in MODELS.values():
        assert table_description(model), f"{model.__name__} needs a docstring"


@pytest.mark.parametrize("column", ALL_COLUMNS)
def test_every_column_says_what_it_holds_and_where_it_comes_from(column: Column[Any]) -> None:
    assert column.doc
    assert column.doc.endswith((".", ")")), "a sentence, for Datasette"
    assert isinstance(column_source(column), Source)


#: What each converter gives, as the column type reads it back.
STORES: dict[values.Converter, type] = {
    values.text: str,
    values.ident: str,
    values.json_text: str,
    values.integer: int,
    values.real: float,
    values.boolean: bool,
    values.utc: datetime,
    values.calendar_date: date,
}


@pytest.mark.parametrize("column", PAYLOAD_COLUMNS)
def test_a_payload_converter_suits_its_column_type(column: Column[Any]) -> None:
    assert STORES[column_converter(column)] is column.type.python_type


def test_only_record_tables_keep_raw_json() -> None:
    for model in MODELS.values():
        table = table_of(model)
        sources = {column_source(column) for column in table.columns}
        assert (Source.RAW_JSON in sources) == (Source.PAYLOAD in sources), model.__name__
        if "raw_json" in table.columns:
            assert column_source(table.c.raw_json) is Source.RAW_JSON


def test_a_column_shadowing_its_converter_is_refused() -> None:
    # In a class body, ``number: Mapped[int] = ...`` hides a converter named ``number``
    # from the columns declared after it.
    shadowing = mapped_column()
    with pytest.raises(TypeError, match="not a converter"):
        payload_column(shadowing, "The description.")  # type: ignore[arg-type]


def test_the_model_layer_loads_no_http_and_no_database_driver() -> None:
    # A decode worker imports the model (with SQLAlchemy) to convert records, and
    # must stay light: no HTTP client, no SQLite driver, no Alembic.
    code = (
        "import json, sys\n"
        "import assembla_mirror.model.convert, assembla_mirror.model.tables\n"
        "print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in "
        "('httpx', 'httpcore', 'sqlite3', '_sqlite3', 'alembic'))))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == []


def test_datasette_describes_the_tables_as_their_models_do() -> None:
    for table, model in MODELS.items():
        assert descriptions.table_description(table) == table_description(model)
        assert descriptions.COLUMNS[table] == column_descriptions(model)
        for column in table_of(model).columns:
            assert descriptions.column_description(table, column.name) == column.doc
    # Nothing about a modelled table is written down a second time there.
    assert not set(descriptions.UNMODELLED_COLUMNS) & set(MODELS)
