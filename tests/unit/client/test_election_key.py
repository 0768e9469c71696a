"""The clients derive a scheme B election's context from the dealer's key on the board, as the
verifier does: the voter's setup check, the officials' client and the shared dispatch."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import pytest

from evote.board.entry import Entry
from evote.board.log import BulletinBoard
from evote.board.store import MemoryStore
from evote.ceremony.dealer import DealerCeremony, run_dealer_ceremony
from evote.client.channels import PAGE
from evote.client.election_key import derive_context, key_kind
from evote.client.official.contents import election_context, require_key_checks
from evote.client.official.errors import BoardUntrusted, StepRefused
from evote.client.official.reading import BoardView, board_view
from evote.client.voter.errors import SetupRefused
from evote.client.voter.setup import fetch_setup
from evote.crypto.signing import SigningKey
from evote.election.manifest import Manifest
from evote.mock.election import mock_manifest
from evote.record import kinds
from evote.record.kinds import CredentialList

REFERENDUM = {"id": "referendum", "kind": "referendum", "title": "Build a library", "max_marks": 1}


@dataclass
class SchemeB:
    """A scheme B board after the dealer's ceremony (no credential list yet)."""

    manifest: Manifest
    board: BulletinBoard
    officials: tuple[SigningKey, ...]
    authority: SigningKey
    dealer: SigningKey
    ceremony: DealerCeremony

    def view(self) -> BoardView:
        return board_view(
            self.manifest.election_id,
            self.board.entries(0, self.board.size),
            [self.board.latest_checkpoint()],
        )

    def entries(self) -> list[Entry]:
        return [Entry.decode(data) for data in self.board.entries(0, self.board.size)]


class LocalBoard:
    """The board read in-process, as :class:`~evote.client.channels.BoardClient` reads one."""

    def __init__(self, board: BulletinBoard) -> None:
        self.board = board

    def checkpoint(self, size: int = 0) -> str:
        return self.board.latest_checkpoint()

    def entries(self, start: int, limit: int = PAGE) -> list[bytes]:
        return self.board.entries(start, start + limit)

    def consistency_proof(self, old_size: int, new_size: int) -> list[bytes]:
        return self.board.consistency_proof(old_size, new_size)


def _scheme_b(*, officials_sign_the_key: bool = True) -> SchemeB:
    officials = tuple(SigningKey.generate() for _ in range(3))
    authority, dealer, log_key = SigningKey.generate(), SigningKey.generate(), SigningKey.generate()
    guardians = tuple(SigningKey.generate() for _ in range(2))
    manifest = mock_manifest(
        "Scheme B clients",
        [REFERENDUM],
        officials=officials,
        official_quorum=2,
        authority=authority,
        guardians=guardians,
        guardian_quorum=2,
        log_key=log_key,
        witnesses=[("witness-a", SigningKey.generate())],
        witness_quorum=1,
        dealer=dealer,
    )
    board = BulletinBoard(
        MemoryStore(),
        log_key,
        manifest.log_origin,
        kinds.entry_rules(manifest.election_id, manifest.scheme_name),
        manifest.witness_keys(),
    )

    def post(kind: str, body: bytes, signers: Sequence[SigningKey]) -> None:
        board.append([Entry.create(kind, manifest.election_id, body, signers).encoded])

    def as_guardian(kind: str, body: bytes, guardian: int) -> None:
        post(kind, body, [guardians[guardian - 1]])

    def as_dealer(kind: str, body: bytes, with_officials: bool) -> None:
        cosigners = officials[:2] if with_officials and officials_sign_the_key else ()
        post(kind, body, [dealer, *cosigners])

    post(kinds.MANIFEST, manifest.to_tlv(), officials[:2])
    ceremony = run_dealer_ceremony(manifest, as_guardian, as_dealer)
    return SchemeB(manifest, board, officials, authority, dealer, ceremony)


@pytest.fixture(scope="module")
def good() -> Iterator[SchemeB]:
    staged = _scheme_b()
    yield staged
    staged.board.close()


def test_the_key_kind_follows_the_scheme(good: SchemeB) -> None:
    assert key_kind(good.manifest) == kinds.PAILLIER_KEY


def test_the_dealers_ceremony_is_judged_once_it_is_over(good: SchemeB) -> None:
    context, findings = derive_context(good.entries(), good.manifest)
    assert context is not None
    assert context.extended_hash == good.ceremony.context.extended_hash
    assert [found.check for found in findings] == ["joint-key"]
    assert all(found.passed for found in findings)
    with_list = [
        *good.entries(),
        Entry.create(
            kinds.CREDENTIALS,
            good.manifest.election_id,
            CredentialList(()).to_tlv(),
            [good.authority],
        ),
    ]
    _, findings = derive_context(with_list, good.manifest)
    assert [found.check for found in findings] == ["guardians", "joint-key"]
    assert all(found.passed for found in findings)


def test_the_voters_device_derives_the_dealers_context(good: SchemeB) -> None:
    read = fetch_setup(LocalBoard(good.board), good.manifest.election_id)
    assert read.context is not None
    assert read.context.extended_hash == good.ceremony.context.extended_hash
    assert read.context.paillier_key == good.ceremony.context.paillier_key


def test_the_officials_derive_the_dealers_context(good: SchemeB) -> None:
    view = good.view()
    context = election_context(view)
    assert context.extended_hash == good.ceremony.context.extended_hash
    require_key_checks(view, context)  # every guardian's key check verifies


def test_a_key_the_officials_did_not_sign_is_refused_everywhere() -> None:
    staged = _scheme_b(officials_sign_the_key=False)
    try:
        with pytest.raises(SetupRefused, match="check 5"):
            fetch_setup(LocalBoard(staged.board), staged.manifest.election_id)
        with pytest.raises(BoardUntrusted, match="paillier-key"):
            election_context(staged.view())
    finally:
        staged.board.close()


def test_before_the_dealer_the_officials_are_told_to_wait() -> None:
    officials = tuple(SigningKey.generate() for _ in range(2))
    dealer, log_key = SigningKey.generate(), SigningKey.generate()
    manifest = mock_manifest(
        "Scheme B, no key yet",
        [REFERENDUM],
        officials=officials,
        official_quorum=2,
        authority=SigningKey.generate(),
        guardians=[SigningKey.generate()],
        guardian_quorum=1,
        log_key=log_key,
        witnesses=[("witness-a", SigningKey.generate())],
        witness_quorum=1,
        dealer=dealer,
    )
    board = BulletinBoard(
        MemoryStore(),
        log_key,
        manifest.log_origin,
        kinds.entry_rules(manifest.election_id, manifest.scheme_name),
        manifest.witness_keys(),
    )
    try:
        first = Entry.create(kinds.MANIFEST, manifest.election_id, manifest.to_tlv(), officials)
        board.append([first.encoded])
        view = board_view(manifest.election_id, board.entries(0, 1), [board.latest_checkpoint()])
        with pytest.raises(StepRefused, match="the dealer's key is not on the board"):
            election_context(view)
        assert fetch_setup(LocalBoard(board), manifest.election_id).context is None
    finally:
        board.close()
