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

The document and this test change together: a command or option changed here is changed
there.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from evote.election.manifest import Manifest
from evote.election.tally import TallyResult
from evote.record import kinds
from evote.verify.load import load

#: A pilot's manifest: a referendum, a head of community, a three-seat council.
CONTESTS: list[dict[str, object]] = [
    {
        "id": "referendum",
        "kind": "referendum",
        "title": "Shall the community build a new library?",
        "min_marks": 0,
        "max_marks": 1,
        "majority_base": "participants",
    },
    {
        "id": "head",
        "kind": "candidates",
        "title": "Head of the community",
        "candidates": ["bondar", "hnatiuk", "koval"],
        "min_marks": 0,
        "max_marks": 1,
        "seats": 1,
        "rule": "plurality",
    },
    {
        "id": "council",
        "kind": "candidates",
        "title": "Community council (2 seats)",
        "candidates": ["ivanenko", "lysenko", "moroz", "petrenko"],
        "min_marks": 0,
        "max_marks": 2,
        "seats": 2,
        "rule": "plurality",
    },
]
WITNESSES = ("witness-a.example", "witness-b.example")
GUARDIANS = (1, 2, 3)
#: Each voter's ballots in order (the last one counts), and whether it challenges its device.
VOTES: dict[str, list[dict[str, str]]] = {
    "voter-1": [{"referendum": "yes", "head": "koval", "council": "moroz,lysenko"}],
    "voter-2": [{"referendum": "no", "head": "bondar", "council": "moroz"}],
    "voter-3": [{"referendum": "yes", "head": "koval", "council": ""}],
    "voter-4": [
        {"referendum": "no", "head": "hnatiuk", "council": "petrenko"},
        {"referendum": "yes", "head": "koval", "council": "ivanenko,moroz"},
    ],
}
CHALLENGER = "voter-2"
CODES = {voter: f"PILOT-{number:04d}-CODE" for number, voter in enumerate(VOTES, 1)}
#: The longest any one command may take before the test gives up on it (a hang, not a timing
#: check: every command here takes seconds).
COMMAND_LIMIT = 300


@dataclass
class Pilot:
    """The parties' directories, and the `evote` processes they run."""

    root: Path
    server: str = ""
    control: str = ""
    election_id: str = ""

    def path(self, name: str) -> Path:
        return self.root / name

    def evote(self, *arguments: object, passphrase: str | None = None) -> str:
        """Run `evote ARGUMENTS` in its own process; its standard output and error."""
        return self.evote_all([list(arguments)], passphrase=[passphrase])[0]

    def evote_all(
        self,
        commands: Sequence[Sequence[object]],
        *,
        passphrase: Sequence[str | None] | None = None,
    ) -> list[str]:
        """Run several `evote` commands at once (parties on their own machines); each one's
        output, in order, after all of them ended successfully."""
        phrases = passphrase if passphrase is not None else [None] * len(commands)

        def run(pair: tuple[Sequence[object], str | None]) -> str:
            command, phrase = pair
            environment = {**os.environ, "COLUMNS": "200"}
            environment.pop("EVOTE_PASSPHRASE", None)
            if phrase is not None:
                environment["EVOTE_PASSPHRASE"] = phrase
            done = subprocess.run(
                [sys.executable, "-m", "evote", *map(str, command)],
                capture_output=True,
                text=True,
                env=environment,
                stdin=subprocess.DEVNULL,
                timeout=COMMAND_LIMIT,
                check=False,
            )
            output = done.stdout + done.stderr
            shown = " ".join(map(str, command))
            assert done.returncode == 0, f"evote {shown} failed:\n{output}"
            return output

        with ThreadPoolExecutor(max_workers=len(commands)) as pool:
            return list(pool.map(run, zip(commands, phrases, strict=True)))

    # --- what several steps share ------------------------------------------------------------

    @property
    def ca(self) -> Path:
        return self.path("operator/data/ca.pem")

    def public(self) -> list[object]:
        return ["--server", self.server, "--ca", self.ca, "--election-id", self.election_id]

    def post(self, role_dir: str, *files: Path) -> list[object]:
        return [
            "post",
            "--control",
            self.control,
            *self.public(),
            "--role-dir",
            self.path(role_dir),
            *files,
        ]

    def observe(self) -> str:
        """The observer's poll: its mirror is what guardians and everyone else read."""
        return self.evote(
            "observe",
            *self.public(),
            "--mirror",
            self.path("observer/board-mirror"),
            "--polls",
            1,
        )

    def witnesses(self) -> list[str]:
        """Each witness polls once: checks the board and cosigns its newest checkpoint."""
        return self.evote_all(
            [
                [
                    "observe",
                    *self.public(),
                    "--mirror",
                    self.path(f"{name}/mirror"),
                    "--witness-key",
                    self.path(f"{name}/witness.key"),
                    "--role-dir",
                    self.path(f"{name}/role"),
                    "--control",
                    self.control,
                    "--polls",
                    1,
                ]
                for name in WITNESSES
            ]
        )

    def guardians(self, *arguments: object, which: Sequence[int] = GUARDIANS) -> list[str]:
        """Each guardian runs `evote guardian ARGUMENTS` on its own machine ({i}: its number)."""
        return self.evote_all(
            [[str(a).replace("{i}", str(i)) for a in ("guardian", *arguments)] for i in which],
            passphrase=[f"guardian {i} passphrase" for i in which],
        )

    def inbox(self) -> Path:
        """The guardians' entries on the board, from the observer's fresh mirror, as files."""
        self.observe()
        inbox = self.path("coordinator/inbox")
        self.evote(
            "record", "entries", self.path("observer/board-mirror"), "--guardians", "--out", inbox
        )
        return inbox

    def post_outboxes(self, outputs: Sequence[str], which: Sequence[int] = GUARDIANS) -> int:
        """Each guardian posts the entry files its round just wrote; how many there were."""
        posts, files = [], 0
        for guardian, output in zip(which, outputs, strict=True):
            written = re.findall(r"^wrote (.+\.entry)$", output, re.MULTILINE)
            if written:
                posts.append(self.post(f"g{guardian}/role", *written))
                files += len(written)
        if posts:
            self.evote_all(posts)
        return files


def wait_for_ports(log: Path, child: subprocess.Popen[bytes]) -> tuple[str, str]:
    """The public and control addresses `evote serve` prints on standard error once it
    listens (it picks free ports for port 0)."""
    deadline = time.monotonic() + COMMAND_LIMIT  # a hang guard, not a timing check
    while time.monotonic() < deadline:
        lines = log.read_text(encoding="utf-8").splitlines()
        found = dict(
            line.split(maxsplit=1) for line in lines if line.startswith(("public", "control"))
        )
        if {"public", "control"} <= found.keys():
            return found["public"].strip(), found["control"].strip()
        assert child.poll() is None, f"evote serve ended:\n{log.read_text(encoding='utf-8')}"
        with contextlib.suppress(subprocess.TimeoutExpired):
            child.wait(timeout=0.1)
    raise AssertionError(f"evote serve printed no ports:\n{log.read_text(encoding='utf-8')}")


def stop_server(child: subprocess.Popen[bytes]) -> None:
    """SIGTERM, then SIGKILL if it does not stop; then end whatever is left in its group."""
    if child.poll() is None:
        child.terminate()
        try:
            child.wait(timeout=15)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait(timeout=15)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(child.pid, signal.SIGKILL)


@contextlib.contextmanager
def serving(pilot: Pilot) -> Iterator[None]:
    """`evote serve` in the background on free loopback ports, stopped at the end."""
    log = pilot.path("operator/serve.log")
    with log.open("wb") as stderr:
        child = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "evote",
                "serve",
                "--data-dir",
                pilot.path("operator/data"),
                "--log-key",
                pilot.path("operator/log.key"),
                "--authority-key",
                pilot.path("authority/authority.key"),
                "--public",
                "127.0.0.1:0",
                "--control",
                "127.0.0.1:0",
            ],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=stderr,
            start_new_session=True,  # its own process group, ended by stop_server
        )
    try:
        pilot.server, pilot.control = wait_for_ports(log, child)
        yield
    finally:
        stop_server(child)


def manifest_mapping(keys: Mapping[str, str], guardians: Sequence[str]) -> dict[str, object]:
    """The officials' manifest, naming the public keys every party's command printed."""
    return {
        "name": "Pilot: community referendum and elections",
        "contests": CONTESTS,
        "officials": {"keys": [keys["official-1"], keys["official-2"]], "quorum": 2},
        "credential_authority": keys["authority"],
        "guardians": {"keys": list(guardians), "quorum": 2},
        "log": {"origin": "vote.pilot.example/2025", "key": keys["log"]},
        "witnesses": {"keys": {name: keys[name] for name in WITNESSES}, "quorum": 2},
    }


def expected_counts(manifest: Manifest) -> dict[str, tuple[int, ...]]:
    """Per contest and option, the marks of every voter's last ballot."""
    counts = {contest.id: [0] * len(contest.options()) for contest in manifest.contests}
    for ballots in VOTES.values():
        for contest, chosen in ballots[-1].items():
            options = manifest.part(contest)[0].options()
            for option in filter(None, chosen.split(",")):
                counts[contest][options.index(option)] += 1
    return {contest: tuple(values) for contest, values in counts.items()}


def choices(ballot: Mapping[str, str]) -> list[str]:
    return [
        argument
        for contest, chosen in ballot.items()
        for argument in ("--choice", f"{contest}={chosen}")
    ]


@pytest.mark.slow
def test_the_pilot_walkthrough_runs_end_to_end(tmp_path: Path) -> None:
    pilot = Pilot(tmp_path)
    for party in ("officials", "operator", "authority", "observer", "coordinator", *WITNESSES):
        pilot.path(party).mkdir()
    for guardian in GUARDIANS:
        pilot.path(f"g{guardian}").mkdir()

    # 1. Keys and the manifest.
    key_files = {
        "official-1": "officials/official-1.key",
        "official-2": "officials/official-2.key",
        "log": "operator/log.key",
        "authority": "authority/authority.key",
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
    manifest_file = pilot.path("officials/manifest.yaml")
    manifest_file.write_text(
        yaml.safe_dump(manifest_mapping(keys, guardian_keys), sort_keys=False), encoding="utf-8"
    )
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

    # 2. The data dir and the services.
    data_dir = pilot.path("operator/data")
    setup = pilot.evote(
        "setup",
        "--data-dir",
        data_dir,
        "--manifest-entry",
        manifest_entry,
        "--log-key",
        pilot.path("operator/log.key"),
    )
    assert pilot.election_id in setup
    roles = {
        "official": "officials/role",
        "credential-authority": "authority/role",
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


def run_election(pilot: Pilot, manifest_file: Path) -> None:
    """Steps 3 to 8 of the walkthrough, against the running services."""
    manifest = Manifest.from_mapping(yaml.safe_load(manifest_file.read_text(encoding="utf-8")))
    mirror = pilot.path("observer/board-mirror")

    # 3. Observers and witnesses: the observer's first poll is the ceremony's first inbox;
    # the witnesses poll while voting goes on and after the close.

    # 4. The key ceremony: rounds 0 to 3 each post an entry per guardian; the complaints and
    # answers rounds post nothing when every share checks; the last round writes the
    # guardians' acknowledgements of the joint key.
    key = ["--key-file", pilot.path("g{i}/guardian.key")]
    on_manifest = [*key, "--manifest", manifest_file]
    pilot.guardians("join", *on_manifest)
    outbox = ["--outbox", pilot.path("g{i}/outbox")]
    rounds = pilot.guardians("round", *on_manifest, *outbox)
    posted = pilot.post_outboxes(rounds)
    assert posted == 3
    inbox = pilot.path("coordinator/inbox")
    for expected in (3, 3, 3, 0, 0):  # commit, reveal, shares, complaints, answers
        if posted:
            pilot.inbox()
        rounds = pilot.guardians("round", *on_manifest, "--inbox", inbox, *outbox)
        posted = pilot.post_outboxes(rounds)
        assert posted == expected
    finished = pilot.guardians("round", *on_manifest, "--inbox", inbox, *outbox)
    joint_keys = {re.findall(r"^joint election key K = (\w+)$", out, re.M)[0] for out in finished}
    assert len(joint_keys) == 1
    assert all("to the officials instead of posting it" in output for output in finished)

    # The officials sign the joint key apart, each after checking it against the board, and
    # gather every guardian's acknowledgement with their signatures.
    pilot.evote_all(
        [
            [
                "official",
                "sign",
                pilot.path(f"g{n}/outbox/joint-key-g{n}.entry"),
                *pilot.public(),
                "--key",
                pilot.path(f"officials/official-{n}.key"),
                "--out",
                pilot.path(f"officials/joint-key-o{n}.entry"),
            ]
            for n in (1, 2)
        ]
    )
    joint_key = pilot.path("officials/joint-key.entry")
    pilot.evote(
        "ceremony",
        "merge-signatures",
        "--out",
        joint_key,
        pilot.path("officials/joint-key-o1.entry"),
        pilot.path("officials/joint-key-o2.entry"),
        pilot.path("g3/outbox/joint-key-g3.entry"),
    )
    pilot.evote(*pilot.post("officials/role", joint_key))
    checks = pilot.guardians("key-check", *key, *outbox)
    assert pilot.post_outboxes(checks) == 3

    # 5. Registration.
    codes = pilot.path("authority/codes.txt")
    codes.write_text("".join(f"{code}\n" for code in CODES.values()), encoding="utf-8")
    registry = [
        "--control",
        pilot.control,
        "--ca",
        pilot.ca,
        "--role-dir",
        pilot.path("authority/role"),
    ]
    imported = pilot.evote("registry", "import-roll", "--codes", codes, *registry)
    assert "4 eligible, 0 enrolled" in imported
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
    assert "4 eligible, 4 enrolled; registration is closed" in closed

    # 6. Voting.
    officials = [
        "--key",
        pilot.path("officials/official-1.key"),
        "--key",
        pilot.path("officials/official-2.key"),
    ]
    posting = ["--control", pilot.control, "--role-dir", pilot.path("officials/role")]
    pilot.evote("official", "open", *pilot.public(), *officials, *posting)
    for turn in range(max(map(len, VOTES.values()))):
        voting = [voter for voter, ballots in VOTES.items() if turn < len(ballots)]
        cast = pilot.evote_all(
            [
                [
                    "vote",
                    "--voter-dir",
                    pilot.path(voter),
                    *choices(VOTES[voter][turn]),
                    *(["--challenge"] if voter == CHALLENGER else []),
                ]
                for voter in voting
            ],
            passphrase=[f"{voter} passphrase" for voter in voting],
        )
        for voter, output in zip(voting, cast, strict=True):
            assert "cast: the ballot box's receipt checks" in output
            assert ("challenged:" in output) == (voter == CHALLENGER)
            assert ("replaces the one you cast before" in output) == (turn > 0)
    pilot.witnesses()

    # 7. Closing, tally and result.
    pilot.evote("official", "close", *pilot.public(), *officials, *posting)
    for output in pilot.witnesses():
        assert "cosigned" in output
    pilot.evote(
        "official",
        "tally",
        *pilot.public(),
        "--key",
        pilot.path("officials/official-1.key"),
        "--out",
        pilot.path("officials/tally-o1.entry"),
    )
    tally = pilot.path("officials/tally.entry")
    pilot.evote(
        "official",
        "sign",
        pilot.path("officials/tally-o1.entry"),
        *pilot.public(),
        "--key",
        pilot.path("officials/official-2.key"),
        "--out",
        tally,
    )
    pilot.evote(*pilot.post("officials/role", tally))
    pilot.observe()
    deciding = (1, 3)
    shares = pilot.guardians("decrypt", *key, "--record", mirror, *outbox, which=deciding)
    assert pilot.post_outboxes(shares, deciding) == 2
    published = pilot.evote("official", "result", *pilot.public(), *officials, *posting)
    assert "guardians decrypting: 1, 3" in published

    # 8. Everyone checks.
    assert "OBSERVED" in pilot.observe()
    receipts = pilot.evote_all(
        [["receipt", "check", "--voter-dir", pilot.path(voter), "--online"] for voter in VOTES]
    )
    assert all("online: the board now has" in output for output in receipts)
    verified = pilot.evote("verify", mirror, "--election-id", pilot.election_id)
    assert "VERIFIED" in verified
    record = load(mirror, bytes.fromhex(pilot.election_id)).record
    (result,) = [entry for entry in record.entries if entry.kind == kinds.RESULT]
    assert TallyResult.from_tlv(result.body, manifest).counts == expected_counts(manifest)
