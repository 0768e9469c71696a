"""Scheme B (threshold Paillier with a trusted dealer) by hand through the command line.

The section "Scheme B by hand" of docs/running-an-election.md, end to end, with the scheme A
pilot's steps and helpers (tests/integration/test_pilot.py): `evote serve` is a real process in
the background, and every party's command runs through the `evote` command line in this
process (click's test runner, with each party's passphrase in its environment), one after the
other, which spares a Python start per command. A scheme B manifest naming the dealer's key,
three guardians (quorum 2) posting their transport keys, the dealer dealing from them
(`evote dealer deal`) and posting the sealed shares with its role certificate, the officials
co-signing the dealer's key apart, the guardians accepting their shares and posting their key
checks, two voters, witnesses, the officials' tally, two guardians decrypting, the result, and
`evote verify` passing every check on the observer's mirror.

The key is a real 2048-bit one (the manifest's scheme family fixes the modulus size), so the
dealer's safe primes and every Paillier proof cost seconds: the voters are kept to two.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from evote.board.entry import Entry
from evote.cli import main
from evote.cli.setup import read_seed
from evote.election.manifest import Manifest
from evote.election.tally import TallyResult
from evote.record import kinds
from evote.verify.load import load
from tests.integration.test_pilot import (
    GUARDIANS,
    WITNESSES,
    Pilot,
    choices,
    manifest_mapping,
    serving,
)

#: Each voter's one ballot.
VOTES: dict[str, dict[str, str]] = {
    "voter-1": {"referendum": "yes", "head": "koval", "council": "moroz,lysenko"},
    "voter-2": {"referendum": "no", "head": "koval", "council": "moroz"},
}
CODES = {voter: f"PAILLIER-{number:04d}-CODE" for number, voter in enumerate(VOTES, 1)}


class InProcessPilot(Pilot):
    """The pilot's parties, each command run by the `evote` command line in this process."""

    def evote_all(
        self,
        commands: Sequence[Sequence[object]],
        *,
        passphrase: Sequence[str | None] | None = None,
    ) -> list[str]:
        phrases = passphrase if passphrase is not None else [None] * len(commands)
        outputs = []
        for command, phrase in zip(commands, phrases, strict=True):
            environment = {"EVOTE_PASSPHRASE": phrase, "COLUMNS": "200"}
            done = CliRunner().invoke(main, [str(a) for a in command], env=environment)
            shown = " ".join(map(str, command))
            assert done.exit_code == 0, f"evote {shown} failed:\n{done.output}\n{done.exception!r}"
            outputs.append(done.output)
        return outputs

    def refused(self, *arguments: object) -> str:
        """Run a command that must fail (exit status 1); its output."""
        done = CliRunner().invoke(main, [str(a) for a in arguments], env={"COLUMNS": "200"})
        assert done.exit_code == 1, done.output
        return done.output


def expected_counts(manifest: Manifest) -> dict[str, tuple[int, ...]]:
    counts = {contest.id: [0] * len(contest.options()) for contest in manifest.contests}
    for ballot in VOTES.values():
        for contest, chosen in ballot.items():
            options = manifest.part(contest)[0].options()
            for option in filter(None, chosen.split(",")):
                counts[contest][options.index(option)] += 1
    return {contest: tuple(values) for contest, values in counts.items()}


@pytest.mark.slow
def test_a_scheme_b_election_runs_by_hand(tmp_path: Path) -> None:
    pilot = InProcessPilot(tmp_path)
    for party in ("officials", "operator", "authority", "observer", "coordinator", "dealer"):
        pilot.path(party).mkdir()
    for name in WITNESSES:
        pilot.path(name).mkdir()
    for guardian in GUARDIANS:
        pilot.path(f"g{guardian}").mkdir()

    # Keys and the manifest: the dealer's key is one more `evote key new`.
    key_files = {
        "official-1": "officials/official-1.key",
        "official-2": "officials/official-2.key",
        "log": "operator/log.key",
        "authority": "authority/authority.key",
        "dealer": "dealer/dealer.key",
        **{name: f"{name}/witness.key" for name in WITNESSES},
    }
    printed = pilot.evote_all([["key", "new", pilot.path(file)] for file in key_files.values()])
    keys = {name: output.strip() for name, output in zip(key_files, printed, strict=True)}
    identities = pilot.guardians(
        "identity", "--key-file", pilot.path("g{i}/guardian.key"), "--kdf", "interactive"
    )
    guardian_keys = [
        re.findall(r"^identity key ([0-9a-f]{64})$", out, re.M)[0] for out in identities
    ]
    mapping = manifest_mapping(keys, guardian_keys)
    mapping["scheme"] = {"name": "paillier", "dealer": keys["dealer"]}
    manifest_file = pilot.path("officials/manifest.yaml")
    manifest_file.write_text(yaml.safe_dump(mapping, sort_keys=False), encoding="utf-8")
    checked = pilot.evote("manifest", "check", manifest_file)
    pilot.election_id = re.findall(r"^election id ([0-9a-f]{64})$", checked, re.M)[0]
    pilot.evote_all(
        [
            [
                "manifest",
                "sign",
                manifest_file,
                "--key",
                pilot.path(f"officials/official-{n}.key"),
                "--out",
                pilot.path(f"officials/m{n}.entry"),
            ]
            for n in (1, 2)
        ]
    )
    manifest_entry = pilot.path("officials/manifest.entry")
    pilot.evote(
        "ceremony",
        "merge-signatures",
        "--out",
        manifest_entry,
        pilot.path("officials/m1.entry"),
        pilot.path("officials/m2.entry"),
    )
    data_dir = pilot.path("operator/data")
    pilot.evote(
        "setup",
        "--data-dir",
        data_dir,
        "--manifest-entry",
        manifest_entry,
        "--log-key",
        pilot.path("operator/log.key"),
    )
    roles = {
        "official": "officials/role",
        "credential-authority": "authority/role",
        "dealer": "dealer/role",
        **{f"guardian:{i}": f"g{i}/role" for i in GUARDIANS},
        **{f"witness:{name}": f"{name}/role" for name in WITNESSES},
    }
    pilot.evote_all(
        [
            ["ca", "issue", "--data-dir", data_dir, "--role", role, "--out", pilot.path(out)]
            for role, out in roles.items()
        ]
    )
    with serving(pilot):
        run_election(pilot, manifest_file)


def run_election(pilot: InProcessPilot, manifest_file: Path) -> None:
    manifest = Manifest.from_mapping(yaml.safe_load(manifest_file.read_text(encoding="utf-8")))
    mirror = pilot.path("observer/board-mirror")
    key = ["--key-file", pilot.path("g{i}/guardian.key")]
    on_manifest = [*key, "--manifest", manifest_file]
    outbox = ["--outbox", pilot.path("g{i}/outbox")]

    # The dealer's ceremony: transport keys, the dealing, the officials' co-signatures, the
    # sealed shares, every guardian's acceptance and key check.
    pilot.guardians("join", *on_manifest)
    rounds = pilot.guardians("round", *on_manifest, *outbox)
    assert pilot.post_outboxes(rounds) == 3
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
    official = read_seed(pilot.path("officials/official-1.key"))
    forged = pilot.path("officials/forged-key.entry")
    forged.write_bytes(
        Entry.create(kinds.PAILLIER_KEY, manifest.election_id, body, [official]).encoded
    )
    refusal = pilot.refused(
        "official",
        "sign",
        forged,
        *pilot.public(),
        "--key",
        pilot.path("officials/official-2.key"),
        "--out",
        pilot.path("officials/forged-o2.entry"),
    )
    assert "is not signed by the manifest's dealer" in refusal
    pilot.evote(
        "official",
        "sign",
        dealt / "paillier-key.entry",
        *pilot.public(),
        "--key",
        pilot.path("officials/official-1.key"),
        "--out",
        pilot.path("officials/paillier-key-o1.entry"),
    )
    cosigned = pilot.path("officials/paillier-key.entry")
    pilot.evote(
        "official",
        "sign",
        pilot.path("officials/paillier-key-o1.entry"),
        *pilot.public(),
        "--key",
        pilot.path("officials/official-2.key"),
        "--out",
        cosigned,
    )
    pilot.evote(*pilot.post("officials/role", cosigned))
    shares = [dealt / f"paillier-share-g{i}.entry" for i in GUARDIANS]
    pilot.evote(*pilot.post("dealer/role", *shares))
    pilot.inbox()
    accepted = pilot.guardians("round", *on_manifest, "--inbox", inbox, *outbox)
    assert all("your Paillier key share is accepted" in output for output in accepted)
    assert pilot.post_outboxes(accepted) == 0
    checks = pilot.guardians("key-check", *key, *outbox)
    assert pilot.post_outboxes(checks) == 3
    statuses = pilot.guardians("status", *key)
    assert all("step key-checked" in output for output in statuses)

    # Registration and voting.
    codes = pilot.path("authority/codes.txt")
    codes.write_text("".join(f"{code}\n" for code in CODES.values()), encoding="utf-8")
    registry = ["--control", pilot.control, "--ca", pilot.ca]
    registry += ["--role-dir", pilot.path("authority/role")]
    pilot.evote("registry", "import-roll", "--codes", codes, *registry)
    pilot.evote_all(
        [
            [
                "enroll",
                "--voter-dir",
                pilot.path(voter),
                *pilot.public(),
                "--code",
                code,
                "--kdf",
                "interactive",
            ]
            for voter, code in CODES.items()
        ],
        passphrase=[f"{voter} passphrase" for voter in CODES],
    )
    closed = pilot.evote(
        "registry", "close", *registry, "--server", pilot.server, "--election-id", pilot.election_id
    )
    assert "2 eligible, 2 enrolled; registration is closed" in closed
    officials = ["--key", pilot.path("officials/official-1.key")]
    officials += ["--key", pilot.path("officials/official-2.key")]
    posting = ["--control", pilot.control, "--role-dir", pilot.path("officials/role")]
    pilot.evote("official", "open", *pilot.public(), *officials, *posting)
    cast = pilot.evote_all(
        [["vote", "--voter-dir", pilot.path(voter), *choices(VOTES[voter])] for voter in VOTES],
        passphrase=[f"{voter} passphrase" for voter in VOTES],
    )
    assert all("cast: the ballot box's receipt checks" in output for output in cast)
    pilot.witnesses()

    # Close, tally (signed apart), two guardians decrypt, the result.
    pilot.evote("official", "close", *pilot.public(), *officials, *posting)
    for output in pilot.witnesses():
        assert "cosigned" in output
    tally_o1 = pilot.path("officials/tally-o1.entry")
    pilot.evote(
        "official",
        "tally",
        *pilot.public(),
        "--key",
        pilot.path("officials/official-1.key"),
        "--out",
        tally_o1,
    )
    tally = pilot.path("officials/tally.entry")
    pilot.evote(
        "official",
        "sign",
        tally_o1,
        *pilot.public(),
        "--key",
        pilot.path("officials/official-2.key"),
        "--out",
        tally,
    )
    pilot.evote(*pilot.post("officials/role", tally))
    pilot.observe()
    deciding = (1, 3)
    answers = pilot.guardians("decrypt", *key, "--record", mirror, *outbox, which=deciding)
    assert all("it is the sum of 2 counted ballots" in output for output in answers)
    assert pilot.post_outboxes(answers, deciding) == 2
    published = pilot.evote("official", "result", *pilot.public(), *officials, *posting)
    assert "guardians decrypting: 1, 3" in published

    # Everyone checks.
    assert "OBSERVED" in pilot.observe()
    verified = pilot.evote("verify", mirror, "--election-id", pilot.election_id)
    assert "VERIFIED" in verified
    record = load(mirror, bytes.fromhex(pilot.election_id)).record
    (result,) = [entry for entry in record.entries if entry.kind == kinds.RESULT]
    assert TallyResult.from_tlv(result.body, manifest).counts == expected_counts(manifest)
    assert [entry.kind for entry in record.entries].count(kinds.PAILLIER_KEY_CHECK) == 3
    checked_result = pilot.guardians(
        "check-result", "--record", mirror, "--manifest", manifest_file, which=(2,)
    )
    assert "the record checks" in checked_result[0]
