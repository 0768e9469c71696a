"""``evote manifest check FILE``: read the officials' manifest and print its election id."""

from __future__ import annotations

from pathlib import Path

import click
import yaml
from rich.console import Console
from rich.table import Table

from evote.cli import main
from evote.election.manifest import Manifest


@main.group("manifest")
def manifest_group() -> None:
    """Work with an election manifest written by officials (YAML or JSON)."""


@manifest_group.command("check")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def check(path: Path) -> None:
    """Validate the manifest in PATH and print its election id (SHA-256 of its canonical form).

    The election id is what officials publish out of band and what observers give
    `evote verify --election-id`.
    """
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as error:
        raise click.BadParameter(f"cannot read {path}: {error}") from error
    manifest = Manifest.from_mapping(data)
    table = Table(title=manifest.name)
    table.add_column("contest")
    table.add_column("kind")
    table.add_column("options", justify="right")
    table.add_column("marks")
    for contest in manifest.contests:
        options = sum(
            len(contest.options(part.partition("/")[2] or None)) for part in contest.parts()
        )
        table.add_row(
            contest.id, contest.kind, str(options), f"{contest.min_marks}–{contest.max_marks}"
        )
    console = Console()
    console.print(table)
    console.print(
        f"guardians {manifest.guardian_quorum} of {len(manifest.guardians)}, officials "
        f"{manifest.official_quorum} of {len(manifest.officials)}, witnesses "
        f"{manifest.witness_quorum} of {len(manifest.witnesses)}"
    )
    click.echo(f"election id {manifest.election_id.hex()}")
