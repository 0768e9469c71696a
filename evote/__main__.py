"""``python -m evote`` runs the command line."""

from evote.cli import run

run()
