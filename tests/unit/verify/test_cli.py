"""``evote verify`` and ``evote record show`` through click's test runner."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from evote.cli import main
from evote.record import kinds
from tests.unit.verify import builder
from tests.unit.verify.builder import ELECTION_ID

E = builder.election()


@pytest.fixture(scope="module")
def honest(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return builder.write_record(E.entries, tmp_path_factory.mktemp("cli") / "honest")


@pytest.fixture(scope="module")
def late_ballot(tmp_path_factory: pytest.TempPathFactory) -> Path:
    late = E.ballot_entry(E.new_ballot(2, 1))
    close_at = E.at(kinds.CLOSE)
    entries = [*E.entries[: close_at + 1], late, *E.entries[close_at + 1 :]]
    return builder.write_record(entries, tmp_path_factory.mktemp("cli") / "late")


def test_verify_an_honest_record(honest: Path) -> None:
    result = CliRunner().invoke(
        main, ["verify", str(honest), "--election-id", ELECTION_ID.hex(), "--workers", "1"]
    )
    assert result.exit_code == 0, result.output
    assert "VERIFIED: all 14 checks pass." in result.stdout
    assert "closing-checkpoint" in result.stdout


def test_verify_as_json_fails_with_status_one(late_ballot: Path) -> None:
    result = CliRunner().invoke(main, ["verify", str(late_ballot), "--json", "--workers", "1"])
    assert result.exit_code == 1
    document = json.loads(result.stdout)
    assert document["passed"] is False
    failed = {c["name"] for c in document["checks"] if c["status"] == "fail"}
    assert failed == {"phases", "ballots"}
    assert document["election_id"] == ELECTION_ID.hex()


def test_verify_against_another_published_id(honest: Path) -> None:
    result = CliRunner().invoke(
        main, ["verify", str(honest), "--election-id", "ab" * 32, "--workers", "1"]
    )
    assert result.exit_code == 1
    assert "not the published election id" in result.stdout


@pytest.mark.parametrize("value", ["xyz", "ab" * 31, "ab" * 33])
def test_a_malformed_election_id_is_a_usage_error(honest: Path, value: str) -> None:
    result = CliRunner().invoke(main, ["verify", str(honest), "--election-id", value])
    assert result.exit_code == 2
    assert "64 hex digits" in result.output


def test_record_show_all_and_one(honest: Path) -> None:
    runner = CliRunner()
    everything = runner.invoke(main, ["record", "show", str(honest)])
    assert everything.exit_code == 0, everything.output
    entries = json.loads(everything.stdout)
    assert [entry["kind"] for entry in entries] == [e.kind for e in E.entries]
    credentials_at = E.at(kinds.CREDENTIALS)
    one = runner.invoke(main, ["record", "show", str(honest), str(credentials_at)])
    assert one.exit_code == 0
    shown = json.loads(one.stdout)
    assert shown == entries[credentials_at]
    assert shown["signers"] == [builder.AUTHORITY.verify_key.encode().hex()]


def test_record_show_refuses_a_bad_index_or_record(honest: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(main, ["record", "show", str(honest), str(len(E.entries))])
    assert result.exit_code == 2
    assert f"the record has {len(E.entries)} entries" in result.output
    result = runner.invoke(main, ["record", "show", str(tmp_path)])
    assert result.exit_code == 1
    assert "cannot read" in result.output
