"""Scheme B (threshold Paillier with a trusted dealer) by hand through the command line.

The section "Scheme B by hand" of docs/running-an-election.md, end to end, with the steps the
scheme A pilot takes too (tests/integration/pilot_steps.py): `evote serve` is a real process in
the background, and every party's command runs through the `evote` command line in this process
(click's test runner, with each party's passphrase in its environment), one after the other,
which spares a Python start per command. A scheme B manifest naming the dealer's key, three
guardians (quorum 2) posting their transport keys, the dealer dealing from them (`evote dealer
deal`) and posting the sealed shares with its role certificate, the officials co-signing the
dealer's key apart, the guardians accepting their shares and posting their key checks, two
voters, witnesses, the officials' tally, two guardians decrypting, the result, and `evote
verify` passing every check on the observer's mirror.

The key is a real 2048-bit one (the manifest's scheme family fixes the modulus size), so the
dealer's safe primes and every Paillier proof cost seconds: the voters are kept to two.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from evote.board.entry import Entry
from evote.cli import main
from evote.cli.setup import read_seed
from evote.election.manifest import Manifest
from evote.record import kinds
from tests.integration import pilot_steps as steps
from tests.integration.pilot_steps import GUARDIANS, Pilot

#: Each voter's one ballot.
VOTES: dict[str, list[dict[str, str]]] = {
    "voter-1": [{"referendum": "yes", "head": "koval", "council": "moroz,lysenko"}],
    "voter-2": [{"referendum": "no", "head": "koval", "council": "moroz"}],
}
CODES = {voter: f"PAILLIER-{number:04d}-CODE" for number, voter in enumerate(VOTES, 1)}


def refused(*arguments: object) -> str:
    """Run a command that must fail (exit status 1) in this process; its output."""
    done = CliRunner().invoke(main, [str(a) for a in arguments], env={"COLUMNS": "200"})
    assert done.exit_code == 1, done.output
    return done.output


@pytest.mark.slow
def test_a_scheme_b_election_runs_by_hand(tmp_path: Path) -> None:
    pilot = Pilot(tmp_path, steps.in_process)
    # Keys and the manifest: the dealer's key is one more `evote key new`.
    manifest_file = steps.set_up(pilot, dealer=True)
    with steps.serving(pilot):
        run_election(pilot, manifest_file, steps.read_manifest(manifest_file))


def run_election(pilot: Pilot, manifest_file: Path, manifest: Manifest) -> None:
    # The dealer's ceremony: transport keys, the dealing, the officials' co-signatures, the
    # sealed shares, every guardian's acceptance and key check.
    steps.transport_keys(pilot)
    inbox = pilot.inbox()
    dealt = pilot.path("dealer/outbox")
    dealing = pilot.evote(
        "dealer",
        "deal",
        "--key",
        pilot.path("dealer/dealer.key"),
        "--manifest",
        manifest_file,
        "--inbox",
        inbox,
        "--outbox",
        dealt,
    )
    assert "every guardian's transport key checks (3 of 3)" in dealing
    assert sorted(path.name for path in dealt.iterdir()) == [
        "paillier-key.entry",
        *(f"paillier-share-g{i}.entry" for i in GUARDIANS),
    ]
    # An official co-signs only the dealer's own key entry, checked against the board.
    body = Entry.decode((dealt / "paillier-key.entry").read_bytes()).body
    official = read_seed(pilot.official_key(1))
    forged = pilot.path("officials/forged-key.entry")
    forged.write_bytes(
        Entry.create(kinds.PAILLIER_KEY, manifest.election_id, body, [official]).encoded
    )
    refusal = refused(*pilot.sign(forged, 2, pilot.path("officials/forged-o2.entry")))
    assert "is not signed by the manifest's dealer" in refusal
    signed_o1 = pilot.path("officials/paillier-key-o1.entry")
    pilot.evote(*pilot.sign(dealt / "paillier-key.entry", 1, signed_o1))
    cosigned = pilot.path("officials/paillier-key.entry")
    pilot.evote(*pilot.sign(signed_o1, 2, cosigned))
    pilot.evote(*pilot.post("officials/role", cosigned))
    shares = [dealt / f"paillier-share-g{i}.entry" for i in GUARDIANS]
    pilot.evote(*pilot.post("dealer/role", *shares))
    pilot.inbox()
    accepted = pilot.guardians(
        "round", *steps.on_manifest(pilot), "--inbox", inbox, *steps.outbox(pilot)
    )
    assert all("your Paillier key share is accepted" in output for output in accepted)
    assert pilot.post_outboxes(accepted) == 0
    steps.key_checks(pilot)
    statuses = pilot.guardians("status", *steps.key(pilot))
    assert all("step key-checked" in output for output in statuses)

    # Registration and voting.
    steps.register(pilot, CODES)
    steps.vote(pilot, VOTES)

    # Close, tally (signed apart), two guardians decrypt, the result.
    steps.close_and_tally(pilot)
    answers = steps.decrypt_and_publish(pilot)
    assert all("it is the sum of 2 counted ballots" in output for output in answers)

    # Everyone checks.
    entries = steps.everyone_checks(pilot, manifest, VOTES)
    assert [entry.kind for entry in entries].count(kinds.PAILLIER_KEY_CHECK) == 3
    checked_result = pilot.guardians(
        "check-result", "--record", pilot.mirror, "--manifest", manifest_file, which=(2,)
    )
    assert "the record checks" in checked_result[0]
