"""``python -m assembla_mirror`` runs the ``mirror`` command."""

from assembla_mirror.cli import main

main()
