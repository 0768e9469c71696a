"""The runner: every check runs or is skipped with its reason; nothing stops at a failure."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytest

from evote.board.entry import Entry
from evote.board.record import CHECKPOINTS_FILE, ENTRIES_FILE
from evote.record import kinds
from evote.verify import checks, runner
from evote.verify.checks import CHECKS
from evote.verify.report import VerificationReport
from tests.unit.verify import builder
from tests.unit.verify.builder import ELECTION_ID

E = builder.election()
ALL = [info.name for info in CHECKS]
OPEN_AT = E.at(kinds.OPEN)
FIRST = E.index(kinds.BALLOT)[0]
CLOSE_AT = E.at(kinds.CLOSE)


def verify(
    tmp_path: Path, entries: Sequence[Entry], election_id: bytes | None = ELECTION_ID
) -> VerificationReport:
    directory = builder.write_record(entries, tmp_path / "record")
    return runner.verify_record(directory, election_id=election_id, workers=1)


def skipped(report: VerificationReport) -> dict[str, str]:
    return {
        check.name: check.skipped_because or ""
        for check in report.checks
        if check.status == "skipped"
    }


def test_the_honest_record_passes_every_check(tmp_path: Path) -> None:
    report = verify(tmp_path, E.entries)
    assert report.passed
    assert [check.name for check in report.checks] == ALL
    assert report.notes == ()
    assert report.election_id == ELECTION_ID.hex()
    assert report.entries == len(E.entries)


def test_without_an_election_id_the_report_says_what_to_compare(tmp_path: Path) -> None:
    report = verify(tmp_path, E.entries, election_id=None)
    assert report.passed
    assert not report.election_id_given
    assert ELECTION_ID.hex() in report.notes[0]


def test_no_record_at_all(tmp_path: Path) -> None:
    report = runner.verify_record(tmp_path, workers=1)
    assert report.statuses()["manifest"] == "fail"
    assert set(skipped(report)) == set(ALL) - {"manifest"}
    assert all("check 2 (manifest) failed" in reason for reason in skipped(report).values())


def test_a_record_that_does_not_load_skips_everything_after_it(tmp_path: Path) -> None:
    directory = builder.write_record(E.entries, tmp_path / "record")
    (directory / CHECKPOINTS_FILE).write_bytes((directory / CHECKPOINTS_FILE).read_bytes()[:-9])
    report = runner.verify_record(directory, election_id=ELECTION_ID, workers=1)
    assert report.failed_checks() == {"record"}
    assert set(skipped(report)) == set(ALL) - {"record", "manifest"}
    assert "check 1 (record) failed: the record does not load" in skipped(report)["phases"]


def test_missing_guardian_keys_skip_what_needs_the_election_key(tmp_path: Path) -> None:
    entries = [e for e in E.entries if e.kind != kinds.GUARDIAN_KEY]
    report = verify(tmp_path, entries)
    assert report.failed_checks() == {"guardians"}
    reasons = skipped(report)
    assert set(reasons) == {
        "joint-key",
        "key-checks",
        "ballots",
        "audits",
        "counted-set",
        "tally",
        "decryption-shares",
        "result",
    }
    assert all("check 4 (guardians) failed" in reason for reason in reasons.values())
    assert report.statuses()["phases"] == "pass"
    assert report.statuses()["closing-checkpoint"] == "pass"


def test_a_missing_credential_list_skips_the_ballots_but_not_the_audits(tmp_path: Path) -> None:
    entries = [e for e in E.entries if e.kind != kinds.CREDENTIALS]
    report = verify(tmp_path, entries)
    assert report.failed_checks() == {"phases", "credentials"}
    assert set(skipped(report)) == {"ballots", "counted-set", "tally", "result"}
    assert "check 6 (credentials) failed" in skipped(report)["result"]
    assert report.statuses()["audits"] == "pass"
    assert report.statuses()["decryption-shares"] == "pass"


def test_a_missing_tally_skips_the_decryption(tmp_path: Path) -> None:
    entries = [e for e in E.entries if e.kind != kinds.TALLY]
    report = verify(tmp_path, entries)
    assert report.failed_checks() == {"phases", "counted-set", "tally"}
    assert set(skipped(report)) == {"decryption-shares", "result"}
    assert "check 10 (tally) failed" in skipped(report)["result"]


def test_every_failure_is_collected_not_only_the_first(tmp_path: Path) -> None:
    late = E.ballot_entry(E.new_ballot(2, 1))
    unsigned_open = builder.entry(kinds.OPEN, E.entries[OPEN_AT].body, [builder.OFFICIALS[0]])
    entries = [
        *E.entries[:OPEN_AT],
        unsigned_open,
        *E.entries[OPEN_AT + 1 : CLOSE_AT + 1],
        late,
        *E.entries[CLOSE_AT + 1 :],
    ]
    report = verify(tmp_path, entries)
    assert report.failed_checks() == {"phases", "ballots"}
    assert report.check("phases").failed == 2
    assert [f.entry for f in report.check("ballots").failures] == [CLOSE_AT + 1]


def test_an_unexpected_error_in_a_check_is_reported_not_raised(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(entries: object, manifest: object) -> checks.Findings:
        raise RuntimeError("boom")

    monkeypatch.setattr(checks, "check_phases", broken)
    report = verify(tmp_path, E.entries)
    assert report.failed_checks() == {"phases"}
    assert "internal error in the verifier" in report.check("phases").failures[0].message
    assert report.statuses()["result"] == "pass"


def test_proofs_in_worker_processes_give_the_same_report(tmp_path: Path) -> None:
    bad = builder.entry(
        kinds.BALLOT,
        E.entries[FIRST].body[:-40] + bytes(40),
        [builder.VOTERS[0]],
    )
    entries = [*E.entries[:CLOSE_AT], bad, *E.entries[CLOSE_AT:]]
    directory = builder.write_record(entries, tmp_path / "record")
    progress: list[tuple[str, int, int]] = []
    parallel = runner.verify_record(
        directory,
        election_id=ELECTION_ID,
        workers=2,
        parallel_threshold=1,
        progress=lambda phase, done, total: progress.append((phase, done, total)),
    )
    serial = runner.verify_record(directory, election_id=ELECTION_ID, workers=1)
    assert parallel.failed_checks() == serial.failed_checks() == {"ballots"}
    assert parallel.checks == serial.checks
    proofs = [(done, total) for phase, done, total in progress if phase == "proofs"]
    assert proofs[0] == (0, 6)
    assert proofs[-1] == (6, 6)


def test_chunks_cover_every_job_once() -> None:
    jobs = [checks.ProofJob(i, kinds.BALLOT, b"") for i in range(1000)]
    chunks = runner._chunks(jobs, 3)
    assert [job.index for chunk in chunks for job in chunk] == list(range(1000))
    assert max(len(chunk) for chunk in chunks) <= runner.MAX_CHUNK


def test_entries_file_without_entries(tmp_path: Path) -> None:
    directory = builder.write_record(E.entries, tmp_path / "record")
    (directory / ENTRIES_FILE).write_bytes(b"")
    report = runner.verify_record(directory, workers=1)
    assert report.failed_checks() == {"manifest"}
    assert "does not start with the header" in report.check("manifest").failures[0].message
