"""``evote dealer``: scheme B's trusted dealer deals the threshold Paillier key by hand.

The dealer runs once, on its own (ideally offline) machine, after every guardian's transport
key is on the board::

    evote record entries MIRROR --guardians --out inbox/     # the guardians' transport keys
    evote dealer deal --key dealer.key --manifest manifest.yaml --inbox inbox/ --outbox out/

It checks every guardian's ``ceremony-transport`` entry (this election, signed by exactly the
guardian it speaks for), makes a fresh key with two safe primes, and writes signed entry files
only: ``paillier-key.entry`` (the key, signed by the dealer; the officials check it and co-sign
it with ``evote official sign`` before it is posted) and ``paillier-share-g<i>.entry`` (the
share sealed to guardian ``i``, posted with the dealer's role certificate). The primes, the
decryption exponent, the polynomial and the unsealed shares exist only in this process's
memory (:func:`evote.ceremony.dealer.deal_shares`) and are never written anywhere: the
dealer's trust assumption (SECURITY.md) is that this machine is honest and is erased after.
"""

from __future__ import annotations

from pathlib import Path

import click

from evote.ceremony.dealer import (
    DEALT_KEY_FILE,
    deal_shares,
    dealing_entries,
    transport_keys_from_entries,
)
from evote.ceremony.offline import Posted
from evote.cli import main
from evote.cli.guardian import check_outbox, read_inbox, read_manifest, write_outbox
from evote.cli.setup import read_seed
from evote.election.manifest import PAILLIER
from evote.errors import EvoteError


@main.group("dealer")
def dealer_group() -> None:
    """Scheme B's trusted dealer: deal the threshold Paillier key to the guardians."""


@dealer_group.command("deal")
@click.option(
    "--key",
    "key_file",
    required=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="The dealer's Ed25519 key (`evote key new`), the one the manifest names.",
)
@click.option(
    "--manifest",
    "manifest_path",
    required=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="The officials' manifest (YAML or JSON) of a scheme B election.",
)
@click.option(
    "--inbox",
    required=True,
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="Entry files holding every guardian's ceremony-transport entry (other kinds are ignored).",
)
@click.option(
    "--outbox",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Directory for the signed key and sealed-share entry files (created if missing).",
)
def deal(key_file: Path, manifest_path: Path, inbox: Path, outbox: Path) -> None:
    """Deal the election's key: one fresh key, one share sealed to each guardian.

    Nothing secret is written: only the signed key entry and the sealed shares. A dealer deals
    once per election: an outbox that already holds a key entry is refused.
    """
    manifest = read_manifest(manifest_path)
    if manifest.scheme_name != PAILLIER:
        raise click.ClickException(
            f"{manifest_path} names scheme A (elgamal): its guardians make the key in their own "
            "ceremony, and there is no dealer"
        )
    dealer = read_seed(key_file)
    if manifest.dealer != dealer.verify_key:
        raise click.ClickException(
            f"{key_file} holds the key {dealer.verify_key.encode().hex()}, not the dealer's key "
            f"the manifest names; nothing was dealt"
        )
    if (outbox / DEALT_KEY_FILE).exists():
        raise click.ClickException(
            f"{outbox / DEALT_KEY_FILE} exists: a dealer deals once per election (use an empty "
            "outbox only if that key never reached the board)"
        )
    try:
        transport = transport_keys_from_entries(manifest, read_inbox(inbox))
        click.echo(
            f"every guardian's transport key checks ({len(transport)} of "
            f"{len(manifest.guardians)}); dealing a {manifest.guardian_quorum}-of-"
            f"{len(manifest.guardians)} threshold Paillier key (two safe primes: seconds)"
        )
        dealing = deal_shares(manifest, transport)
        files = [Posted(name, data) for name, data in dealing_entries(manifest, dealer, dealing)]
    except EvoteError as error:
        raise click.ClickException(error.diagnostics()) from error
    check_outbox(outbox, files)
    for path in write_outbox(outbox, files):
        click.echo(f"wrote {path}")
    click.echo(
        f"next: the officials check and co-sign {outbox / DEALT_KEY_FILE} (`evote official "
        "sign`), it is posted (`evote post`), then the dealer posts the paillier-share files "
        "with its role certificate (`evote ca issue --role dealer`); then erase this machine"
    )
