"""The offline receipt check accepts the receipt of an entry on the board and refuses each
tampered field."""

from __future__ import annotations

import dataclasses

import pytest

from evote.board.checkpoint import Checkpoint, sign_checkpoint
from evote.board.entry import Entry
from evote.board.log import BulletinBoard
from evote.board.note import parse_note
from evote.board.store import MemoryStore
from evote.client.channels import receipt_from
from evote.client.receipt import Receipt, ReceiptRefused, check_receipt
from evote.crypto.signing import SigningKey
from evote.election.manifest import Manifest
from evote.mock.defaults import REFERENCE_CONTESTS
from evote.mock.election import mock_manifest
from evote.record import kinds
from evote.record.kinds import PhaseMark
from evote.services.board import receipt_for

OFFICIALS = tuple(SigningKey.generate() for _ in range(2))
LOG_KEY = SigningKey.generate()


def manifest_for(log_key: SigningKey) -> Manifest:
    return mock_manifest(
        "Receipt test",
        [REFERENCE_CONTESTS[0]],
        officials=OFFICIALS,
        official_quorum=2,
        authority=SigningKey.generate(),
        guardians=(SigningKey.generate(),),
        guardian_quorum=1,
        log_key=log_key,
        witnesses=(("witness-1.evote.test", SigningKey.generate()),),
        witness_quorum=1,
    )


MANIFEST = manifest_for(LOG_KEY)


@pytest.fixture(scope="module")
def posted() -> tuple[Receipt, bytes, bytes]:
    """A receipt for entry 3 of a board of 6 entries, that entry, and another entry."""
    board = BulletinBoard(
        MemoryStore(),
        LOG_KEY,
        MANIFEST.log_origin,
        kinds.entry_rules(MANIFEST.election_id),
        MANIFEST.witness_keys(),
    )
    election_id = MANIFEST.election_id
    board.append([Entry.create(kinds.MANIFEST, election_id, MANIFEST.to_tlv(), OFFICIALS).encoded])
    entries = [
        Entry.create(kinds.OPEN, election_id, PhaseMark("open", t).to_tlv(), OFFICIALS).encoded
        for t in range(5)
    ]
    for entry in entries:
        board.append([entry])
    receipt = receipt_from(receipt_for(board, 3, board.latest_checkpoint()))
    return receipt, entries[2], entries[3]


def test_a_good_receipt_is_accepted(posted: tuple[Receipt, bytes, bytes]) -> None:
    receipt, entry, _ = posted
    assert receipt.leaf_index == 3
    assert len(receipt.inclusion_proof) > 1
    check_receipt(receipt, MANIFEST, entry)


def _resigned(receipt: Receipt, key: SigningKey, *, root: bytes | None = None) -> str:
    """The receipt's checkpoint signed by ``key``, optionally with another root."""
    checkpoint = Checkpoint.parse(parse_note(receipt.checkpoint).body)
    changed = dataclasses.replace(checkpoint, root=checkpoint.root if root is None else root)
    return sign_checkpoint(changed, key).text()


def tampered(receipt: Receipt) -> dict[str, Receipt]:
    proof = receipt.inclusion_proof
    flipped = bytes([proof[0][0] ^ 1]) + proof[0][1:]
    note = receipt.checkpoint
    return {
        "election id": dataclasses.replace(receipt, election_id=bytes(32)),
        "tracking code": dataclasses.replace(receipt, tracking_code=bytes(32)),
        "leaf index": dataclasses.replace(receipt, leaf_index=receipt.leaf_index + 1),
        "proof hash": dataclasses.replace(receipt, inclusion_proof=(flipped, *proof[1:])),
        "proof shortened": dataclasses.replace(receipt, inclusion_proof=proof[:-1]),
        "proof lengthened": dataclasses.replace(receipt, inclusion_proof=(*proof, bytes(32))),
        "checkpoint body": dataclasses.replace(receipt, checkpoint=note.replace("\n6\n", "\n7\n")),
        "checkpoint signer": dataclasses.replace(
            receipt, checkpoint=_resigned(receipt, SigningKey.generate())
        ),
        "checkpoint root": dataclasses.replace(
            receipt, checkpoint=_resigned(receipt, LOG_KEY, root=bytes(32))
        ),
        "checkpoint missing": dataclasses.replace(receipt, checkpoint=""),
    }


@pytest.mark.parametrize(
    "field",
    [
        "election id",
        "tracking code",
        "leaf index",
        "proof hash",
        "proof shortened",
        "proof lengthened",
        "checkpoint body",
        "checkpoint signer",
        "checkpoint root",
        "checkpoint missing",
    ],
)
def test_each_tampered_field_is_refused(posted: tuple[Receipt, bytes, bytes], field: str) -> None:
    receipt, entry, _ = posted
    with pytest.raises(ReceiptRefused):
        check_receipt(tampered(receipt)[field], MANIFEST, entry)


def test_another_entry_or_another_election_is_refused(
    posted: tuple[Receipt, bytes, bytes],
) -> None:
    receipt, _, other = posted
    with pytest.raises(ReceiptRefused, match="tracking code"):
        check_receipt(receipt, MANIFEST, other)
    _, entry, _ = posted
    with pytest.raises(ReceiptRefused, match="another election"):
        check_receipt(receipt, manifest_for(LOG_KEY), entry)
