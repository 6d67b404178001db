"""Every row of a canned query as CSV, where Datasette's own export stops at its row limit.

Datasette shows and exports at most ``max_returned_rows`` rows of a query (1,000 by
default), without a word in the CSV. ``/-/mirror-export/<database>/<query>.csv``
runs the canned query itself, with the form's parameters, and sends every row.

The rows are written to a spooled temporary file in the database's own thread
(a megabyte in memory, then on disk) and streamed from there, so an export of any
size holds a bounded amount of memory and never shares a cursor between threads.
Only canned queries can be exported, and only by whoever may view them: the SQL
is the metadata's, never the request's.
"""

from __future__ import annotations

import codecs
import csv
import io
import tempfile
from typing import IO, Any
from urllib.parse import quote, urlencode

from datasette.utils import derive_named_parameters
from datasette.utils.asgi import AsgiStream, NotFound

__all__ = ["ROUTE", "export_csv", "export_url"]

#: The export's route, as Datasette's ``register_routes`` takes it.
ROUTE = r"^/-/mirror-export/(?P<database>[^/]+)/(?P<query>[^/]+)\.csv$"
#: Bytes held in memory before the rows go to a temporary file.
SPOOL_BYTES = 1 << 20
#: Bytes sent per chunk of the response.
CHUNK_BYTES = 64 * 1024


def export_url(database: str, query: str, params: dict[str, str]) -> str:
    """Where every row of canned query ``query`` with ``params`` can be downloaded."""
    path = f"/-/mirror-export/{quote(database, safe='')}/{quote(query, safe='')}.csv"
    return f"{path}?{urlencode(params)}" if params else path


def _write_rows(conn: Any, sql: str, params: dict[str, str], out: IO[bytes]) -> None:
    """Write the answer to ``sql`` as CSV (a header, then every row) to ``out``."""
    text = io.TextIOWrapper(out, encoding="utf-8", newline="", write_through=True)
    cursor = conn.execute(sql, params)
    writer = csv.writer(text)
    writer.writerow([column[0] for column in cursor.description])
    while rows := cursor.fetchmany(1000):
        writer.writerows(tuple(row) for row in rows)
    text.flush()
    text.detach()  # leave ``out`` open for the response


async def export_csv(request: Any, datasette: Any) -> AsgiStream:
    """The route's view: every row of the canned query the path names, as CSV."""
    database = request.url_vars["database"]
    name = request.url_vars["query"]
    try:
        db = datasette.get_database(database)
    except KeyError:
        raise NotFound(f"no database {database}") from None
    canned = await datasette.get_canned_query(database, name, request.actor)
    if canned is None or canned.get("write"):
        raise NotFound(f"no query {name} to export")
    # After the lookup: Datasette's own check asserts that the query exists.
    await datasette.ensure_permissions(
        request.actor,
        [("view-query", (database, name)), ("view-database", database), "view-instance"],
    )
    sql = canned["sql"]
    params = {key: request.args.get(key) or "" for key in await derive_named_parameters(db, sql)}
    spool = tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES)  # noqa: SIM115 (closed below)
    try:
        await db.execute_fn(lambda conn: _write_rows(conn, sql, params, spool))
    except BaseException:
        spool.close()
        raise
    spool.seek(0)

    async def send(response: Any) -> None:
        # Datasette's stream takes text: decode incrementally, as a chunk may end
        # inside a character.
        decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        try:
            while chunk := spool.read(CHUNK_BYTES):
                await response.write(decoder.decode(chunk))
            await response.write(decoder.decode(b"", final=True))
        finally:
            spool.close()

    headers = {"content-disposition": f'attachment; filename="{name}.csv"'}
    return AsgiStream(send, headers=headers, content_type="text/csv; charset=utf-8")
