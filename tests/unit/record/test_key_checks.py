"""The one rule for which guardians showed their key share decrypts: a key check counts only
if it is signed by its own guardian alone and its proof verifies."""

from __future__ import annotations

from pathlib import Path

import pytest

from evote.board.entry import Entry
from evote.mock.defaults import REFERENCE_CONTESTS
from evote.mock.staging import StagedElection, stage_election
from evote.record import kinds
from evote.record.key_checks import guardians_without_key_check, proved_key_check


@pytest.fixture(scope="module")
def staged(tmp_path_factory: pytest.TempPathFactory) -> tuple[StagedElection, list[Entry]]:
    root: Path = tmp_path_factory.mktemp("key-checks")
    election = stage_election(root, "Key checks", [REFERENCE_CONTESTS[0]], voters=1, until="keys")
    board = election.open_board()
    try:
        entries = [Entry.decode(raw) for raw in board.entries(0, board.size)]
    finally:
        board.close()
    return election, [entry for entry in entries if entry.kind == kinds.KEY_CHECK]


def test_every_guardians_key_check_counts(staged: tuple[StagedElection, list[Entry]]) -> None:
    election, checks = staged
    assert len(checks) == len(election.guardians)
    assert guardians_without_key_check(checks, election.context) == []


def test_a_missing_key_check_is_named(staged: tuple[StagedElection, list[Entry]]) -> None:
    election, checks = staged
    by_guardian = {proved_key_check(entry, election.context): entry for entry in checks}
    others = [entry for guardian, entry in by_guardian.items() if guardian != 2]
    assert guardians_without_key_check(others, election.context) == [2]


def test_a_key_check_signed_by_another_guardian_does_not_count(
    staged: tuple[StagedElection, list[Entry]],
) -> None:
    election, checks = staged
    entry = checks[0]
    guardian = proved_key_check(entry, election.context)
    assert guardian is not None
    other = election.guardians[guardian % len(election.guardians)]
    forged = Entry.create(entry.kind, entry.election_id, entry.body, [other])
    assert proved_key_check(forged, election.context) is None
    both = Entry.create(
        entry.kind, entry.election_id, entry.body, [election.guardians[guardian - 1], other]
    )
    assert proved_key_check(both, election.context) is None


@pytest.mark.parametrize("position", [0, 5, -1])
def test_a_tampered_key_check_does_not_count(
    staged: tuple[StagedElection, list[Entry]], position: int
) -> None:
    election, checks = staged
    entry = checks[0]
    guardian = proved_key_check(entry, election.context)
    assert guardian is not None
    body = bytearray(entry.body)
    body[position] ^= 0x01
    tampered = Entry.create(
        entry.kind, entry.election_id, bytes(body), [election.guardians[guardian - 1]]
    )
    assert proved_key_check(tampered, election.context) is None
