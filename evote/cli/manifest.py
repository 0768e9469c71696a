"""``evote manifest check FILE`` and ``evote manifest sign FILE``: the officials' manifest."""

from __future__ import annotations

from pathlib import Path

import click
import yaml
from rich.console import Console
from rich.table import Table

from evote.board.entry import Entry
from evote.cli import main
from evote.cli.setup import read_seed
from evote.election.manifest import Manifest
from evote.files import write_new
from evote.record import kinds


@main.group("manifest")
def manifest_group() -> None:
    """Work with an election manifest written by officials (YAML or JSON)."""


def read_manifest(path: Path) -> Manifest:
    """The officials' YAML or JSON manifest in ``path``, validated."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as error:
        raise click.BadParameter(f"cannot read {path}: {error}") from error
    if not isinstance(data, dict):
        raise click.BadParameter(f"{path} is not a manifest (a YAML or JSON mapping)")
    return Manifest.from_mapping(data)


@manifest_group.command("check")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def check(path: Path) -> None:
    """Validate the manifest in PATH and print its election id (SHA-256 of its canonical form).

    The election id is what officials publish out of band and what observers give
    `evote verify --election-id`.
    """
    manifest = read_manifest(path)
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


@manifest_group.command("sign")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--key",
    "keys",
    multiple=True,
    required=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="An official's key file (`evote key new`); repeat for several officials.",
)
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    required=True,
    help="Where to write the signed manifest entry (must not exist).",
)
def sign(path: Path, keys: tuple[Path, ...], out: Path) -> None:
    """Sign the manifest in PATH as officials: the board entry `evote setup` takes.

    Officials who sign on their own machines each write a copy; merge the copies with
    `evote ceremony merge-signatures`. Every key must be one of the manifest's officials.
    """
    manifest = read_manifest(path)
    signers = [read_seed(key) for key in keys]
    for key_path, signer in zip(keys, signers, strict=True):
        if signer.verify_key not in manifest.officials:
            raise click.BadParameter(f"{key_path} is not one of the manifest's officials' keys")
    entry = Entry.create(kinds.MANIFEST, manifest.election_id, manifest.to_tlv(), signers)
    write_new(out, entry.encoded)
    click.echo(
        f"manifest entry with {len(signers)} of {manifest.official_quorum} required officials' "
        f"signatures written to {out}"
    )
    click.echo(f"election id {manifest.election_id.hex()}")
