"""An observer: follow the board live, mirror it, verify entries as they arrive, cosign.

The observer pins the election id it was given out of band and trusts nothing the board says
without checking it:

* entry 0 must be the manifest whose SHA-256 is that id (the verifier's check 2); the
  manifest's log origin and key, and its witnesses' keys, are then the only trust roots;
* each poll takes the board's latest checkpoint, checks the log's signature and every witness
  cosignature it carries, fetches the new entries page by page, and recomputes the Merkle root
  of its **own** copy of every entry so far. Holding every entry is stronger than checking a
  consistency proof: the root must come out of the very bytes the board served before.
  A checkpoint smaller than one already seen, a root that differs from the mirror's at the
  same size, or a page that changes an entry already mirrored is :class:`HistoryRewritten`:
  the board contradicted what it signed or served before. The observer keeps both
  checkpoints as evidence (each is signed by the log) and stops;
* every new entry's envelope and signatures are checked (the board's own rules,
  :func:`evote.record.kinds.entry_rules`), and, once the joint key is on the board, every
  ballot's and audit's proofs with the verifier's per-entry proof check
  (:func:`evote.verify.runner.verify_all_proofs`, against the election context the verifier
  recomputes from the ceremony: checks 4 and 5);
* the rules that need the whole record (who may sign, timing, revotes, the counted set, the
  tally, decryption, the result) are the verifier's whole-record checks: they run on the
  mirror when a ``close``, ``tally`` or ``result`` entry arrives and when the observer stops,
  counting only the checks whose inputs are all on the board by then
  (:func:`applicable_checks`).

The mirror is a record directory in the export format (:mod:`evote.board.record`):
``entries.tlv`` and ``checkpoints.tlv``, each replaced atomically and durably
(:func:`evote.files.write_atomically`, as the export does), entries first. The checkpoints
file holds every checkpoint the observer verified, with the valid cosignatures it saw, so
``evote verify DIR`` runs on the mirror as it is. A restart resumes from it after re-checking
it in full; entries past its last checkpoint (a write cut short) are dropped and fetched again.

As a witness (C2SP ``tlog-witness``, in the pull model: the witness follows the board and hands
its cosignature back) the observer cosigns each new checkpoint it verified, with
:class:`evote.board.witness.Witness`, from a consistency proof it computes from its own
mirror. The witness's state is the largest checkpoint in the mirror that carries its own
cosignature: the cosigned checkpoint is written to ``checkpoints.tlv`` (atomically, fsync'd)
**before** the cosignature leaves the process, so a restarted witness never forgets what it
signed and cannot be led to cosign a fork. A cosignature the board did not take is handed in
again on later polls (the board takes a repeated line once).
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final, Protocol

import grpc

from evote.board.checkpoint import Checkpoint, cosignature_time, open_checkpoint, verify_witnessed
from evote.board.entry import Entry
from evote.board.merkle import EMPTY_ROOT, MerkleTree, leaf_hash
from evote.board.note import ALGORITHM_COSIGNATURE_V1, ALGORITHM_ED25519, SignedNote, key_id
from evote.board.record import (
    CHECKPOINTS_FILE,
    CHECKPOINTS_HEADER,
    ENTRIES_FILE,
    ENTRIES_HEADER,
    read_entries,
)
from evote.board.witness import Witness, WitnessState
from evote.client.channels import PAGE
from evote.crypto import encoding
from evote.crypto.signing import SigningKey
from evote.election.context import ElectionContext
from evote.election.manifest import Manifest
from evote.errors import (
    BoardError,
    CheckpointError,
    ConsistencyError,
    DecodeError,
    EntryRejected,
    EvoteError,
    InvalidInput,
    RecordError,
)
from evote.files import write_atomically
from evote.record import kinds
from evote.verify import checks
from evote.verify.report import VerificationReport
from evote.verify.runner import verify_all_proofs, verify_record

#: Whole-record verification runs when one of these arrives.
PHASE_KINDS: Final = frozenset({kinds.CLOSE, kinds.TALLY, kinds.RESULT})
#: Checkpoints after the close entry asked for again, at most, to gather witness cosignatures.
CLOSING_REFRESH: Final = 64

#: ``send(size, line)``: hand a cosignature line (no newline) over the board's checkpoint of
#: ``size`` to the board; answers the checkpoint note with every cosignature attached so far.
#: :meth:`evote.client.channels.ControlClient.add_cosignature` with a witness role certificate.
CosignatureSender = Callable[[int, str], str]


class BoardReader(Protocol):
    """What the observer reads from the board (:class:`evote.client.channels.BoardClient`)."""

    def checkpoint(self, size: int = 0) -> str:
        """The latest checkpoint note, or the one of ``size`` entries."""
        ...

    def entries(self, start: int, limit: int = PAGE) -> list[bytes]:
        """Up to ``limit`` entries from ``start`` (empty past the end)."""
        ...


class HistoryRewritten(ConsistencyError):
    """The board contradicted what it signed or served before: it rewrote its history.

    ``earlier`` is the last checkpoint the observer had verified (``None`` before the first),
    ``later`` the one that contradicts it; both are notes signed by the log, so together they
    prove the fork to anyone holding the manifest. ``entry`` names the entry that changed,
    when one is known.
    """

    def __init__(
        self, message: str, *, earlier: str | None, later: str, entry: int | None = None
    ) -> None:
        super().__init__(message)
        self.earlier = earlier
        self.later = later
        self.entry = entry

    def diagnostics(self) -> str:
        earlier = self.earlier or "(none verified yet)\n"
        return (
            f"THE BOARD REWROTE ITS HISTORY: {self}\n\n"
            f"earlier checkpoint (verified before):\n{earlier}\n"
            f"later checkpoint (contradicts it):\n{self.later}"
        )


@dataclass(frozen=True, slots=True)
class Finding:
    """Something the observer checked that did not check out.

    ``check`` is ``"checkpoint"`` (a signature or cosignature, or a checkpoint the board
    cannot back with entries), ``"entry"`` (an envelope or signature), ``"proof"`` (a ballot's
    or an audit's proofs) or ``"ceremony"`` (the election context could not be recomputed).
    """

    check: str
    message: str
    entry: int | None = None

    def __str__(self) -> str:
        where = "" if self.entry is None else f"entry {self.entry}: "
        return f"{self.check}: {where}{self.message}"


def applicable_checks(present: Iterable[str]) -> frozenset[str]:
    """The verifier's checks whose inputs are all on a board holding entries of these kinds.

    A board in the middle of an election fails the checks that want what is still to come
    (check 3 wants one ``result`` entry): those are left out until their inputs are there.
    """
    seen = set(present)
    names = {checks.RECORD, checks.MANIFEST}
    if kinds.JOINT_KEY in seen:
        names |= {checks.GUARDIANS, checks.JOINT_KEY}
    if kinds.OPEN in seen:
        names.add(checks.KEY_CHECKS)
    if kinds.CREDENTIALS in seen:
        names |= {checks.CREDENTIALS, checks.BALLOTS, checks.AUDITS}
    if kinds.TALLY in seen:
        names |= {checks.COUNTED_SET, checks.TALLY, checks.CLOSING_CHECKPOINT}
    if kinds.RESULT in seen:
        names = {info.name for info in checks.CHECKS}
    return frozenset(names)


@dataclass(frozen=True, slots=True)
class MirrorVerification:
    """One whole-record run of the verifier on the mirror, and the checks that count."""

    report: VerificationReport
    applicable: frozenset[str]
    size: int

    def failing(self) -> list[str]:
        """The applicable checks that did not pass (failed, or skipped for a failure)."""
        return [
            check.name
            for check in self.report.checks
            if check.name in self.applicable and check.status != "pass"
        ]

    @property
    def passed(self) -> bool:
        return not self.failing()

    @property
    def complete(self) -> bool:
        """Whether every check ran (the result is on the board)."""
        return len(self.applicable) == len(checks.CHECKS)

    @property
    def waiting_for_witnesses(self) -> bool:
        """Only the closing checkpoint's witness quorum is missing: cosignatures may come."""
        return self.failing() == [checks.CLOSING_CHECKPOINT]

    def problems(self) -> list[str]:
        """Every failure of the applicable checks, one line each."""
        lines = []
        for check in self.report.checks:
            if check.name not in self.applicable or check.status == "pass":
                continue
            if check.status == "skipped":
                lines.append(f"check {check.number} ({check.name}): {check.skipped_because}")
            lines.extend(
                f"check {check.number} ({check.name}): {failure.message}"
                for failure in check.failures
            )
        return lines


@dataclass(frozen=True, slots=True)
class PollReport:
    """What one poll saw, for the live line."""

    poll: int
    size: int
    new_entries: int
    ballots: int
    failures: int
    new_findings: tuple[Finding, ...] = ()
    cosigned: int | None = None
    verification: MirrorVerification | None = None
    unavailable: str | None = None
    warning: str | None = None


def _now() -> int:
    return int(time.time())


def _describe(error: Exception) -> str:
    if isinstance(error, grpc.RpcError):
        return f"{error.code().name}: {error.details()}"
    return str(error)


class Observer:
    """Follows one election's board into a mirror directory; see the module docstring.

    Call :meth:`start` (resume from the mirror, or read entry 0 from the board), then
    :meth:`poll` as often as wanted, or :meth:`follow` to poll on an interval; :meth:`finish`
    runs the last whole-record verification. :attr:`passed` says whether everything checked
    passed so far.

    A witness gives ``witness_key`` (a key the manifest lists) and ``send_cosignature``;
    ``clock`` is the witness's time in seconds. ``workers`` processes verify ballot proofs
    (``None``: one per CPU).
    """

    def __init__(
        self,
        board: BoardReader,
        election_id: bytes,
        mirror: str | Path,
        *,
        witness_key: SigningKey | None = None,
        send_cosignature: CosignatureSender | None = None,
        clock: Callable[[], int] = _now,
        workers: int | None = 1,
    ) -> None:
        if len(election_id) != 32:
            raise InvalidInput("the election id is 32 bytes: SHA-256 of the manifest")
        if (witness_key is None) != (send_cosignature is None):
            raise InvalidInput("a witness needs both its signing key and a way to hand in lines")
        self._board = board
        self.election_id = election_id
        self.mirror = Path(mirror)
        self._witness_key = witness_key
        self._send = send_cosignature
        self._clock = clock
        self._workers = workers or os.cpu_count() or 1
        self._manifest: Manifest | None = None
        self._first: bytes | None = None
        self._entries: list[bytes] = []
        self._parsed: list[Entry | None] = []
        self._tree = MerkleTree()
        self._checkpoints: dict[int, tuple[Checkpoint, SignedNote]] = {}
        self._context: ElectionContext | None = None
        self._proofs_checked = 0
        self._ballots = 0
        self._witness: Witness | None = None
        self._pending: tuple[int, str] | None = None
        self._seen_findings: set[Finding] = set()
        self._dirty = False
        self._phase_arrived = False
        self.findings: list[Finding] = []
        self.rewrite: HistoryRewritten | None = None
        self.verification: MirrorVerification | None = None
        self.polls = 0

    # --- state ----------------------------------------------------------------------------------

    @property
    def manifest(self) -> Manifest:
        if self._manifest is None:
            raise InvalidInput("the observer has not started: call start() first")
        return self._manifest

    @property
    def size(self) -> int:
        """How many entries the mirror holds (all covered by a verified checkpoint)."""
        return len(self._entries)

    @property
    def ballots(self) -> int:
        return self._ballots

    @property
    def witness_name(self) -> str | None:
        return None if self._witness is None else self._witness.name

    @property
    def witness_state(self) -> WitnessState | None:
        return None if self._witness is None else self._witness.state

    @property
    def result_seen(self) -> bool:
        return any(entry is not None and entry.kind == kinds.RESULT for entry in self._parsed)

    @property
    def failures(self) -> int:
        """Per-entry findings plus the failures of the last whole-record run."""
        found = len(self.findings)
        if self.verification is not None:
            found += len(self.verification.problems())
        return found

    @property
    def passed(self) -> bool:
        """No rewrite, no finding, and the last whole-record run passed its checks."""
        return (
            self.rewrite is None
            and not self.findings
            and (self.verification is None or self.verification.passed)
        )

    @property
    def finished(self) -> bool:
        """The result is on the board and the whole-record run that followed it is final:
        it passed, or failed on more than a missing witness quorum."""
        done = self.verification
        return (
            self.result_seen
            and done is not None
            and done.complete
            and done.size == self.size
            and not done.waiting_for_witnesses
        )

    def _latest_note(self) -> str | None:
        if not self._checkpoints:
            return None
        return self._checkpoints[max(self._checkpoints)][1].text()

    def _fail(self, check: str, message: str, entry: int | None = None) -> Finding | None:
        finding = Finding(check, message, entry)
        if finding in self._seen_findings:
            return None
        self._seen_findings.add(finding)
        self.findings.append(finding)
        return finding

    # --- starting and resuming ------------------------------------------------------------------

    def start(self) -> None:
        """Resume from the mirror if it holds a record, else read entry 0 from the board.

        Raises :class:`RecordError` if entry 0 is not the pinned election's manifest, or if
        the mirror does not check out (it belongs to another election, or was altered).
        """
        if self._manifest is not None:
            return
        self.mirror.mkdir(parents=True, exist_ok=True)
        if not self._resume():
            page = self._board.entries(0, 1)
            if not page:
                raise RecordError("the board holds no entry yet: entry 0 must be the manifest")
            self._adopt_manifest(page[0], "the board's entry 0")
        if self._witness_key is not None:
            self._start_witness(self._witness_key)

    def _adopt_manifest(self, first: bytes, where: str) -> None:
        findings, info = checks.check_manifest(first, self.election_id)
        if info is None or not findings.passed:
            reasons = "; ".join(str(failure) for failure in findings.failures)
            raise RecordError(
                f"{where} is not the manifest of election {self.election_id.hex()}: {reasons}"
            )
        self._manifest = info.manifest
        self._first = first

    def _resume(self) -> bool:
        """Load and re-check the mirror; False when there is nothing to resume from."""
        for name in (ENTRIES_FILE, CHECKPOINTS_FILE):
            # What an interrupted write_atomically leaves behind; the file itself is intact.
            (self.mirror / f".{name}.partial").unlink(missing_ok=True)
        present = sorted(path.name for path in self.mirror.iterdir())
        strangers = [name for name in present if name not in (ENTRIES_FILE, CHECKPOINTS_FILE)]
        if strangers:
            raise RecordError(
                f"{self.mirror} holds {', '.join(strangers)}: a mirror directory holds only "
                f"{ENTRIES_FILE} and {CHECKPOINTS_FILE}; give an empty or new directory"
            )
        if ENTRIES_FILE not in present:
            if CHECKPOINTS_FILE in present:
                raise RecordError(f"{self.mirror} has checkpoints but no {ENTRIES_FILE}")
            return False
        entries = read_entries(self.mirror)
        texts = self._read_notes() if CHECKPOINTS_FILE in present else []
        if not entries:
            raise RecordError(f"{self.mirror / ENTRIES_FILE} holds no entry, not even entry 0")
        self._adopt_manifest(entries[0], f"entry 0 of the mirror {self.mirror}")
        tree = MerkleTree([leaf_hash(data) for data in entries])
        previous = 0
        for position, text in enumerate(texts):
            where = f"the mirror's checkpoint {position}"
            try:
                checkpoint, note = self._checked_note(text, report=False)
            except CheckpointError as error:
                raise RecordError(f"{where}: {error}") from error
            if not previous < checkpoint.size <= tree.size:
                raise RecordError(f"{where} has size {checkpoint.size}, out of order or too big")
            if checkpoint.root != tree.root(checkpoint.size):
                raise RecordError(
                    f"{where}: the mirror's entries do not match its root (size "
                    f"{checkpoint.size}): the mirror was altered; move it aside and start anew"
                )
            self._checkpoints[checkpoint.size] = (checkpoint, note)
            previous = checkpoint.size
        # Entries past the last checkpoint were written by a poll cut short: fetch them again.
        self._append(entries[:previous])
        if previous != len(entries):
            self._write_entries()
        self._phase_arrived = any(
            entry is not None and entry.kind in PHASE_KINDS for entry in self._parsed
        )
        return True

    def _read_notes(self) -> list[str]:
        path = self.mirror / CHECKPOINTS_FILE
        try:
            values = encoding.split_values(path.read_bytes())
            if not values or encoding.decode(values[0]) != CHECKPOINTS_HEADER:
                raise RecordError(f"{path} does not start with {CHECKPOINTS_HEADER!r}")
            return [
                encoding.expect_bytes(encoding.decode(value), what="checkpoint").decode("utf-8")
                for value in values[1:]
            ]
        except (DecodeError, UnicodeDecodeError) as error:
            raise RecordError(f"{path} is not a checkpoints file: {error}") from error
        except OSError as error:
            raise RecordError(f"cannot read {path}: {error.strerror}") from error

    def _start_witness(self, key: SigningKey) -> None:
        manifest = self.manifest
        names = [name for name, known in manifest.witnesses if known == key.verify_key]
        if not names:
            listed = ", ".join(name for name, _ in manifest.witnesses)
            raise InvalidInput(
                f"the witness key {key.verify_key.encode().hex()} is not one of this election's "
                f"witnesses ({listed}): use the key the manifest names"
            )
        name = names[0]
        state = WitnessState(0, EMPTY_ROOT, 0)
        own = key_id(name, ALGORITHM_COSIGNATURE_V1, key.verify_key)
        for size in sorted(self._checkpoints, reverse=True):
            checkpoint, note = self._checkpoints[size]
            if note.find(name, own) is not None:
                state = WitnessState(
                    size, checkpoint.root, cosignature_time(note, name, key.verify_key)
                )
                break
        self._witness = Witness(name, key, manifest.log_origin, manifest.log_key, state)

    # --- checkpoints ----------------------------------------------------------------------------

    def _checked_note(self, text: str, *, report: bool = True) -> tuple[Checkpoint, SignedNote]:
        """Open a checkpoint under the log key; keep the log's line and every valid
        cosignature from a listed witness. A listed witness's line that does not verify is a
        finding; lines from unknown signers are dropped (the record admits only the log's and
        the witnesses')."""
        manifest = self.manifest
        checkpoint, note = open_checkpoint(text, manifest.log_origin, manifest.log_key)
        log_id = key_id(manifest.log_origin, ALGORITHM_ED25519, manifest.log_key)
        witnesses = manifest.witness_keys()
        kept = []
        for signature in note.signatures:
            if signature.name == manifest.log_origin and signature.key_id == log_id:
                kept.append(signature)
                continue
            key = witnesses.get(signature.name)
            if key is None or signature.key_id != key_id(
                signature.name, ALGORITHM_COSIGNATURE_V1, key
            ):
                continue
            try:
                cosignature_time(note, signature.name, key)
            except CheckpointError as error:
                if report:
                    self._fail("checkpoint", f"checkpoint of size {checkpoint.size}: {error}")
                continue
            kept.append(signature)
        return checkpoint, SignedNote(note.body, tuple(kept))

    def _keep(self, checkpoint: Checkpoint, note: SignedNote) -> bool:
        """Store a verified checkpoint (its root already matches the mirror), merging the
        cosignatures of one already stored at that size; True if anything changed."""
        stored = self._checkpoints.get(checkpoint.size)
        if stored is None:
            self._checkpoints[checkpoint.size] = (checkpoint, note)
            return True
        kept = stored[1]
        merged = list(kept.signatures)
        for signature in note.signatures:
            if kept.find(signature.name, signature.key_id) is None:
                merged.append(signature)
        if len(merged) == len(kept.signatures):
            return False
        self._checkpoints[checkpoint.size] = (stored[0], SignedNote(kept.body, tuple(merged)))
        return True

    def _check_against_mirror(self, checkpoint: Checkpoint, note: SignedNote) -> None:
        """Raise :class:`HistoryRewritten` if the board's latest checkpoint is smaller than
        one already verified, or contradicts the mirror (:meth:`_check_root`)."""
        latest = max(self._checkpoints, default=0)
        if checkpoint.size < latest:
            raise HistoryRewritten(
                f"the board's checkpoint went back from size {latest} to size {checkpoint.size}",
                earlier=self._latest_note(),
                later=note.text(),
            )
        self._check_root(checkpoint, note)

    def _check_root(self, checkpoint: Checkpoint, note: SignedNote) -> None:
        """Raise :class:`HistoryRewritten` if a checkpoint the mirror covers (of any size, the
        latest or an earlier one) has another root than the mirror's entries."""
        if checkpoint.size <= self.size and checkpoint.root != self._tree.root(checkpoint.size):
            earlier = self._checkpoints.get(checkpoint.size)
            raise HistoryRewritten(
                f"the board signed another root for size {checkpoint.size} than the one of "
                "the entries it served before",
                earlier=earlier[1].text() if earlier else self._latest_note(),
                later=note.text(),
            )

    # --- polling --------------------------------------------------------------------------------

    def poll(self) -> PollReport:
        """Fetch the latest checkpoint and the entries up to it, check them, mirror them.

        Raises :class:`HistoryRewritten` (also kept in :attr:`rewrite`) if the board rewrote
        its history; the mirror is left as it was before this poll.
        """
        if self.rewrite is not None:
            raise InvalidInput("the board rewrote its history: this observer has stopped")
        self.start()
        self.polls += 1
        findings_before = len(self.findings)
        size_before = self.size
        try:
            return self._poll(findings_before, size_before)
        except HistoryRewritten as rewritten:
            self.rewrite = rewritten
            raise

    def _report(
        self,
        findings_before: int,
        size_before: int,
        *,
        cosigned: int | None = None,
        verification: MirrorVerification | None = None,
        unavailable: str | None = None,
        warning: str | None = None,
    ) -> PollReport:
        return PollReport(
            self.polls,
            self.size,
            self.size - size_before,
            self._ballots,
            self.failures,
            tuple(self.findings[findings_before:]),
            cosigned,
            verification,
            unavailable,
            warning,
        )

    def _poll(self, findings_before: int, size_before: int) -> PollReport:
        try:
            text = self._board.checkpoint()
        except (grpc.RpcError, BoardError) as error:
            return self._report(findings_before, size_before, unavailable=_describe(error))
        try:
            checkpoint, note = self._checked_note(text)
        except CheckpointError as error:
            self._fail("checkpoint", f"the board's latest checkpoint does not verify: {error}")
            return self._report(findings_before, size_before)
        self._check_against_mirror(checkpoint, note)
        if checkpoint.size > self.size:
            try:
                fresh = self._fetch(checkpoint, note)
            except (grpc.RpcError, BoardError) as error:
                return self._report(findings_before, size_before, unavailable=_describe(error))
            if fresh is None:
                return self._report(findings_before, size_before)
            self._extend(fresh, checkpoint, note)
        if checkpoint.size > 0 and self._keep(checkpoint, note):
            self._write_checkpoints()
            self._dirty = True
        warning = None
        cosigned = None
        if self._witness is not None and checkpoint.size > 0:
            cosigned, warning = self._cosign(checkpoint, note)
        verification = self._verify_if_due()
        return self._report(
            findings_before,
            size_before,
            cosigned=cosigned,
            verification=verification,
            warning=warning,
        )

    def _fetch(self, checkpoint: Checkpoint, note: SignedNote) -> list[bytes] | None:
        """The entries from the mirror's end to ``checkpoint.size``, page by page, starting
        one entry early to see that the last mirrored entry is still the same. ``None`` if
        the board cannot back its checkpoint (a finding)."""
        start = max(self.size - 1, 0)
        fetched: list[bytes] = []
        while start + len(fetched) < checkpoint.size:
            page = self._board.entries(start + len(fetched), PAGE)
            if not page:
                break
            fetched.extend(page)
        del fetched[checkpoint.size - start :]
        if start + len(fetched) < checkpoint.size:
            self._fail(
                "checkpoint",
                f"the board signed a checkpoint of {checkpoint.size} entries but serves only "
                f"{start + len(fetched)}",
            )
            return None
        known = self._entries[start] if self.size else self._first
        if fetched[0] != known:
            old = leaf_hash(known or b"").hex()
            raise HistoryRewritten(
                f"entry {start} changed: it was {old}, the board now serves "
                f"{leaf_hash(fetched[0]).hex()} (tracking codes)",
                earlier=self._latest_note(),
                later=note.text(),
                entry=start,
            )
        return fetched[1:] if self.size else fetched

    def _extend(self, fresh: Sequence[bytes], checkpoint: Checkpoint, note: SignedNote) -> None:
        """Append entries the board served if they lead to the checkpoint's root."""
        size = self.size
        for data in fresh:
            self._tree.append(leaf_hash(data))
        if self._tree.root() != checkpoint.root:
            self._tree.truncate(size)
            raise HistoryRewritten(
                f"the entries the board served do not lead to the root it signed for size "
                f"{checkpoint.size}: the signed tree is not the mirror plus these entries",
                earlier=self._latest_note(),
                later=note.text(),
            )
        self._tree.truncate(size)
        self._write_entries(fresh)  # on disk first: a failed write changes nothing here
        self._append(fresh)
        self._dirty = True

    def _append(self, fresh: Sequence[bytes]) -> None:
        """Add entries to the mirror and check each one as it arrives."""
        manifest = self.manifest
        rules = kinds.entry_rules(self.election_id)
        for data in fresh:
            index = len(self._entries)
            self._entries.append(data)
            self._tree.append(leaf_hash(data))
            entry: Entry | None
            try:
                entry = rules.check(data)
            except EntryRejected as error:
                self._fail("entry", str(error), index)
                try:
                    entry = Entry.decode(data)
                except DecodeError:
                    entry = None
            self._parsed.append(entry)
            if entry is None:
                continue
            if entry.kind == kinds.BALLOT:
                self._ballots += 1
            if entry.kind in PHASE_KINDS:
                self._phase_arrived = True
            if entry.kind == kinds.JOINT_KEY and self._context is None:
                self._derive_context(manifest)
        self._check_proofs()

    def _derive_context(self, manifest: Manifest) -> None:
        """The election context as the verifier recomputes it (checks 4 and 5)."""
        entries = [entry for entry in self._parsed if entry is not None]
        found, commitments = checks.check_guardians(entries, manifest)
        for failure in found.failures:
            self._fail("ceremony", f"check 4 (guardians): {failure}")
        if commitments is None:
            return
        found, context = checks.check_joint_key(entries, manifest, commitments)
        for failure in found.failures:
            self._fail("ceremony", f"check 5 (joint-key): {failure}")
        # The proofs are checked against the context recomputed from the ceremony, as the
        # verifier does, whether or not the posted joint-key entry agrees with it.
        self._context = context

    def _check_proofs(self) -> None:
        """Every ballot's and audit's proofs not checked yet, once the context is known."""
        if self._context is None:
            return
        jobs = [
            checks.ProofJob(index, entry.kind, entry.body)
            for index, entry in enumerate(
                self._parsed[self._proofs_checked :], start=self._proofs_checked
            )
            if entry is not None and entry.kind in (kinds.BALLOT, kinds.AUDIT)
        ]
        self._proofs_checked = len(self._parsed)
        if not jobs:
            return
        problems = verify_all_proofs(
            checks.ProofSetup.of(self._context), jobs, workers=self._workers
        )
        for index in sorted(problems):
            for problem in problems[index]:
                self._fail("proof", f"{problem.field}: {problem.message}", index)

    # --- cosigning ------------------------------------------------------------------------------

    def _cosign(self, checkpoint: Checkpoint, served: SignedNote) -> tuple[int | None, str | None]:
        """Cosign the verified checkpoint if it is newer than the witness's state, or hand
        the line in again if the board's copy (``served``) lacks it. Returns (the size
        cosigned now, a warning if the board did not take the line)."""
        witness = self._witness
        if witness is None:
            return None, None
        cosigned = None
        if checkpoint.size > witness.state.size:
            cosigned = self._cosign_new(witness, checkpoint)
        elif self._pending is None and checkpoint.size == witness.state.size:
            own = key_id(witness.name, ALGORITHM_COSIGNATURE_V1, witness.verify_key)
            mine = self._checkpoints[checkpoint.size][1].find(witness.name, own)
            if mine is not None and served.find(witness.name, own) is None:
                self._pending = (checkpoint.size, mine.line().rstrip("\n"))
        return cosigned, self._hand_in()

    def _cosign_new(self, witness: Witness, checkpoint: Checkpoint) -> int:
        stored_checkpoint, stored = self._checkpoints[checkpoint.size]
        own = key_id(witness.name, ALGORITHM_COSIGNATURE_V1, witness.verify_key)
        if stored.find(witness.name, own) is not None:
            # The board holds a cosignature this witness made before its state was lost.
            witness.state = WitnessState(
                checkpoint.size,
                checkpoint.root,
                cosignature_time(stored, witness.name, witness.verify_key),
            )
            return checkpoint.size
        previous = witness.state
        proof = self._tree.consistency_proof(previous.size, checkpoint.size)
        timestamp = max(self._clock(), previous.timestamp)
        try:
            signature = witness.add_checkpoint(stored.text(), previous.size, proof, timestamp)
        except ConsistencyError as error:
            raise HistoryRewritten(
                f"the checkpoint of size {checkpoint.size} does not extend the one of size "
                f"{previous.size} this witness cosigned: {error}",
                earlier=self._checkpoints[previous.size][1].text()
                if previous.size in self._checkpoints
                else None,
                later=stored.text(),
            ) from error
        self._checkpoints[checkpoint.size] = (stored_checkpoint, stored.with_signature(signature))
        try:
            self._write_checkpoints()  # durable before the line leaves this process
        except BaseException:
            witness.state = previous
            self._checkpoints[checkpoint.size] = (stored_checkpoint, stored)
            raise
        self._pending = (checkpoint.size, signature.line().rstrip("\n"))
        return checkpoint.size

    def _hand_in(self) -> str | None:
        """Send the pending cosignature; a failure is a warning, and it is sent again later."""
        if self._pending is None or self._send is None:
            return None
        size, line = self._pending
        try:
            answer = self._send(size, line)
        except (grpc.RpcError, EvoteError) as error:
            return f"the board did not take the cosignature of size {size}: {_describe(error)}"
        self._pending = None
        try:
            checkpoint, note = self._checked_note(answer)
        except CheckpointError as error:
            self._fail("checkpoint", f"the board answered a cosignature with a bad note: {error}")
            return None
        if checkpoint.size != size:
            self._fail(
                "checkpoint",
                f"the board answered the cosignature of size {size} with size {checkpoint.size}",
            )
            return None
        self._check_root(checkpoint, note)
        if self._keep(checkpoint, note):
            self._write_checkpoints()
            self._dirty = True
        return None

    # --- whole-record verification ---------------------------------------------------------------

    def _verify_if_due(self) -> MirrorVerification | None:
        last = self.verification
        waiting = last is not None and last.waiting_for_witnesses
        if self._phase_arrived or (waiting and self._dirty):
            return self.verify_mirror()
        # Witnesses may cosign a checkpoint after the close later: ask for them again.
        if waiting and self._refresh_closing():
            return self.verify_mirror()
        return None

    def verify_mirror(self) -> MirrorVerification:
        """Run the verifier on the mirror (after asking the board for the cosignatures of
        the checkpoints after the close) and keep the outcome in :attr:`verification`."""
        self._refresh_closing()
        present = {entry.kind for entry in self._parsed if entry is not None}
        report = verify_record(self.mirror, election_id=self.election_id, workers=self._workers)
        self.verification = MirrorVerification(report, applicable_checks(present), self.size)
        self._dirty = False
        self._phase_arrived = False
        return self.verification

    def _refresh_closing(self) -> bool:
        """Ask again for the checkpoints after the close entry until one carries a witness
        quorum (check 11); True if the mirror gained any cosignature."""
        manifest = self.manifest
        closes = [i for i, e in enumerate(self._parsed) if e is not None and e.kind == kinds.CLOSE]
        if not closes:
            return False
        close_at = closes[0]

        def has_quorum(note: SignedNote) -> bool:
            try:
                verify_witnessed(
                    note.text(),
                    manifest.log_origin,
                    manifest.log_key,
                    manifest.witness_keys(),
                    manifest.witness_quorum,
                )
            except CheckpointError:
                return False
            return True

        if any(
            has_quorum(note) for size, (_, note) in self._checkpoints.items() if size > close_at
        ):
            return False
        changed = False
        for size in range(close_at + 1, min(self.size, close_at + CLOSING_REFRESH) + 1):
            try:
                text = self._board.checkpoint(size)
                checkpoint, note = self._checked_note(text)
            except (grpc.RpcError, BoardError, CheckpointError):
                continue  # the log signed no checkpoint of that size, or the board is away
            if checkpoint.size != size:
                continue
            self._check_root(checkpoint, note)
            changed |= self._keep(checkpoint, note)
            if has_quorum(self._checkpoints[size][1]):
                break
        if changed:
            self._write_checkpoints()
            self._dirty = True
        return changed

    # --- the mirror on disk ------------------------------------------------------------------

    def _write_entries(self, fresh: Sequence[bytes] = ()) -> None:
        """Write the mirror's entries, and ``fresh`` after them (entries.tlv is written in
        full, atomically: an interrupted write leaves the previous file)."""
        data = encoding.encode(ENTRIES_HEADER) + b"".join(self._entries) + b"".join(fresh)
        self._write(self.mirror / ENTRIES_FILE, data)

    def _write_checkpoints(self) -> None:
        notes = [
            encoding.encode(self._checkpoints[size][1].text().encode("utf-8"))
            for size in sorted(self._checkpoints)
        ]
        self._write(
            self.mirror / CHECKPOINTS_FILE, encoding.encode(CHECKPOINTS_HEADER) + b"".join(notes)
        )

    @staticmethod
    def _write(path: Path, data: bytes) -> None:
        try:
            write_atomically(path, data)
        except OSError as error:
            raise RecordError(f"cannot write the mirror file {path}: {error.strerror}") from error

    # --- following ------------------------------------------------------------------------------

    def finish(self) -> MirrorVerification | None:
        """The last whole-record run, if the mirror changed since the previous one."""
        if self.rewrite is not None or self._manifest is None or not self.size:
            return None
        last = self.verification
        if last is not None and last.size == self.size and not self._dirty:
            return None
        try:
            return self.verify_mirror()
        except HistoryRewritten as rewritten:  # a checkpoint asked for again contradicts it
            self.rewrite = rewritten
            return None

    def follow(
        self,
        interval: float,
        *,
        until_result: bool = False,
        polls: int | None = None,
        on_poll: Callable[[PollReport], None] | None = None,
        stop: threading.Event | None = None,
    ) -> bool:
        """Poll every ``interval`` seconds until the result is in and verified (with
        ``until_result``), after ``polls`` polls, or once ``stop`` is set; then run the last
        whole-record verification. Returns :attr:`passed`.

        A rewrite stops at once (it is in :attr:`rewrite`, with its evidence).
        """
        if interval < 0:
            raise InvalidInput("the polling interval is a non-negative number of seconds")
        if polls is not None and polls < 1:
            raise InvalidInput("a number of polls is at least 1")
        stop = stop or threading.Event()
        if self.rewrite is not None:
            return False
        self.start()
        done = 0
        while True:
            try:
                report = self.poll()
            except HistoryRewritten:
                return False
            done += 1
            if on_poll is not None:
                on_poll(report)
            if until_result and self.finished:
                break
            if (polls is not None and done >= polls) or stop.wait(interval):
                break
        self.finish()
        return self.passed
