"""The report: statuses and counts, the table, the JSON form, and entries shown as JSON."""

from __future__ import annotations

import json
from pathlib import Path

from rich.console import Console

from evote.crypto import encoding
from evote.errors import CheckFailed, ProofError
from evote.record import kinds
from evote.verify import runner
from evote.verify.report import CheckResult, Failure, describe_entry
from tests.unit.verify import builder
from tests.unit.verify.builder import ELECTION_ID, MANIFEST

E = builder.election()
CLOSE_AT = E.at(kinds.CLOSE)


def test_failure_keeps_where_and_the_specific_error() -> None:
    cause = ProofError("range", "challenge", "no")
    failure = Failure.of(
        CheckFailed("ballots", "bad proof", entry=9, kind="ballot", field="x", cause=cause)
    )
    assert failure == Failure("entry 9 (ballot), x: bad proof", 9, "ballot", "x", "ProofError")
    assert Failure.of(CheckFailed("tally", "no tally")).error == "CheckFailed"


def test_failed_counts_entries_once_and_entryless_failures_each() -> None:
    failures = (
        Failure("a", 3, "ballot", "f", "CheckFailed"),
        Failure("b", 3, "ballot", "g", "CheckFailed"),
        Failure("c", None, None, None, "CheckFailed"),
        Failure("d", None, None, None, "CheckFailed"),
    )
    assert CheckResult(7, "ballots", "t", "fail", 10, failures).failed == 3


def test_table_and_json_of_a_failing_record(tmp_path: Path) -> None:
    late = E.ballot_entry(E.new_ballot(2, 1))
    entries = [*E.entries[: CLOSE_AT + 1], late, *E.entries[CLOSE_AT + 1 :]]
    directory = builder.write_record(entries, tmp_path / "record")
    report = runner.verify_record(directory, election_id=ELECTION_ID, workers=1)
    console = Console(record=True, width=240)
    report.render(console)
    text = console.export_text()
    assert "NOT VERIFIED: 2 check(s) failed (phases, ballots)" in text
    assert f"entry {CLOSE_AT + 1} (ballot), position: cast after the election closed" in text
    document = json.loads(report.to_json_text())
    assert document["passed"] is False
    statuses = {check["name"]: check["status"] for check in document["checks"]}
    assert statuses["ballots"] == "fail"
    assert statuses["result"] == "pass"
    ballots = next(check for check in document["checks"] if check["name"] == "ballots")
    assert ballots["failed"] == 1
    assert ballots["failures"][0]["entry"] == CLOSE_AT + 1
    assert ballots["failures"][0]["field"] == "position"


def test_table_of_a_passing_record(tmp_path: Path) -> None:
    directory = builder.write_record(E.entries, tmp_path / "record")
    report = runner.verify_record(directory, workers=1)
    console = Console(record=True, width=240)
    report.render(console)
    text = console.export_text()
    assert "VERIFIED: all 14 checks pass." in text
    assert "NOT VERIFIED" not in text
    assert f"compare its id {ELECTION_ID.hex()}" in text


def test_describe_entries_of_every_kind() -> None:
    shown = [describe_entry(index, e, MANIFEST) for index, e in enumerate(E.entries)]
    assert [s["kind"] for s in shown] == [e.kind for e in E.entries]
    manifest = shown[0]["body"]
    assert isinstance(manifest, dict)
    assert manifest["name"] == MANIFEST.name
    ballot = shown[E.index(kinds.BALLOT)[0]]["body"]
    assert isinstance(ballot, dict)
    assert ballot["credential"] == E.ballots[0].credential.encode().hex()
    contests = ballot["contests"]
    assert isinstance(contests, dict)
    assert list(contests) == ["referendum", "council"]
    referendum = contests["referendum"]
    assert isinstance(referendum, dict)
    options = referendum["options"]
    assert isinstance(options, list)
    first = options[0]
    assert isinstance(first, dict)
    assert first["ciphertext"] == E.ballots[0].contests[0].selections[0].ciphertext.encode().hex()
    audit = shown[E.at(kinds.AUDIT)]["body"]
    assert isinstance(audit, dict)
    assert audit["seed"] == E.audit.seed.hex()
    result = shown[E.at(kinds.RESULT)]["body"]
    assert isinstance(result, dict)
    assert result["guardians"] == [1, 3]
    assert isinstance(result["counts"], dict)
    assert set(result["counts"]) == {"referendum", "council"}
    assert shown[E.at(kinds.RESULT)]["signers"] == [
        k.verify_key.encode().hex() for k in builder.QUORUM
    ]
    json.dumps(shown)


def test_describe_a_body_that_does_not_decode_or_fit() -> None:
    garbage = builder.entry(kinds.BALLOT, b"\xff\x00", [builder.VOTERS[0]])
    assert describe_entry(0, garbage)["body"] == {
        "undecodable": "truncated TLV header",
        "hex": "ff00",
    }
    odd = builder.entry(kinds.TALLY, encoding.encode(["x", 1]), builder.QUORUM)
    assert describe_entry(0, odd)["body"] == ["x", 1]
