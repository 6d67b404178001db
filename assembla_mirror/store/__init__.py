"""The storage seam: every SQL statement of the mirror, behind named functions.

Nothing above this package writes SQL or knows the database is SQLite; what
differs between databases is asked of the dialect (:mod:`.dialect`, SQLite its
first implementation). The modules, by purpose:

* opening: :mod:`.database` (open, migrate, the run lock; :mod:`.target` says what
  a ``--db`` value names), :mod:`.failures` (one clear message per failure),
  :mod:`.backup`, :mod:`.locks`, and SQLite's own :mod:`.sqlite_file` and :mod:`.fts5`;
* writing (the sync): :mod:`.writes`, :mod:`.checkpoints`, :mod:`.runs`,
  :mod:`.search` (also searching), :mod:`.lookups` (the sync's questions);
* the views and what they share with reports and Datasette: :mod:`.expressions`,
  :mod:`.views`;
* reading: :mod:`.reports`, :mod:`.listings` (for DataFrames), :mod:`.objects` (for
  the object API), :mod:`.schema`, :mod:`.status`, with :mod:`.results` shared.
"""
