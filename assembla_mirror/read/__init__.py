"""The mirror in use: the offline object API, reports, frames, charts, status, Datasette.

Everything here reads through :mod:`assembla_mirror.store`; nothing here talks
to Assembla (``Mirror.sync`` hands over to :mod:`assembla_mirror.sync`).
"""
