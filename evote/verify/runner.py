"""Run every check of docs/election-record.md on a record directory and collect every failure.

Nothing stops at the first failure. A check that needs something an earlier check could not
establish (the manifest, the loaded record, the election context, the credential list, the
ballots' verdicts, the tally) is reported as skipped, naming that check and why, instead of
running on missing data. Ballot and audit proofs, the bulk of the work, are verified in worker
processes (:class:`concurrent.futures.ProcessPoolExecutor`, crypto spec §3.11) in chunks when
there are many, with a progress callback.
"""

from __future__ import annotations

import functools
import math
import os
import time
from collections.abc import Callable, Sequence
from concurrent.futures import as_completed
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from evote.board.entry import Entry
from evote.board.record import Record
from evote.crypto.signing import VerifyKey
from evote.election.audit import AuditReveal
from evote.election.ballot import EncryptedBallot
from evote.election.context import ElectionContext
from evote.election.manifest import PAILLIER, Manifest
from evote.election.tally import EncryptedTally, GuardianShares, TallyResult
from evote.errors import CheckFailed, EvoteError, RecordError
from evote.record import kinds
from evote.verify import checks, load
from evote.verify.checks import CHECKS, CHECKS_BY_NAME, Findings, ProofJob, ProofProblem
from evote.verify.report import CheckResult, Failure, VerificationReport
from evote.verify.schemes import record_scheme
from evote.workers import process_pool

#: ``progress(phase, done, total)``; phases are ``"record"``, ``"proofs"`` and ``"checks"``.
Progress = Callable[[str, int, int], None]

#: Below this many ballots and audits, proofs are verified in this process.
PARALLEL_THRESHOLD: Final = 64
#: The largest chunk of proof jobs one worker task takes.
MAX_CHUNK: Final = 256


def _no_progress(phase: str, done: int, total: int) -> None:
    """Report nothing."""


@dataclass(frozen=True, slots=True)
class _Missing:
    """Why something a check needs is not available: the check to blame, and the reason."""

    check: str
    reason: str

    def explain(self) -> str:
        info = CHECKS_BY_NAME[self.check]
        return f"skipped because check {info.number} ({info.name}) failed: {self.reason}"


class _Results:
    """The outcome of every check, filled in as the run goes."""

    def __init__(self) -> None:
        self._done: dict[str, CheckResult] = {}
        self.notes: list[str] = []

    def record(self, findings: Findings) -> None:
        info = CHECKS_BY_NAME[findings.check]
        self.notes.extend(f"check {info.number} ({info.name}): {note}" for note in findings.notes)
        self._done[info.name] = CheckResult(
            info.number,
            info.name,
            info.title,
            "pass" if findings.passed else "fail",
            findings.checked,
            tuple(Failure.of(failure) for failure in findings.failures),
        )

    def skip(self, name: str, missing: _Missing) -> None:
        info = CHECKS_BY_NAME[name]
        self._done[name] = CheckResult(
            info.number, info.name, info.title, "skipped", 0, skipped_because=missing.explain()
        )

    def guarded(self, name: str, run: Callable[[], Findings]) -> Findings:
        """Run a check; an unexpected error becomes a failure of that check, not a crash."""
        try:
            findings = run()
        except CheckFailed as error:
            findings = Findings(name)
            findings.failures.append(error)
        except EvoteError as error:
            findings = Findings(name)
            findings.fail(f"the check could not complete: {error}", cause=error)
        except Exception as error:  # a bug in the verifier must still leave a report
            findings = Findings(name)
            findings.fail(
                f"internal error in the verifier (please report it): {type(error).__name__}: "
                f"{error}"
            )
        self.record(findings)
        return findings

    def finish(self) -> tuple[CheckResult, ...]:
        missing = [info.name for info in CHECKS if info.name not in self._done]
        if missing:
            raise AssertionError(f"checks neither run nor skipped: {missing}")
        return tuple(self._done[info.name] for info in CHECKS)


def _chunks(jobs: Sequence[ProofJob], workers: int) -> list[list[ProofJob]]:
    size = max(1, min(MAX_CHUNK, math.ceil(len(jobs) / (workers * 4))))
    return [list(jobs[start : start + size]) for start in range(0, len(jobs), size)]


def verify_all_proofs(
    setup: checks.ProofSetup,
    jobs: Sequence[ProofJob],
    *,
    workers: int,
    progress: Progress = _no_progress,
    parallel_threshold: int = PARALLEL_THRESHOLD,
) -> dict[int, list[ProofProblem]]:
    """Every proof problem of the given ballot and audit entries, by entry index.

    Uses ``workers`` processes when there are at least ``parallel_threshold`` jobs.
    """
    problems: dict[int, list[ProofProblem]] = {}
    total = len(jobs)
    progress("proofs", 0, total)
    done = 0
    if workers > 1 and total >= parallel_threshold:
        with process_pool(workers) as pool:
            futures = {
                pool.submit(checks.verify_proofs, setup, chunk): len(chunk)
                for chunk in _chunks(jobs, workers)
            }
            for future in as_completed(futures):
                for problem in future.result():
                    problems.setdefault(problem.index, []).append(problem)
                done += futures[future]
                progress("proofs", done, total)
    else:
        for chunk in _chunks(jobs, 1):
            for problem in checks.verify_proofs(setup, chunk):
                problems.setdefault(problem.index, []).append(problem)
            done += len(chunk)
            progress("proofs", done, total)
    for found in problems.values():
        found.sort(key=lambda problem: problem.field)
    return problems


def verify_record(
    directory: str | Path,
    *,
    election_id: bytes | None = None,
    workers: int | None = None,
    progress: Progress = _no_progress,
    parallel_threshold: int = PARALLEL_THRESHOLD,
) -> VerificationReport:
    """Run checks 1 to 14 on the record in ``directory``; never raises for a bad record.

    ``election_id`` is the published fingerprint; without it, entry 0's manifest is trusted
    and the report says so. ``workers`` defaults to the number of CPUs.
    """
    started = time.perf_counter()
    workers = workers or os.cpu_count() or 1
    results = _Results()
    notes: list[str] = []
    path = str(directory)

    def skip_all(names: Sequence[str], missing: _Missing) -> None:
        for name in names:
            results.skip(name, missing)

    everything_else = [info.name for info in CHECKS if info.name != checks.MANIFEST]
    after_record = [name for name in everything_else if name != checks.RECORD]

    # 2 before 1: the trust roots needed to load the record are in the manifest.
    progress("record", 0, 1)
    try:
        first = load.read_first_entry(directory)
    except RecordError as error:
        findings = Findings(checks.MANIFEST)
        findings.fail(str(error), cause=error)
        results.record(findings)
        skip_all(everything_else, _Missing(checks.MANIFEST, "there is no manifest to trust"))
        return _report(path, None, election_id, None, results, notes, started)
    manifest_findings, info = checks.check_manifest(first, election_id)
    results.record(manifest_findings)
    if info is None:
        skip_all(everything_else, _Missing(checks.MANIFEST, "there is no manifest to trust"))
        return _report(path, None, election_id, None, results, notes, started)
    manifest = info.manifest
    if election_id is None:
        notes.append(
            f"no election id was given: entry 0's manifest was trusted as it is; compare its id "
            f"{info.election_id.hex()} with the one the electoral authority published"
        )
    elif not manifest_findings.passed:
        notes.append(
            "the manifest did not pass check 2; the other checks ran against the record's own "
            "manifest and show only whether the record is consistent with it"
        )

    record_findings, record = checks.check_record(directory, manifest, first)
    results.record(record_findings)
    progress("record", 1, 1)
    if record is None:
        skip_all(after_record, _Missing(checks.RECORD, "the record does not load"))
        return _report(path, info, election_id, None, results, notes, started)
    _run_checks(results, record, manifest, workers, progress, parallel_threshold)
    return _report(path, info, election_id, record.size, results, notes, started)


def _run_checks(
    results: _Results,
    record: Record,
    manifest: Manifest,
    workers: int,
    progress: Progress,
    parallel_threshold: int,
) -> None:
    entries: Sequence[Entry] = record.entries
    results.guarded(checks.PHASES, lambda: checks.check_phases(entries, manifest))

    context, no_context = _election_context(results, entries, manifest)
    if context is None:
        results.skip(checks.KEY_CHECKS, no_context)
    else:
        keyed = context
        results.guarded(checks.KEY_CHECKS, lambda: checks.check_key_checks(entries, keyed))

    credentials: frozenset[VerifyKey] | None = None

    def credential_list() -> Findings:
        nonlocal credentials
        findings, credentials = checks.check_credentials(entries, manifest)
        return findings

    results.guarded(checks.CREDENTIALS, credential_list)
    no_credentials = _Missing(checks.CREDENTIALS, "there is no single, well-formed list")

    # Scheme A's entries decode with the manifest; scheme B's need the dealer's key.
    where: Manifest | ElectionContext = manifest if context is None else context
    ballots = checks.parse_all(
        entries, kinds.BALLOT, lambda body: EncryptedBallot.from_tlv(body, where)
    )
    audits = checks.parse_all(entries, kinds.AUDIT, lambda body: AuditReveal.from_tlv(body, where))
    tallies = checks.parse_all(
        entries, kinds.TALLY, lambda body: EncryptedTally.from_tlv(body, where)
    )
    shares = checks.parse_all(
        entries, kinds.DECRYPTION_SHARE, lambda body: GuardianShares.from_tlv(body, where)
    )
    result_items = checks.parse_all(
        entries, kinds.RESULT, lambda body: TallyResult.from_tlv(body, manifest)
    )
    tally = checks.the_one(tallies)
    no_tally = (
        no_context  # scheme B's tally decodes only with the dealer's key
        if context is None and manifest.scheme_name == PAILLIER
        else _Missing(checks.TALLY, "there is no single, well-formed tally entry")
    )

    verdicts: dict[int, checks.BallotVerdict] | None = None
    if context is None:
        for name in (checks.BALLOTS, checks.AUDITS, checks.DECRYPTION_SHARES):
            results.skip(name, no_context)
        no_verdicts = no_context
    else:
        problems = verify_all_proofs(
            checks.ProofSetup.of(context),
            checks.proof_jobs(entries),
            workers=workers,
            progress=progress,
            parallel_threshold=parallel_threshold,
        )
        if credentials is None:
            results.skip(checks.BALLOTS, no_credentials)
            no_verdicts = no_credentials
        else:
            listed = credentials
            election = context

            def ballot_check() -> Findings:
                nonlocal verdicts
                findings, verdicts = checks.check_ballots(
                    entries,
                    manifest,
                    ballots,
                    audits,
                    listed,
                    problems,
                    functools.partial(checks.seed_derives, election),
                    record_scheme(election),
                )
                return findings

            results.guarded(checks.BALLOTS, ballot_check)
            no_verdicts = _Missing(checks.BALLOTS, "the ballots could not be judged")
        results.guarded(
            checks.AUDITS, lambda: checks.check_audits(ballots, audits, problems, credentials)
        )

    if verdicts is None or context is None:
        results.skip(checks.COUNTED_SET, no_verdicts)
        results.skip(checks.TALLY, no_verdicts)
    else:
        judged, arithmetic = verdicts, record_scheme(context)
        results.guarded(
            checks.COUNTED_SET, lambda: checks.check_counted_set(entries, tallies, judged)
        )
        results.guarded(
            checks.TALLY, lambda: checks.check_tally(manifest, tallies, judged, arithmetic)
        )

    results.guarded(
        checks.CLOSING_CHECKPOINT, lambda: checks.check_closing_checkpoint(record, manifest)
    )

    verified: dict[int, GuardianShares] | None = None
    if context is not None:
        if tally is None or tally.body is None:
            results.skip(checks.DECRYPTION_SHARES, no_tally)
        else:
            election, posted = context, tally.body

            def share_check() -> Findings:
                nonlocal verified
                findings, verified = checks.check_decryption_shares(election, posted, shares)
                return findings

            results.guarded(checks.DECRYPTION_SHARES, share_check)

    if tally is None or tally.body is None:
        results.skip(checks.RESULT, no_tally)
    elif verified is None or context is None:
        results.skip(
            checks.RESULT,
            no_context
            if context is None
            else _Missing(checks.DECRYPTION_SHARES, "the shares could not be checked"),
        )
    elif credentials is None:
        results.skip(checks.RESULT, no_credentials)
    else:
        posted_tally, good, registered = tally.body, verified, len(credentials)
        arithmetic = record_scheme(context)
        results.guarded(
            checks.RESULT,
            lambda: checks.check_result(
                manifest, posted_tally, result_items, good, registered, arithmetic
            ),
        )
    progress("checks", 1, 1)


def _election_context(
    results: _Results, entries: Sequence[Entry], manifest: Manifest
) -> tuple[ElectionContext | None, _Missing]:
    """Checks 4 and 5, and the election context they establish (``None`` if they cannot),
    with what to blame when it is missing.

    Scheme A: the guardians' ceremony gives the commitments, from which the joint key and the
    context are derived. Scheme B: the dealer's ceremony, then the dealer's key entry, from
    whose key the context is derived.
    """
    context: ElectionContext | None = None
    if manifest.scheme_name == PAILLIER:
        results.guarded(checks.GUARDIANS, lambda: checks.check_dealer_ceremony(entries, manifest))

        def dealt_key() -> Findings:
            nonlocal context
            findings, context = checks.check_paillier_key(entries, manifest)
            return findings

        results.guarded(checks.JOINT_KEY, dealt_key)
        return context, _Missing(
            checks.JOINT_KEY, "there is no single dealer's key that fits the manifest"
        )

    commitments: checks.Commitments | None = None

    def guardians() -> Findings:
        nonlocal commitments
        findings, commitments = checks.check_guardians(entries, manifest)
        return findings

    results.guarded(checks.GUARDIANS, guardians)
    if commitments is None:
        missing = _Missing(checks.GUARDIANS, "the guardians' commitments are incomplete")
        results.skip(checks.JOINT_KEY, missing)
        return None, missing
    found = commitments

    def joint_key() -> Findings:
        nonlocal context
        findings, context = checks.check_joint_key(entries, manifest, found)
        return findings

    results.guarded(checks.JOINT_KEY, joint_key)
    return context, _Missing(checks.JOINT_KEY, "the election key cannot be derived")


def _report(
    path: str,
    info: checks.ManifestInfo | None,
    election_id: bytes | None,
    entries: int | None,
    results: _Results,
    notes: list[str],
    started: float,
) -> VerificationReport:
    return VerificationReport(
        record=path,
        election_id=None if info is None else info.election_id.hex(),
        election_id_given=election_id is not None,
        manifest_name=None if info is None else info.manifest.name,
        entries=entries,
        checks=results.finish(),
        notes=(*notes, *results.notes),
        seconds=time.perf_counter() - started,
    )
