"""A real evote election that scenarios can bend: the parties, ballots, ballot box, board,
receipts and verifier are evote's own; only what the attacker in a scenario does is new.

:class:`SimElection` stages the election with :func:`evote.mock.staging.stage_election` (the
officials' manifest, the guardians' whole key ceremony, the joint key and the key checks, on a
SQLite board in a scratch directory), then copies those entries onto in-memory boards
(:meth:`SimElection.new_board`), one per variant a scenario wants to publish. On each board the
election goes on as it would on a real one: the credential list, the opening, the ballots (with
receipts, :func:`append_with_receipts`), the closing under a witnessed checkpoint, the encrypted
tally, the guardians' decryption shares and the result (:meth:`SimElection.finish`); the record
is exported and read back by the independent verifier (:meth:`SimElection.verify`).

Voters' devices encrypt and the ballot box checks proofs in worker processes
(:func:`evote.workers.process_pool`). Keys, ballot ids and nonces come from evote's own
randomness (``evote.crypto.rng``), so a scenario is reproducible in its measured figures, not in
its bytes.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Final, Literal, TypeVar

import numpy as np

from evote.board.checkpoint import Checkpoint, open_checkpoint
from evote.board.entry import Entry
from evote.board.export import export_record
from evote.board.log import BulletinBoard
from evote.board.merkle import leaf_hash, verify_consistency, verify_inclusion
from evote.board.note import parse_note
from evote.board.store import LogStore, MemoryStore
from evote.board.witness import Witness
from evote.client.receipt import Receipt, ReceiptRefused, check_receipt
from evote.crypto.signing import SigningKey, VerifyKey
from evote.election.audit import AuditReveal
from evote.election.ballot import EncryptedBallot
from evote.election.context import ElectionContext
from evote.election.encrypt import PlaintextBallot, encrypt_ballot
from evote.election.manifest import Manifest
from evote.election.tally import TallyResult, encrypted_tally, tally_result
from evote.errors import EvoteError, InvalidInput, VerificationError
from evote.mock.defaults import REFERENCE_CONTESTS
from evote.mock.staging import StagedElection, stage_election
from evote.record import kinds
from evote.record.ballot_box import (
    BallotBox,
    BallotRejected,
    Submission,
    check_proofs,
    parse_submission,
)
from evote.record.ballot_station import ProofCheck
from evote.record.kinds import CredentialList, PhaseMark
from evote.verify.report import VerificationReport
from evote.verify.runner import verify_record
from evote.workers import process_pool
from simulations.runner import SimulationError, Tracker

#: The contests a scenario's ballots carry. ``referendum`` (one yes/no question, a blank
#: allowed) is the default: detection does not depend on the ballot's shape, and its ballots
#: cost about a seventh of the ``reference`` ballot (17 options, 3 contest proofs).
PRESETS: Final[dict[str, list[dict[str, object]]]] = {
    "referendum": [REFERENCE_CONTESTS[0]],
    "reference": list(REFERENCE_CONTESTS),
}
PRESET_NAMES: Final = tuple(PRESETS)
#: Entries appended per board batch (one signed checkpoint each), as the mock's ballot box.
BATCH: Final = 64

ItemT = TypeVar("ItemT")
ResultT = TypeVar("ResultT")


@dataclass(frozen=True, slots=True)
class VoterTask:
    """One encryption a voter's device makes: whose credential, which choices, which sequence."""

    credential_seed: bytes
    plaintext: PlaintextBallot
    sequence: int = 0
    #: The key that signs the entry, when it is not the credential (a forgery).
    signer_seed: bytes | None = None


def random_choices(manifest: Manifest, rng: np.random.Generator) -> PlaintextBallot:
    """A voter's valid choices on the first ballot style, drawn from the simulation's ``rng``:
    a uniform number of marks within each contest's range, on distinct uniform options."""
    style = manifest.ballot_styles[0]
    votes = []
    for part in style.parts:
        contest, district = manifest.part(part)
        options = len(contest.options(district))
        marks = int(rng.integers(contest.min_marks, contest.max_marks + 1))
        chosen = {int(option) for option in rng.choice(options, size=marks, replace=False)}
        votes.append(tuple(int(option in chosen) for option in range(options)))
    return PlaintextBallot(style.id, tuple(votes))


def other_choices(
    manifest: Manifest, plaintext: PlaintextBallot, rng: np.random.Generator
) -> PlaintextBallot:
    """Valid choices that differ from ``plaintext``: what a cheating party puts in their place."""
    for _ in range(1000):
        other = random_choices(manifest, rng)
        if other != plaintext:
            return other
    raise SimulationError("this manifest admits only one way to fill the ballot: nothing to alter")


def encrypt_tasks(context: ElectionContext, tasks: Sequence[VoterTask]) -> list[bytes]:
    """The devices' work: encrypt and prove each ballot, sign it with the voter's credential
    (or with ``signer_seed``'s key). Module-level so that worker processes can run it."""
    out = []
    for task in tasks:
        credential = SigningKey(task.credential_seed)
        signer = credential if task.signer_seed is None else SigningKey(task.signer_seed)
        made = encrypt_ballot(task.plaintext, context, credential.verify_key, task.sequence)
        out.append(
            Entry.create(
                kinds.BALLOT, context.manifest.election_id, made.ballot.to_tlv(), [signer]
            ).encoded
        )
    return out


@dataclass(frozen=True, slots=True)
class AuditTask:
    """A device's encryption that the voter challenges: what it encrypted, and the choices it
    claims when it reveals the seed (the voter's own; a cheating device encrypted others)."""

    credential_seed: bytes
    encrypted: PlaintextBallot
    claimed: PlaintextBallot


def audit_tasks(context: ElectionContext, tasks: Sequence[AuditTask]) -> list[bytes]:
    """The devices' answers to challenges: each encryption posted as an audit entry with its
    seed and the claimed choices (evote's :class:`AuditReveal`), signed by the credential."""
    out = []
    for task in tasks:
        credential = SigningKey(task.credential_seed)
        made = encrypt_ballot(task.encrypted, context, credential.verify_key, 0)
        reveal = AuditReveal(made.ballot, made.seed, task.claimed.votes)
        out.append(
            Entry.create(
                kinds.AUDIT, context.manifest.election_id, reveal.to_tlv(), [credential]
            ).encoded
        )
    return out


def check_entries(context: ElectionContext, entries: Sequence[bytes]) -> list[str | None]:
    """The ballot box's proof checks (an audit is re-encrypted from its seed): ``None`` for an
    entry that passes, else why not."""
    verdicts: list[str | None] = []
    for data in entries:
        try:
            check_proofs(parse_submission(data, context), context)
            verdicts.append(None)
        except EvoteError as error:
            verdicts.append(str(error))
    return verdicts


def prechecked(entries: Iterable[bytes]) -> ProofCheck:
    """A ballot station's proof check (:class:`~evote.record.ballot_station.BallotStation`'s
    ``proofs``) for entries whose proofs already passed the ballot box's checks elsewhere, in
    worker processes (:meth:`SimElection.check`), as ``evote serve --proof-workers`` sends them:
    it passes exactly those entries, by tracking code, and refuses any other."""
    passed = frozenset(leaf_hash(data) for data in entries)

    def check(submission: Submission, context: ElectionContext) -> None:
        if submission.entry.tracking_code not in passed:
            raise BallotRejected("this submission's proofs were not checked by the workers")

    return check


#: Below this many items, work runs in this process: starting worker processes costs more.
INLINE_BELOW: Final = 256


class Workers:
    """A pool of worker processes, started on first use and kept for the whole scenario (one
    start-up instead of one per phase); ``workers == 1`` runs everything in this process."""

    def __init__(self, workers: int) -> None:
        if workers < 1:
            raise InvalidInput(f"at least one worker is needed, not {workers}")
        self.workers = workers
        self._pool: ProcessPoolExecutor | None = None

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown()
            self._pool = None

    def run(
        self,
        work: Callable[[ElectionContext, Sequence[ItemT]], list[ResultT]],
        context: ElectionContext,
        items: Sequence[ItemT],
        tracker: Tracker,
        label: str,
    ) -> list[ResultT]:
        """``work`` over ``items`` in chunks, results in order, progress under ``label``."""
        tracker.phase(label, len(items))
        size = max(1, min(BATCH, math.ceil(len(items) / (4 * self.workers))))
        chunks = [list(items[start : start + size]) for start in range(0, len(items), size)]
        results: list[ResultT] = []
        if self.workers == 1 or len(items) < INLINE_BELOW:
            for chunk in chunks:
                results.extend(work(context, chunk))
                tracker.advance(len(chunk))
            return results
        if self._pool is None:
            self._pool = process_pool(self.workers)
        done = self._pool.map(work, [context] * len(chunks), chunks)
        for chunk, result in zip(chunks, done, strict=True):
            results.extend(result)
            tracker.advance(len(chunk))
        return results


def append_with_receipts(board: BulletinBoard, entries: Sequence[bytes]) -> list[Receipt]:
    """Append ``entries`` in batches, as the ballot box does, and give each its receipt: the
    tracking code, the leaf index, the checkpoint signed over its batch and the inclusion
    proof against it."""
    receipts = []
    for start in range(0, len(entries), BATCH):
        batch = entries[start : start + BATCH]
        appended = board.append(batch)
        size = checkpoint_size(appended.checkpoint)
        for index, entry in enumerate(batch, appended.first_index):
            receipts.append(
                Receipt(
                    board.rules.election_id,
                    leaf_hash(entry),
                    index,
                    appended.checkpoint,
                    tuple(board.inclusion_proof(index, size)),
                )
            )
    return receipts


def checkpoint_size(text: str) -> int:
    """The tree size a checkpoint note states."""
    return Checkpoint.parse(parse_note(text).body).size


def check_receipt_published(
    receipt: Receipt,
    entry: bytes,
    manifest: Manifest,
    published: BulletinBoard,
    latest: Checkpoint | None = None,
) -> None:
    """A voter's check of a kept receipt against the board the election published; raise
    :class:`ReceiptRefused` if it fails.

    The offline check first (:func:`evote.client.receipt.check_receipt`: the receipt proves the
    entry under a checkpoint signed by the log key), then the online one of ``evote receipt
    check --online``, here against the published board: its latest checkpoint is signed by the
    log key and extends the receipt's (a consistency proof), the entry at the receipt's leaf is
    still the voter's bytes, and it is included in the latest tree.
    """
    check_receipt(receipt, manifest, entry)
    old, _ = open_checkpoint(receipt.checkpoint, manifest.log_origin, manifest.log_key)
    latest, _ = open_checkpoint(
        published.latest_checkpoint(), manifest.log_origin, manifest.log_key
    )
    if latest.size < old.size:
        raise ReceiptRefused(
            f"the published board has {latest.size} entries, fewer than the {old.size} of the "
            "receipt's checkpoint: it rewrote history"
        )
    try:
        verify_consistency(
            old.size,
            latest.size,
            old.root,
            latest.root,
            published.consistency_proof(old.size, latest.size) if latest.size > old.size else [],
        )
    except VerificationError as error:
        raise ReceiptRefused(
            f"the published board does not extend the receipt's checkpoint: {error}"
        ) from error
    if published.entry(receipt.leaf_index) != entry:
        raise ReceiptRefused(f"the published board holds other bytes at entry {receipt.leaf_index}")
    try:
        verify_inclusion(
            receipt.leaf_index,
            latest.size,
            leaf_hash(entry),
            published.inclusion_proof(receipt.leaf_index, latest.size),
            latest.root,
        )
    except VerificationError as error:
        raise ReceiptRefused(f"the entry is not in the published tree: {error}") from error


def latest_checkpoint(board: BulletinBoard, manifest: Manifest) -> Checkpoint:
    """The board's latest checkpoint, its signature checked against the manifest's log key."""
    checkpoint, _ = open_checkpoint(
        board.latest_checkpoint(), manifest.log_origin, manifest.log_key
    )
    return checkpoint


class SimElection:
    """One staged election (keys, the ceremony of ``guardians`` guardians with a ``quorum``,
    context) and boards to publish variants on."""

    def __init__(
        self,
        directory: Path,
        *,
        credentials: int,
        preset: str = "referendum",
        name: str = "Simulated community election",
        workers: int = 1,
        guardians: int = 3,
        quorum: int = 2,
    ) -> None:
        if preset not in PRESETS:
            raise InvalidInput(f"unknown preset {preset!r}; choose one of {', '.join(PRESETS)}")
        if credentials < 1:
            raise InvalidInput("an election needs at least one voter credential")
        if not 1 <= quorum <= guardians:
            raise InvalidInput(
                f"a quorum of {quorum} of {guardians} guardians is impossible: it lies between "
                f"1 and the number of guardians"
            )
        self.staged: StagedElection = stage_election(
            directory,
            name,
            PRESETS[preset],
            voters=credentials,
            until="keys",
            guardians=guardians,
            quorum=quorum,
        )
        board = self.staged.open_board()
        try:
            self.setup_entries = board.entries(0, board.size)
        finally:
            board.close()
        self.workers = Workers(workers)

    def __enter__(self) -> SimElection:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        """Stop the worker processes (the staged data dir is the caller's to remove)."""
        self.workers.close()

    @property
    def manifest(self) -> Manifest:
        return self.staged.manifest

    @property
    def context(self) -> ElectionContext:
        return self.staged.context

    @property
    def credentials(self) -> tuple[SigningKey, ...]:
        return self.staged.credentials

    def entry(self, kind: str, body: bytes, signers: Sequence[SigningKey]) -> bytes:
        return self.staged.entry(kind, body, signers)

    def new_board(self, store: LogStore | None = None) -> BulletinBoard:
        """A board holding the election's setup (manifest to key checks), in memory unless a
        ``store`` is given (an empty :class:`~evote.board.store.SqliteStore` for a durable
        board, as the services keep)."""
        board = BulletinBoard(
            MemoryStore() if store is None else store,
            self.staged.log_key,
            self.manifest.log_origin,
            kinds.entry_rules(self.manifest.election_id),
            self.manifest.witness_keys(),
        )
        board.append(self.setup_entries)
        return board

    def credential_list_entry(self, listed: Iterable[VerifyKey]) -> bytes:
        """The credential authority's signed list of ``listed`` (sorted, as it publishes it)."""
        keys = tuple(sorted(set(listed), key=lambda key: key.encode()))
        return self.entry(kinds.CREDENTIALS, CredentialList(keys).to_tlv(), [self.staged.authority])

    def mark(self, phase: Literal["open", "close"]) -> bytes:
        """The officials' open or close mark."""
        return self.entry(phase, PhaseMark(phase, int(time.time())).to_tlv(), self.staged.officials)

    def opened_board(
        self,
        listed: Iterable[VerifyKey],
        opening: bytes | None = None,
        store: LogStore | None = None,
    ) -> BulletinBoard:
        """A new board with the setup, the credential list of ``listed`` and the opening
        (``opening``, to give two boards the very same entries, or a new open mark), in
        ``store`` if given (else in memory)."""
        board = self.new_board(store)
        board.append([self.credential_list_entry(listed), opening or self.mark("open")])
        return board

    def ballot_box(self, listed: Iterable[VerifyKey]) -> BallotBox:
        """The real ballot box's admission rules for ``listed`` credentials, open."""
        box = BallotBox(self.context, listed)
        box.phase = "open"
        return box

    def encrypt(self, tasks: Sequence[VoterTask], tracker: Tracker) -> list[bytes]:
        """The voters' devices encrypt, prove and sign each ballot (in worker processes)."""
        return self.workers.run(encrypt_tasks, self.context, tasks, tracker, "devices encrypt")

    def audits(self, tasks: Sequence[AuditTask], tracker: Tracker) -> list[bytes]:
        """The devices answer challenges: audit entries (in worker processes)."""
        return self.workers.run(audit_tasks, self.context, tasks, tracker, "devices reveal seeds")

    def check(self, entries: Sequence[bytes], tracker: Tracker) -> list[str | None]:
        """The ballot box's proof checks of ``entries``: ``None`` where they pass, else why not."""
        return self.workers.run(
            check_entries, self.context, entries, tracker, "ballot box checks proofs"
        )

    def admit(self, box: BallotBox, entries: Sequence[bytes], tracker: Tracker) -> list[Submission]:
        """The ballot box checks every proof (in worker processes), then applies its stateful
        rules in order; an honest voter's ballot that is refused stops the simulation."""
        verdicts = self.check(entries, tracker)
        admitted = []
        for data, verdict in zip(entries, verdicts, strict=True):
            if verdict is not None:
                raise SimulationError(f"the ballot box refused an honest ballot: {verdict}")
            submission = parse_submission(data, self.context)
            box.admit(submission)
            admitted.append(submission)
        return admitted

    def cosign(self, board: BulletinBoard, witnesses: Sequence[Witness]) -> None:
        """Every witness checks consistency from its last cosigned tree and cosigns the newest."""
        latest = board.latest_checkpoint()
        size = board.size
        for witness in witnesses:
            old = witness.state.size
            signature = witness.add_checkpoint(
                latest, old, board.consistency_proof(old, size), int(time.time())
            )
            latest = board.add_cosignature(size, signature)

    def finish(
        self, board: BulletinBoard, cast: Mapping[int, EncryptedBallot], registered: int
    ) -> TallyResult:
        """Close (witnessed), tally ``cast`` (board index → ballot: each credential's last
        counts), let a quorum of guardians decrypt, and post the result."""
        staged = self.staged
        witnesses = [
            Witness(name, key, self.manifest.log_origin, staged.log_key.verify_key)
            for name, key in staged.witnesses
        ]
        board.append([self.mark("close")])
        self.cosign(board, witnesses)
        tally = encrypted_tally(self.manifest, cast)
        board.append([self.entry(kinds.TALLY, tally.to_tlv(), staged.officials)])
        shares = {}
        for number in range(1, self.manifest.guardian_quorum + 1):
            shares[number] = staged.trustees[number - 1].decrypt_tally(self.context, tally.totals)
            board.append(
                [
                    self.entry(
                        kinds.DECRYPTION_SHARE,
                        shares[number].to_tlv(),
                        [staged.guardians[number - 1]],
                    )
                ]
            )
        result = tally_result(self.manifest, tally, shares, registered=registered)
        board.append([self.entry(kinds.RESULT, result.to_tlv(), staged.officials)])
        self.cosign(board, witnesses)
        return result

    def verify(self, board: BulletinBoard, record: Path) -> VerificationReport:
        """Export ``board`` as a record into ``record`` and run the independent verifier (with
        as many worker processes as this election; it starts its own)."""
        export_record(board, record)
        return verify_record(
            record,
            election_id=self.manifest.election_id,
            workers=self.workers.workers,
            parallel_threshold=INLINE_BELOW,
        )


def failed_checks(report: VerificationReport) -> tuple[str, ...]:
    """The names of the verifier's checks that failed (a skipped check is not a failure)."""
    return tuple(check.name for check in report.checks if check.status == "fail")
