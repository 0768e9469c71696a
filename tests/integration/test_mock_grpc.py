"""The mock election over gRPC: the real services on loopback with TLS, voters enrolling and
casting as concurrent clients; the exported record verifies and the counts are the simulated
voters' choices."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from evote.election.encrypt import PlaintextBallot
from evote.election.manifest import Manifest
from evote.mock.election import (
    Choices,
    MockOptions,
    expected_counts,
    random_plaintext,
    run_mock_election,
)
from evote.verify.runner import verify_record

OPTIONS = MockOptions(
    voters=10,
    guardians=3,
    quorum=2,
    absent_guardians=1,
    audit_rate=0.3,
    revote_rate=0.3,
    workers=1,
    clients=4,
    seed=b"grpc",
    transport="grpc",
)

#: One referendum: 2048-bit Paillier ballots cost about a second per option to make and check.
REFERENDUM = (
    {"id": "referendum", "kind": "referendum", "title": "Build a library", "max_marks": 1},
)


def final_choices(manifest: Manifest, options: MockOptions) -> list[PlaintextBallot]:
    """The simulated voters' last choices, redrawn from the seed (the labels the mock uses)."""
    choices = Choices(options.seed)
    styles = [style.id for style in manifest.ballot_styles]
    finals = []
    for number in range(options.voters):
        label = f"voter/{number}"
        style = styles[choices.number(f"{label}/style", len(styles))]
        plaintext = random_plaintext(manifest, style, choices, label)
        if choices.chance(f"{label}/revote", options.revote_rate):
            plaintext = random_plaintext(manifest, style, choices, f"{label}/revote")
        finals.append(plaintext)
    return finals


def test_a_small_election_over_grpc_verifies(tmp_path: Path) -> None:
    result = run_mock_election(OPTIONS, tmp_path / "record")
    assert result.ballots_counted == OPTIONS.voters
    assert result.ballots_cast == OPTIONS.voters + result.revotes
    assert result.result.counts == expected_counts(
        result.manifest, final_choices(result.manifest, OPTIONS)
    )
    report = verify_record(result.record, election_id=result.manifest.election_id, workers=1)
    assert report.passed, report.failed_checks()
    assert "casts over gRPC" in result.seconds


def test_a_scheme_b_election_over_grpc_verifies(tmp_path: Path) -> None:
    """Scheme B over the services: the dealer posts its key (co-signed by the officials) and
    the sealed shares through the control port with its dealer certificate, the guardians their
    key checks; the ballot box derives the context from the posted key and admits the voters'
    Paillier ballots; the record verifies."""
    options = replace(OPTIONS, voters=3, clients=2, contests=REFERENDUM, scheme="paillier")
    result = run_mock_election(options, tmp_path / "record")
    assert result.manifest.scheme_name == "paillier"
    assert result.ballots_counted == options.voters
    assert result.ballots_cast == options.voters + result.revotes
    assert result.result.counts == expected_counts(
        result.manifest, final_choices(result.manifest, options)
    )
    report = verify_record(result.record, election_id=result.manifest.election_id, workers=1)
    assert report.passed, report.failed_checks()
    assert "casts over gRPC" in result.seconds
