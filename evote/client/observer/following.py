"""The observer: poll the board, check what arrives, keep the mirror, verify the whole record.

What is checked, and why, is in :mod:`evote.client.observer`. Each poll takes the board's
latest checkpoint, checks it against the mirror (:mod:`evote.client.observer.mirror`),
fetches the new entries, checks each one, cosigns as a witness if asked to
(:mod:`evote.client.observer.witnessing`), and runs the verifier's whole-record checks when a
phase entry arrives (:mod:`evote.client.observer.verification`).
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Final, Protocol

import grpc

from evote.board.checkpoint import Checkpoint, cosignature_time, open_checkpoint, verify_witnessed
from evote.board.entry import Entry
from evote.board.merkle import leaf_hash, verify_consistency
from evote.board.note import ALGORITHM_COSIGNATURE_V1, ALGORITHM_ED25519, SignedNote, key_id
from evote.board.witness import WitnessState
from evote.client.channels import PAGE, RegistrationStatus
from evote.client.election_key import derive_context, key_kind, label
from evote.client.observer.gossip import ShownCheckpoint
from evote.client.observer.mirror import Mirror
from evote.client.observer.registration import registration_problems
from evote.client.observer.reports import Finding, HistoryRewritten, PollReport, SplitView
from evote.client.observer.verification import PHASE_KINDS, MirrorVerification, applicable_checks
from evote.client.observer.witnessing import CosignatureSender, Cosigner
from evote.crypto.signing import SigningKey
from evote.election.context import ElectionContext
from evote.election.manifest import Manifest
from evote.errors import (
    BoardError,
    CheckpointError,
    DecodeError,
    EntryRejected,
    EvoteError,
    InvalidInput,
    RecordError,
    VerificationError,
)
from evote.record import kinds
from evote.verify import checks
from evote.verify.runner import verify_all_proofs, verify_record

#: Checkpoints after the close entry asked for again, at most, to gather witness cosignatures.
CLOSING_REFRESH: Final = 64


class BoardReader(Protocol):
    """What the observer reads from the board (:class:`evote.client.channels.BoardClient`)."""

    def checkpoint(self, size: int = 0) -> str:
        """The latest checkpoint note, or the one of ``size`` entries."""
        ...

    def entries(self, start: int, limit: int = PAGE) -> list[bytes]:
        """Up to ``limit`` entries from ``start`` (empty past the end)."""
        ...


class RegistryReader(Protocol):
    """What the observer reads from the registry
    (:class:`evote.client.channels.RegistryClient`)."""

    def status(self) -> RegistrationStatus:
        """The registry's public counts: eligible, enrolled, closed."""
        ...


def _now() -> int:
    return int(time.time())


def _describe(error: Exception) -> str:
    if isinstance(error, grpc.RpcError):
        return f"{error.code().name}: {error.details()}"
    return str(error)


class Observer:
    """Follows one election's board into a mirror directory; see :mod:`evote.client.observer`.

    Call :meth:`start` (resume from the mirror, or read entry 0 from the board), then
    :meth:`poll` as often as wanted, or :meth:`follow` to poll on an interval; :meth:`finish`
    runs the last whole-record verification. :attr:`passed` says whether everything checked
    passed so far.

    A witness gives ``witness_key`` (a key the manifest lists) and ``send_cosignature``;
    ``clock`` is the witness's time in seconds. ``workers`` processes verify ballot proofs
    (``None``: one per CPU).

    Given ``registry``, each poll once the credential list is on the board also reads the
    registry's public counts and checks them against the list (:meth:`check_registration`,
    with ``roll``, the official number of eligible voters, if known). Checkpoints shown to
    the observer another way (:meth:`expect_checkpoint`) are compared with the mirror on each
    poll until the mirror reaches them.
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
        registry: RegistryReader | None = None,
        roll: int | None = None,
    ) -> None:
        if len(election_id) != 32:
            raise InvalidInput("the election id is 32 bytes: SHA-256 of the manifest")
        if (witness_key is None) != (send_cosignature is None):
            raise InvalidInput("a witness needs both its signing key and a way to hand in lines")
        if roll is not None and (isinstance(roll, bool) or roll < 0):
            raise InvalidInput("the official number of eligible voters is a count: 0 or more")
        self._board = board
        self.election_id = election_id
        self.mirror = Path(mirror)
        self._copy = Mirror(self.mirror)
        self._witness_key = witness_key
        self._send = send_cosignature
        self._clock = clock
        self._workers = workers or os.cpu_count() or 1
        self._manifest: Manifest | None = None
        self._first: bytes | None = None
        self._parsed: list[Entry | None] = []
        self._context: ElectionContext | None = None
        self._proofs_checked = 0
        self._ballots = 0
        self._cosigner: Cosigner | None = None
        self._seen_findings: set[Finding] = set()
        self._dirty = False
        self._phase_arrived = False
        self.findings: list[Finding] = []
        self.rewrite: HistoryRewritten | None = None
        self.verification: MirrorVerification | None = None
        self.polls = 0
        self._registry = registry
        self._roll = roll
        self._shown: list[ShownCheckpoint] = []
        self._credential_list: Entry | None = None  # the first credentials entry mirrored
        self.registration_unchecked: str | None = None
        """Why the registry's counts could not be read at the last poll that tried (``None``
        once they were read, or while there is nothing to check them against)."""
        self.registration_checked = False
        """Whether the registry's counts were checked against the credential list."""

    # --- state ----------------------------------------------------------------------------------

    @property
    def manifest(self) -> Manifest:
        if self._manifest is None:
            raise InvalidInput("the observer has not started: call start() first")
        return self._manifest

    @property
    def size(self) -> int:
        """How many entries the mirror holds (all covered by a verified checkpoint)."""
        return self._copy.size

    @property
    def ballots(self) -> int:
        return self._ballots

    @property
    def witness_name(self) -> str | None:
        return None if self._cosigner is None else self._cosigner.name

    @property
    def witness_state(self) -> WitnessState | None:
        return None if self._cosigner is None else self._cosigner.state

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
            self._cosigner = Cosigner(self._witness_key, self.manifest, self._copy, self._clock)

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
        files = self._copy.read()
        if files is None:
            return False
        entries, notes = files
        self._adopt_manifest(entries[0], f"entry 0 of the mirror {self.mirror}")
        verified = []
        for position, text in enumerate(notes):
            try:
                verified.append(self._checked_note(text, report=False))
            except CheckpointError as error:
                raise RecordError(f"the mirror's checkpoint {position}: {error}") from error
        self._check_entries(self._copy.restore(entries, verified))
        self._phase_arrived = any(
            entry is not None and entry.kind in PHASE_KINDS for entry in self._parsed
        )
        return True

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

    def _keep(self, checkpoint: Checkpoint, note: SignedNote) -> None:
        """Keep a checkpoint checked against the mirror, and save the mirror's checkpoints if
        that added anything."""
        if self._copy.keep(checkpoint, note):
            self._copy.save_checkpoints()
            self._dirty = True

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
        self._copy.check_latest(checkpoint, note)
        if checkpoint.size > self.size:
            try:
                fresh = self._fetch(checkpoint, note)
            except (grpc.RpcError, BoardError) as error:
                return self._report(findings_before, size_before, unavailable=_describe(error))
            if fresh is None:
                return self._report(findings_before, size_before)
            self._copy.extend(fresh, checkpoint, note)
            self._dirty = True
            self._check_entries(fresh)
        if checkpoint.size > 0:
            self._keep(checkpoint, note)
        self._compare_shown()
        warnings = [self._read_registry()]
        cosigned = None
        if self._cosigner is not None and checkpoint.size > 0:
            cosigned = self._cosigner.cosign(checkpoint, note)
            warnings.append(self._hand_in())
        verification = self._verify_if_due()
        return self._report(
            findings_before,
            size_before,
            cosigned=cosigned,
            verification=verification,
            warning="; ".join(warning for warning in warnings if warning) or None,
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
        known = self._copy.entries[start] if self.size else self._first
        if fetched[0] != known:
            old = leaf_hash(known or b"").hex()
            raise HistoryRewritten(
                f"entry {start} changed: it was {old}, the board now serves "
                f"{leaf_hash(fetched[0]).hex()} (tracking codes)",
                earlier=self._copy.latest_note(),
                later=note.text(),
                entry=start,
            )
        return fetched[1:] if self.size else fetched

    # --- checking entries -----------------------------------------------------------------------

    def _check_entries(self, fresh: Sequence[bytes]) -> None:
        """Check each entry just added to the mirror, in order, as it arrived."""
        manifest = self.manifest
        rules = kinds.entry_rules(self.election_id, manifest.scheme_name)
        for data in fresh:
            index = len(self._parsed)
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
            if entry.kind == kinds.CREDENTIALS and self._credential_list is None:
                self._credential_list = entry
            if entry.kind == key_kind(manifest) and self._context is None:
                self._derive_context(manifest)
        self._check_proofs()

    def _derive_context(self, manifest: Manifest) -> None:
        """The election context as the verifier derives it (checks 4 and 5, for the manifest's
        scheme: :func:`evote.client.election_key.derive_context`)."""
        entries = [entry for entry in self._parsed if entry is not None]
        context, findings = derive_context(entries, manifest)
        for found in findings:
            for failure in found.failures:
                self._fail("ceremony", f"{label(found)}: {failure}")
        # The proofs are checked against the context derived from the ceremony, as the
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

    # --- checkpoints and counts from elsewhere ----------------------------------------------------

    def compare_checkpoint(
        self, text: str, *, source: str, proof: Sequence[bytes] | None = None
    ) -> bool:
        """Compare a checkpoint that reached this observer another way with the mirror: a
        voter's receipt's checkpoint, or one gossiped by another observer or a witness.

        A checkpoint of at most the mirror's size must have the mirror's root at that size; a
        larger one must come with ``proof``, a consistency proof from the mirror's size to it
        (the source's own board gives it). Raises :class:`SplitView` (also kept in
        :attr:`rewrite`, which stops this observer) when the log signed another history than
        the one this observer holds, with both checkpoints as evidence. Returns True when the
        checkpoint is consistent with the mirror, False when it cannot be told yet (larger
        than the mirror and no proof) or when the checkpoint is not the log's (a finding: it
        proves nothing against the board).
        """
        self.start()
        manifest = self.manifest
        try:
            checkpoint, _ = open_checkpoint(text, manifest.log_origin, manifest.log_key)
        except CheckpointError as error:
            self._fail("checkpoint", f"the checkpoint from {source} is not the log's: {error}")
            return False
        mirrored = self.size
        if checkpoint.size <= mirrored:
            if checkpoint.root == self._copy.root(checkpoint.size):
                return True
            return self._split(
                f"the log signed another root for size {checkpoint.size} in the checkpoint from "
                f"{source} than the one of the entries this observer holds",
                self._copy.note_at(checkpoint.size),
                text,
                source,
            )
        if proof is None:
            return False
        try:
            verify_consistency(
                mirrored, checkpoint.size, self._copy.root(mirrored), checkpoint.root, proof
            )
        except VerificationError as error:
            return self._split(
                f"the checkpoint of size {checkpoint.size} from {source} does not extend the "
                f"{mirrored} entries this observer holds ({error})",
                self._copy.note_at(mirrored),
                text,
                source,
            )
        return True

    def expect_checkpoint(self, shown: ShownCheckpoint) -> Checkpoint:
        """Hold a checkpoint shown to this observer (a voter's receipt, another observer's
        note: :mod:`evote.client.observer.gossip`) and compare it with the mirror on every
        poll until the mirror holds as many entries (:meth:`compare_checkpoint`; a split view
        then stops the observer). Raises
        :class:`~evote.client.observer.gossip.ShownCheckpointRefused` at once, holding
        nothing, if the log did not sign it."""
        self.start()
        checkpoint = shown.check(self.manifest)
        self._shown.append(shown)
        return checkpoint

    @property
    def shown_waiting(self) -> list[ShownCheckpoint]:
        """The shown checkpoints not compared yet: larger than the mirror so far."""
        return list(self._shown)

    def _compare_shown(self) -> None:
        """Compare each held checkpoint the mirror has reached; keep the others for later."""
        waiting = []
        for shown in self._shown:
            if not self.compare_checkpoint(shown.note, source=shown.source):
                waiting.append(shown)
        self._shown = waiting

    def _read_registry(self) -> str | None:
        """Once the credential list is on the board, read the registry's counts and check
        them (:meth:`check_registration`). A registry that cannot be read is a warning, the
        first time and whenever the reason changes: the board may be served alone after
        registration (``evote serve --service board``)."""
        if self._registry is None or self._credential_list is None:
            return None
        try:
            status = self._registry.status()
        except (grpc.RpcError, EvoteError) as error:
            reason = _describe(error)
            repeated = reason == self.registration_unchecked
            self.registration_unchecked = reason
            if repeated:
                return None
            return f"the registry's counts could not be read ({reason}): registration not checked"
        self.registration_unchecked = None
        self.registration_checked = True
        self.check_registration(status, roll=self._roll)
        return None

    def _split(self, message: str, earlier: str | None, later: str, source: str) -> bool:
        split = SplitView(message, earlier=earlier, later=later, source=source)
        self.rewrite = split
        raise split

    def check_registration(
        self, status: RegistrationStatus, *, roll: int | None = None
    ) -> list[Finding]:
        """Compare the registry's public counts (``status``, as
        :meth:`evote.client.channels.RegistryClient.status` reads them) with the credential
        list on the board, and ``roll``, the official number of eligible voters, if known
        (:mod:`evote.client.observer.registration`). Returns the new ``registration`` findings
        (also in :attr:`findings`); none before the list is on the board."""
        self.start()
        if self._credential_list is None:
            return []
        try:
            listed = len(kinds.CredentialList.from_tlv(self._credential_list.body).credentials)
        except DecodeError:
            return []  # a malformed list is the verifier's check 6
        new = []
        for problem in registration_problems(
            listed, status.eligible, status.enrolled, status.closed, roll=roll
        ):
            finding = self._fail("registration", problem)
            if finding is not None:
                new.append(finding)
        return new

    # --- handing in cosignatures ------------------------------------------------------------------

    def _hand_in(self) -> str | None:
        """Send the pending cosignature; a failure is a warning, and it is sent again later."""
        cosigner = self._cosigner
        if cosigner is None or cosigner.pending is None or self._send is None:
            return None
        size, line = cosigner.pending
        try:
            answer = self._send(size, line)
        except (grpc.RpcError, EvoteError) as error:
            return f"the board did not take the cosignature of size {size}: {_describe(error)}"
        cosigner.pending = None
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
        self._copy.check_root(checkpoint, note)
        self._keep(checkpoint, note)
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
        stored = self._copy.checkpoints
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

        if any(has_quorum(note) for size, (_, note) in stored.items() if size > close_at):
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
            self._copy.check_root(checkpoint, note)
            changed |= self._copy.keep(checkpoint, note)
            if has_quorum(stored[size][1]):
                break
        if changed:
            self._copy.save_checkpoints()
            self._dirty = True
        return changed

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
