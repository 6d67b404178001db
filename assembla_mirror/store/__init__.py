"""The storage seam: every SQL statement of the mirror, behind named functions.

Opening a database (a path or a SQLAlchemy URL), migrating it, writing rows
with their checkpoints, run records, the search index, and the queries the
read side asks. Nothing above this package writes SQL or knows the dialect.
"""
