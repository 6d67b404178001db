"""What the mirror holds: its tables and columns, and how an Assembla record becomes a row.

Every table and column is declared once, in :mod:`.tables` (the sync's own
tables in :mod:`.bookkeeping`), with its description and where its value comes
from (:mod:`.declare`); the rest of the package derives what it needs from
there: the row specs of :mod:`.convert`, Datasette's descriptions, the object
API's record fields. :mod:`.values` converts one field of a record, :mod:`.columns`
holds the column types the migrations share. This layer imports only
:mod:`assembla_mirror.errors` of the package.
"""
