"""The pilot walkthrough of docs/running-an-election.md, end to end through the command line.

Every step is a real `evote` process, run the way the document says, in the same order and
with the same options: two officials (quorum 2) who sign apart and merge, the board operator
with `evote serve` in the background on free loopback ports, three guardians (quorum 2)
running the real key ceremony round by round, each fed the others' entries from the board
through an observer's mirror (`evote observe`, then `evote record entries --guardians`), the
credential authority, four voters (one challenges its device, one votes again), two witnesses
whose cosignatures settle the close, two guardians decrypting, and the public checks at the
end: every voter's receipt online, `evote verify` on the mirror, and a result that counts each
voter's last choices.

The document and this test change together: a command or option changed here, or in the steps
this test shares with scheme B's pilot (tests/integration/pilot_steps.py), is changed there.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from evote.election.manifest import Manifest
from tests.integration import pilot_steps as steps
from tests.integration.pilot_steps import Pilot

#: Each voter's ballots in order (the last one counts).
VOTES: dict[str, list[dict[str, str]]] = {
    "voter-1": [{"referendum": "yes", "head": "koval", "council": "moroz,lysenko"}],
    "voter-2": [{"referendum": "no", "head": "bondar", "council": "moroz"}],
    "voter-3": [{"referendum": "yes", "head": "koval", "council": ""}],
    "voter-4": [
        {"referendum": "no", "head": "hnatiuk", "council": "petrenko"},
        {"referendum": "yes", "head": "koval", "council": "ivanenko,moroz"},
    ],
}
#: The voter who challenges its device before casting.
CHALLENGER = "voter-2"
CODES = {voter: f"PILOT-{number:04d}-CODE" for number, voter in enumerate(VOTES, 1)}


@pytest.mark.slow
def test_the_pilot_walkthrough_runs_end_to_end(tmp_path: Path) -> None:
    pilot = Pilot(tmp_path, steps.in_subprocesses)
    # 1. Keys and the manifest. 2. The data dir and the services.
    manifest_file = steps.set_up(pilot)
    with steps.serving(pilot):
        run_election(pilot, steps.read_manifest(manifest_file))


def run_election(pilot: Pilot, manifest: Manifest) -> None:
    """Steps 3 to 8 of the walkthrough, against the running services."""
    # 3. Observers and witnesses: the observer's first poll is the ceremony's first inbox;
    # the witnesses poll while voting goes on and after the close.

    # 4. The key ceremony: rounds 0 to 3 each post an entry per guardian; the complaints and
    # answers rounds post nothing when every share checks; the last round writes the
    # guardians' acknowledgements of the joint key.
    steps.transport_keys(pilot)
    inbox = pilot.path("coordinator/inbox")
    posted = 3
    for expected in (3, 3, 3, 0, 0):  # commit, reveal, shares, complaints, answers
        if posted:
            pilot.inbox()
        rounds = pilot.guardians(
            "round", *steps.on_manifest(pilot), "--inbox", inbox, *steps.outbox(pilot)
        )
        posted = pilot.post_outboxes(rounds)
        assert posted == expected
    finished = pilot.guardians(
        "round", *steps.on_manifest(pilot), "--inbox", inbox, *steps.outbox(pilot)
    )
    joint_keys = {re.findall(r"^joint election key K = (\w+)$", out, re.M)[0] for out in finished}
    assert len(joint_keys) == 1
    assert all("to the officials instead of posting it" in output for output in finished)

    # The officials sign the joint key apart, each after checking it against the board, and
    # gather every guardian's acknowledgement with their signatures.
    pilot.evote_all(
        [
            pilot.sign(
                pilot.path(f"g{n}/outbox/joint-key-g{n}.entry"),
                n,
                pilot.path(f"officials/joint-key-o{n}.entry"),
            )
            for n in (1, 2)
        ]
    )
    joint_key = pilot.path("officials/joint-key.entry")
    pilot.merge(
        joint_key,
        pilot.path("officials/joint-key-o1.entry"),
        pilot.path("officials/joint-key-o2.entry"),
        pilot.path("g3/outbox/joint-key-g3.entry"),
    )
    pilot.evote(*pilot.post("officials/role", joint_key))
    steps.key_checks(pilot)

    # 5. Registration. 6. Voting.
    steps.register(pilot, CODES)
    steps.vote(pilot, VOTES, CHALLENGER)

    # 7. Closing, tally and result.
    steps.close_and_tally(pilot)
    steps.decrypt_and_publish(pilot)

    # 8. Everyone checks, and every voter's receipt still holds online.
    steps.everyone_checks(pilot, manifest, VOTES)
    receipts = pilot.evote_all(
        [["receipt", "check", "--voter-dir", pilot.path(voter), "--online"] for voter in VOTES]
    )
    assert all("online: the board now has" in output for output in receipts)
