"""Staged elections for tests and benchmarks: a SQLite board set up as a real election is,
with every party's key at hand.

:func:`stage_election` writes into a data dir the manifest (signed by the officials), the
guardians' whole key ceremony, the joint key, the key checks and, unless asked to stop at the
keys, the credential list and the opening, exactly as the parties would post them. The result
can build any party's entry (a voter's ballot or audit, the officials' marks), so a test or a
benchmark starts from a real board, not a fake.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from evote.board.entry import Entry
from evote.board.log import BulletinBoard
from evote.board.store import SqliteStore
from evote.ceremony.messages import JointKey
from evote.ceremony.rounds import post_key_checks, run_ceremony
from evote.ceremony.trustee import Trustee
from evote.crypto.signing import SigningKey
from evote.election.audit import AuditReveal
from evote.election.context import ElectionContext
from evote.election.encrypt import encrypt_ballot
from evote.election.manifest import Manifest
from evote.mock.election import Choices, mock_manifest, random_plaintext
from evote.record import kinds
from evote.record.kinds import CredentialList, PhaseMark
from evote.services.server import BOARD_FILE


@dataclass(frozen=True)
class StagedElection:
    """A staged election's data dir, its public setup and every party's key."""

    data_dir: Path
    manifest: Manifest
    context: ElectionContext
    log_key: SigningKey
    officials: tuple[SigningKey, ...]
    authority: SigningKey
    guardians: tuple[SigningKey, ...]
    trustees: tuple[Trustee, ...]
    witnesses: tuple[tuple[str, SigningKey], ...]
    credentials: tuple[SigningKey, ...]

    @property
    def origin(self) -> str:
        return self.manifest.log_origin

    def open_board(self) -> BulletinBoard:
        """The data dir's board, opened as the log (close it after use)."""
        return BulletinBoard(
            SqliteStore(self.data_dir / BOARD_FILE),
            self.log_key,
            self.origin,
            kinds.entry_rules(self.manifest.election_id),
            self.manifest.witness_keys(),
        )

    def entry(self, kind: str, body: bytes, signers: Sequence[SigningKey]) -> bytes:
        return Entry.create(kind, self.manifest.election_id, body, signers).encoded

    def post(self, kind: str, body: bytes, signers: Sequence[SigningKey]) -> None:
        """Append an entry straight to the board (no server may hold it open meanwhile)."""
        board = self.open_board()
        try:
            board.append([self.entry(kind, body, signers)])
        finally:
            board.close()

    def mark(self, phase: Literal["open", "close"], signers: Sequence[SigningKey]) -> bytes:
        """The officials' open or close mark, signed by ``signers``."""
        return self.entry(phase, PhaseMark(phase, int(time.time())).to_tlv(), signers)

    def close(self) -> None:
        """Post the close mark straight to the board."""
        board = self.open_board()
        try:
            board.append([self.mark("close", self.officials)])
        finally:
            board.close()

    def ballot_by(self, credential: SigningKey, sequence: int = 0, label: str = "voter") -> bytes:
        """A ballot entry with choices drawn from ``label``, signed by ``credential``."""
        style = self.manifest.ballot_styles[0].id
        plaintext = random_plaintext(self.manifest, style, Choices(None), label)
        cast = encrypt_ballot(plaintext, self.context, credential.verify_key, sequence)
        return self.entry(kinds.BALLOT, cast.ballot.to_tlv(), [credential])

    def ballot(self, voter: int, sequence: int = 0) -> bytes:
        """Voter ``voter``'s ballot (their credential, their sequence number)."""
        return self.ballot_by(self.credentials[voter], sequence, f"voter/{voter}")

    def audit(self, voter: int) -> bytes:
        """Voter ``voter``'s challenged ballot, its seed revealed."""
        credential = self.credentials[voter]
        style = self.manifest.ballot_styles[0].id
        plaintext = random_plaintext(self.manifest, style, Choices(None), f"audit/{voter}")
        made = encrypt_ballot(plaintext, self.context, credential.verify_key, 0)
        reveal = AuditReveal(made.ballot, made.seed, plaintext.votes)
        return self.entry(kinds.AUDIT, reveal.to_tlv(), [credential])


def stage_election(
    data_dir: Path,
    name: str,
    contests: Sequence[dict[str, object]],
    *,
    voters: int,
    until: Literal["keys", "credentials", "open"] = "open",
    guardians: int = 3,
    quorum: int = 2,
) -> StagedElection:
    """A new election in ``data_dir``: 2 officials (both must sign), ``guardians`` guardians
    with a ``quorum``, 2 witnesses (both must cosign) and ``voters`` credentials. ``until``
    ``"keys"`` stops after the key checks (no credential list, not open)."""
    data_dir.mkdir(parents=True, exist_ok=True)
    officials = (SigningKey.generate(), SigningKey.generate())
    authority = SigningKey.generate()
    guardian_keys = tuple(SigningKey.generate() for _ in range(guardians))
    log_key = SigningKey.generate()
    witnesses = tuple((f"witness-{i}.evote.test", SigningKey.generate()) for i in (1, 2))
    credentials = tuple(SigningKey.generate() for _ in range(voters))
    manifest = mock_manifest(
        name,
        contests,
        officials=officials,
        official_quorum=2,
        authority=authority,
        guardians=guardian_keys,
        guardian_quorum=quorum,
        log_key=log_key,
        witnesses=witnesses,
        witness_quorum=2,
    )
    board = BulletinBoard(
        SqliteStore(data_dir / BOARD_FILE),
        log_key,
        manifest.log_origin,
        kinds.entry_rules(manifest.election_id),
        manifest.witness_keys(),
    )

    def post(kind: str, body: bytes, signers: Sequence[SigningKey]) -> None:
        board.append([Entry.create(kind, manifest.election_id, body, signers).encoded])

    def post_as_guardian(kind: str, body: bytes, guardian: int) -> None:
        post(kind, body, [guardian_keys[guardian - 1]])

    try:
        post(kinds.MANIFEST, manifest.to_tlv(), officials)
        ceremony = run_ceremony(manifest, post_as_guardian)
        context = ceremony.outcome.require_context()
        joint = JointKey(context.joint_key, context.extended_hash, context.verification_keys)
        post(kinds.JOINT_KEY, joint.to_tlv(), [*officials, *guardian_keys])
        post_key_checks(ceremony.trustees, context, post_as_guardian)
        if until != "keys":
            listed = CredentialList(
                tuple(sorted((c.verify_key for c in credentials), key=lambda k: k.encode()))
            )
            post(kinds.CREDENTIALS, listed.to_tlv(), [authority])
        if until == "open":
            post(kinds.OPEN, PhaseMark("open", int(time.time())).to_tlv(), officials)
    finally:
        board.close()
    return StagedElection(
        data_dir,
        manifest,
        context,
        log_key,
        officials,
        authority,
        guardian_keys,
        ceremony.trustees,
        witnesses,
        credentials,
    )
