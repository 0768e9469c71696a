"""The mock election over gRPC: the real services on loopback with TLS, voters enrolling and
casting as concurrent clients; the exported record verifies and the counts are the simulated
voters' choices. ``evote serve`` serves a data dir set up the same way until SIGTERM."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from evote.board.entry import Entry
from evote.client.channels import BoardClient, secure_channel
from evote.crypto.signing import SigningKey
from evote.election.encrypt import PlaintextBallot
from evote.election.manifest import Manifest
from evote.mock.defaults import REFERENCE_CONTESTS
from evote.mock.election import (
    Choices,
    MockOptions,
    expected_counts,
    mock_manifest,
    new_election_dir,
    random_plaintext,
    run_mock_election,
)
from evote.record import kinds
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


def test_evote_serve_serves_a_data_dir_until_terminated(tmp_path: Path) -> None:
    officials = tuple(SigningKey.generate() for _ in range(2))
    log_key = SigningKey.generate()
    manifest = mock_manifest(
        "Serve test",
        [REFERENCE_CONTESTS[0]],
        officials=officials,
        official_quorum=2,
        authority=SigningKey.generate(),
        guardians=(SigningKey.generate(),),
        guardian_quorum=1,
        log_key=log_key,
        witnesses=(("witness-1.evote.test", SigningKey.generate()),),
        witness_quorum=1,
    )
    data_dir = tmp_path / "election"
    data_dir.mkdir()
    new_election_dir(data_dir, manifest, log_key, officials)
    key_file = tmp_path / "log.key"
    key_file.write_text(log_key.seed().hex())
    command = [sys.executable, "-m", "evote", "serve", "--data-dir", str(data_dir)]
    command += ["--log-key", str(key_file), "--public", "127.0.0.1:0", "--control", "127.0.0.1:0"]
    server = subprocess.Popen(command, stderr=subprocess.PIPE, text=True)
    try:
        assert server.stderr is not None
        public = server.stderr.readline().split()
        assert public[0] == "public"
        channel = secure_channel(public[1], (data_dir / "ca.pem").read_bytes())
        with BoardClient(channel) as board:
            entries = list(board.all_entries())
            assert len(entries) == 1
            assert Entry.decode(entries[0]).kind == kinds.MANIFEST
            assert board.checkpoint().startswith(manifest.log_origin + "\n1\n")
        server.terminate()
        assert server.wait(timeout=15) == 0
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()
