"""The mock election over gRPC: the real services on loopback with TLS, voters enrolling and
casting as concurrent clients; the exported record verifies and the counts are the simulated
voters' choices."""

from __future__ import annotations

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
