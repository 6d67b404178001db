"""What the mirror holds: its tables and columns, and how an Assembla record becomes a row.

Every table and column is declared once, in :mod:`.tables`; the rest of the
package derives what it needs from there. This layer imports only
:mod:`assembla_mirror.errors` of the package.
"""
