"""Setting up an election to serve: ``evote key new``, ``evote setup``, ``evote ca issue``.

The order on a fresh machine (docs/running-an-election.md walks through it):

1. every party makes its keys (``evote key new`` for officials, the log, the credential
   authority and witnesses; ``evote guardian identity`` for guardians) and gives the officials
   its public key;
2. the officials write the manifest naming those keys, check it (``evote manifest check``) and
   sign it (``evote manifest sign``; copies signed apart are merged with
   ``evote ceremony merge-signatures``);
3. ``evote setup`` puts the signed manifest on a new board in the data dir and makes the
   election CA; ``evote ca issue`` gives each party its role certificate for the control port;
4. ``evote serve`` serves the election.
"""

from __future__ import annotations

from pathlib import Path

import click

from evote.cli import main
from evote.crypto.rng import random_bytes
from evote.crypto.signing import SigningKey
from evote.errors import EvoteError
from evote.files import write_new
from evote.services.ca import ROLE_URN_PREFIX, Role
from evote.services.setup import create_election_dir, issue_role

SEED_BYTES = 32


def read_seed(path: Path) -> SigningKey:
    """An Ed25519 key from a file holding its 32-byte seed in hex (``evote key new`` writes
    one; ``mock-secrets.json`` gives them too)."""
    try:
        seed = bytes.fromhex(path.read_text(encoding="ascii").strip())
    except (OSError, ValueError) as error:
        raise click.BadParameter(f"cannot read a hex key seed from {path}: {error}") from error
    if len(seed) != SEED_BYTES:
        raise click.BadParameter(f"{path} must hold a {SEED_BYTES}-byte seed in hex")
    return SigningKey(seed)


@main.group("key")
def key_group() -> None:
    """Signing keys of officials, the log, the credential authority and witnesses."""


@key_group.command("new")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
def new_key(path: Path) -> None:
    """Make a new Ed25519 key in PATH (its seed in hex, readable by you only) and print the
    public key for the manifest. Keep PATH offline except when the key signs."""
    seed = random_bytes(SEED_BYTES)
    write_new(path, seed.hex().encode("ascii") + b"\n", 0o600)
    click.echo(SigningKey(seed).verify_key.encode().hex())


@main.command("setup")
@click.option(
    "--data-dir",
    type=click.Path(file_okay=False, path_type=Path),
    required=True,
    help="The election's data dir (created): the board, the registry, the CA.",
)
@click.option(
    "--manifest-entry",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    required=True,
    help="The manifest entry signed by a quorum of officials (`evote manifest sign`).",
)
@click.option(
    "--log-key",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    required=True,
    help="File with the log's signing-key seed (hex): the key the manifest names.",
)
def setup(data_dir: Path, manifest_entry: Path, log_key: Path) -> None:
    """Set up DATA_DIR to serve a new election: the signed manifest becomes entry 0 of its
    board, and the election CA and the server's certificate are made there.

    Prints the election id (officials publish it; voters and observers pin it) and the CA
    certificate clients trust. Repeating the same setup changes nothing.
    """
    manifest = create_election_dir(data_dir, manifest_entry.read_bytes(), read_seed(log_key))
    click.echo(f"election id {manifest.election_id.hex()}")
    click.echo(f"CA          {data_dir / 'ca.pem'}")


@main.group("ca")
def ca_group() -> None:
    """The election CA: role certificates for the control port."""


def _role(value: str) -> Role:
    try:
        return Role.from_uri(ROLE_URN_PREFIX + value)
    except EvoteError as error:
        raise click.BadParameter(
            f"{error} (roles: official, guardian:I, witness:NAME, credential-authority, dealer, "
            "admin)",
            param_hint="--role",
        ) from None


@ca_group.command("issue")
@click.option(
    "--data-dir",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    required=True,
    help="The data dir holding the election CA (`evote setup` made it).",
)
@click.option(
    "--role",
    "role_text",
    required=True,
    help="official, guardian:I, witness:NAME, credential-authority, dealer (scheme B), …",
)
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    required=True,
    help="Directory to write key.pem (mode 0600), cert.pem and ca.pem into.",
)
@click.option("--days", type=click.IntRange(1, 14), default=3, show_default=True)
def issue(data_dir: Path, role_text: str, out: Path, days: int) -> None:
    """Issue a role certificate: what a party's client presents on the control port."""
    role = _role(role_text)
    issue_role(data_dir, role, out, days=days)
    click.echo(f"{role} certificate for {days} days written to {out}")
