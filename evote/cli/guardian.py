"""``evote guardian``: the commands a guardian runs on their own, possibly offline, machine."""

from __future__ import annotations

from evote.cli import main


@main.group("guardian")
def guardian_group() -> None:
    """A guardian's own tools: identity key, ceremony rounds, decryption shares."""
