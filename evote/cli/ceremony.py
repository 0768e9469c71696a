"""``evote ceremony``: scripted key ceremonies (rehearsals with simulated guardians)."""

from __future__ import annotations

from evote.cli import main


@main.group("ceremony")
def ceremony_group() -> None:
    """Run and check scripted key ceremonies."""
