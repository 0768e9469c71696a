"""The steps of docs/running-an-election.md that both schemes' pilots take, and the parties
that take them.

Scheme A's pilot (tests/integration/test_pilot.py) runs every command as its own `evote`
process, which proves the installed command works; scheme B's (test_pilot_paillier.py) runs
them through the command line in the test's process, which spares a Python start per command
while its real 2048-bit key costs seconds. Either way is a :data:`Runner` handed to
:class:`Pilot`; the steps here do not know which one runs them, so the two tests keep only
what differs between the schemes: the key ceremony and who deals the key.
"""

from __future__ import annotations

import contextlib
import os
import re
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import yaml
from click.testing import CliRunner

from evote.board.entry import Entry
from evote.cli import main
from evote.election.manifest import Manifest
from evote.election.tally import TallyResult
from evote.record import kinds
from evote.verify.load import load
from tests.suite.served import stop_server

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
#: The guardians who decrypt the tally (a quorum of 2, guardian 2 absent).
DECIDING = (1, 3)
#: Each voter's ballots in order (the last one counts): contest id to the options marked.
Votes = Mapping[str, Sequence[Mapping[str, str]]]
#: The longest any one command may take before the test gives up on it (a hang, not a timing
#: check: every command here takes seconds).
COMMAND_LIMIT = 300

#: How a pilot runs its parties' commands: the commands (each `evote`'s arguments) and each
#: one's passphrase (``None``: no ``EVOTE_PASSPHRASE``) to each one's output, in order, after
#: every one of them ended successfully.
Runner = Callable[[Sequence[Sequence[object]], Sequence[str | None]], list[str]]


def _shown(command: Sequence[object]) -> str:
    return " ".join(map(str, command))


def in_subprocesses(
    commands: Sequence[Sequence[object]], phrases: Sequence[str | None]
) -> list[str]:
    """Each command its own `evote` process, all at once (parties on their own machines)."""

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
        assert done.returncode == 0, f"evote {_shown(command)} failed:\n{output}"
        return output

    with ThreadPoolExecutor(max_workers=len(commands)) as pool:
        return list(pool.map(run, zip(commands, phrases, strict=True)))


def in_process(commands: Sequence[Sequence[object]], phrases: Sequence[str | None]) -> list[str]:
    """Each command through the `evote` command line in this process, one after the other."""
    outputs = []
    for command, phrase in zip(commands, phrases, strict=True):
        environment = {"EVOTE_PASSPHRASE": phrase, "COLUMNS": "200"}
        done = CliRunner().invoke(main, [str(a) for a in command], env=environment)
        failed = f"evote {_shown(command)} failed:\n{done.output}\n{done.exception!r}"
        assert done.exit_code == 0, failed
        outputs.append(done.output)
    return outputs


@dataclass
class Pilot:
    """The parties' directories, and the `evote` commands they run."""

    root: Path
    runner: Runner
    server: str = ""
    control: str = ""
    election_id: str = ""

    def path(self, name: str) -> Path:
        return self.root / name

    def evote(self, *arguments: object, passphrase: str | None = None) -> str:
        """Run `evote ARGUMENTS`; its standard output and error."""
        return self.evote_all([list(arguments)], passphrase=[passphrase])[0]

    def evote_all(
        self,
        commands: Sequence[Sequence[object]],
        *,
        passphrase: Sequence[str | None] | None = None,
    ) -> list[str]:
        """Run several `evote` commands (parties on their own machines); each one's output, in
        order, after all of them ended successfully."""
        return self.runner(commands, passphrase or [None] * len(commands))

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

    def official_key(self, n: int) -> Path:
        return self.path(f"officials/official-{n}.key")

    def sign(self, entry: Path, official: int, out: Path) -> list[object]:
        """`evote official sign`: official ``official`` adds its signature to ``entry``."""
        return [
            "official",
            "sign",
            entry,
            *self.public(),
            "--key",
            self.official_key(official),
            "--out",
            out,
        ]

    def merge(self, out: Path, *copies: Path) -> None:
        """`evote ceremony merge-signatures`: one entry from copies signed apart."""
        self.evote("ceremony", "merge-signatures", "--out", out, *copies)

    def officials(self, action: str) -> str:
        """Both officials open, close or publish the result, posting it on the control port."""
        return self.evote(
            "official",
            action,
            *self.public(),
            *("--key", self.official_key(1), "--key", self.official_key(2)),
            *("--control", self.control, "--role-dir", self.path("officials/role")),
        )

    def observe(self) -> str:
        """The observer's poll: its mirror is what guardians and everyone else read."""
        return self.evote("observe", *self.public(), "--mirror", self.mirror, "--polls", 1)

    @property
    def mirror(self) -> Path:
        return self.path("observer/board-mirror")

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
        self.evote("record", "entries", self.mirror, "--guardians", "--out", inbox)
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


def key(pilot: Pilot) -> list[object]:
    """Every `evote guardian` command's key file option ({i}: the guardian's number)."""
    return ["--key-file", pilot.path("g{i}/guardian.key")]


def outbox(pilot: Pilot) -> list[object]:
    """Every `evote guardian` command's outbox option."""
    return ["--outbox", pilot.path("g{i}/outbox")]


def on_manifest(pilot: Pilot) -> list[object]:
    """The key file and the manifest :func:`set_up` wrote, for `join` and `round`."""
    return [*key(pilot), "--manifest", pilot.path("officials/manifest.yaml")]


# --- the operator's services ----------------------------------------------------------------------


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


@contextlib.contextmanager
def serving(pilot: Pilot) -> Iterator[None]:
    """`evote serve` in the background on free loopback ports, stopped at the end (a real
    process with either runner: the services are the operator's, not a party's command)."""
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


# --- the steps ---------------------------------------------------------------------------------


def manifest_mapping(keys: Mapping[str, str], guardians: Sequence[str]) -> dict[str, object]:
    """The officials' manifest, naming the public keys every party's command printed; with a
    dealer's key, a scheme B manifest naming it."""
    mapping: dict[str, object] = {
        "name": "Pilot: community referendum and elections",
        "contests": CONTESTS,
        "officials": {"keys": [keys["official-1"], keys["official-2"]], "quorum": 2},
        "credential_authority": keys["authority"],
        "guardians": {"keys": list(guardians), "quorum": 2},
        "log": {"origin": "vote.pilot.example/2025", "key": keys["log"]},
        "witnesses": {"keys": {name: keys[name] for name in WITNESSES}, "quorum": 2},
    }
    if "dealer" in keys:
        mapping["scheme"] = {"name": "paillier", "dealer": keys["dealer"]}
    return mapping


def set_up(pilot: Pilot, *, dealer: bool = False) -> Path:
    """Steps 1 and 2: every party's keys, the manifest checked, signed apart and merged, the
    data dir and every party's role certificate; the manifest file. With ``dealer``, scheme B:
    the dealer's key and role certificate too, and the manifest names the dealer."""
    parties = ("officials", "operator", "authority", "observer", "coordinator", *WITNESSES)
    for party in (*parties, *(["dealer"] if dealer else [])):
        pilot.path(party).mkdir()
    for guardian in GUARDIANS:
        pilot.path(f"g{guardian}").mkdir()

    key_files = {
        "official-1": "officials/official-1.key",
        "official-2": "officials/official-2.key",
        "log": "operator/log.key",
        "authority": "authority/authority.key",
        **({"dealer": "dealer/dealer.key"} if dealer else {}),
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
                pilot.official_key(n),
                "--out",
                pilot.path(f"officials/m{n}.entry"),
            ]
            for n in (1, 2)
        ]
    )
    manifest_entry = pilot.path("officials/manifest.entry")
    pilot.merge(manifest_entry, pilot.path("officials/m1.entry"), pilot.path("officials/m2.entry"))

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
        **({"dealer": "dealer/role"} if dealer else {}),
        **{f"guardian:{i}": f"g{i}/role" for i in GUARDIANS},
        **{f"witness:{name}": f"{name}/role" for name in WITNESSES},
    }
    pilot.evote_all(
        [
            ["ca", "issue", "--data-dir", data_dir, "--role", role, "--out", pilot.path(out)]
            for role, out in roles.items()
        ]
    )
    return manifest_file


def read_manifest(manifest_file: Path) -> Manifest:
    return Manifest.from_mapping(yaml.safe_load(manifest_file.read_text(encoding="utf-8")))


def transport_keys(pilot: Pilot) -> None:
    """Every guardian joins, then runs its first round and posts its transport key."""
    pilot.guardians("join", *on_manifest(pilot))
    rounds = pilot.guardians("round", *on_manifest(pilot), *outbox(pilot))
    assert pilot.post_outboxes(rounds) == 3


def key_checks(pilot: Pilot) -> None:
    """After the ceremony, every guardian proves it can decrypt, on the board."""
    checks = pilot.guardians("key-check", *key(pilot), *outbox(pilot))
    assert pilot.post_outboxes(checks) == 3


def register(pilot: Pilot, codes: Mapping[str, str]) -> None:
    """The credential authority imports the roll, every voter enrolls with its one-time code
    (its passphrase: ``"<voter> passphrase"``), and the authority closes registration."""
    codes_file = pilot.path("authority/codes.txt")
    codes_file.write_text("".join(f"{code}\n" for code in codes.values()), encoding="utf-8")
    registry = [
        "--control",
        pilot.control,
        "--ca",
        pilot.ca,
        "--role-dir",
        pilot.path("authority/role"),
    ]
    imported = pilot.evote("registry", "import-roll", "--codes", codes_file, *registry)
    assert f"{len(codes)} eligible, 0 enrolled" in imported
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
            for voter, code in codes.items()
        ],
        passphrase=[f"{voter} passphrase" for voter in codes],
    )
    # The authority signs the credential list on its own machine: its key never leaves it.
    closed = pilot.evote(
        "registry",
        "close",
        *registry,
        "--server",
        pilot.server,
        "--election-id",
        pilot.election_id,
        "--key",
        pilot.path("authority/authority.key"),
    )
    assert f"{len(codes)} eligible, {len(codes)} enrolled; registration is closed" in closed
    assert f"{len(codes)} credentials (receipt checked)" in closed


def choices(ballot: Mapping[str, str]) -> list[str]:
    return [
        argument
        for contest, chosen in ballot.items()
        for argument in ("--choice", f"{contest}={chosen}")
    ]


def vote(pilot: Pilot, votes: Votes, challenger: str | None = None) -> None:
    """The officials open; each voter casts its ballots in turn (``challenger`` challenges its
    device first); every receipt checks; the witnesses poll while voting goes on."""
    pilot.officials("open")
    for turn in range(max(map(len, votes.values()))):
        voting = [voter for voter, ballots in votes.items() if turn < len(ballots)]
        cast = pilot.evote_all(
            [
                [
                    "vote",
                    "--voter-dir",
                    pilot.path(voter),
                    *choices(votes[voter][turn]),
                    *(["--challenge"] if voter == challenger else []),
                ]
                for voter in voting
            ],
            passphrase=[f"{voter} passphrase" for voter in voting],
        )
        for voter, output in zip(voting, cast, strict=True):
            assert "cast: the ballot box's receipt checks" in output
            assert ("challenged:" in output) == (voter == challenger)
            assert ("replaces the one you cast before" in output) == (turn > 0)
    pilot.witnesses()


def close_and_tally(pilot: Pilot) -> None:
    """The officials close, the witnesses cosign the close, one official makes the tally and
    the other co-signs it after checking it, it is posted, and the observer mirrors it."""
    pilot.officials("close")
    for output in pilot.witnesses():
        assert "cosigned" in output
    tally_o1 = pilot.path("officials/tally-o1.entry")
    pilot.evote(
        "official", "tally", *pilot.public(), "--key", pilot.official_key(1), "--out", tally_o1
    )
    tally = pilot.path("officials/tally.entry")
    pilot.evote(*pilot.sign(tally_o1, 2, tally))
    pilot.evote(*pilot.post("officials/role", tally))
    pilot.observe()


def decrypt_and_publish(pilot: Pilot) -> list[str]:
    """Two guardians decrypt the tally from the mirror and post their shares; the officials
    publish the result. The guardians' outputs."""
    answers = pilot.guardians(
        "decrypt", *key(pilot), "--record", pilot.mirror, *outbox(pilot), which=DECIDING
    )
    assert pilot.post_outboxes(answers, DECIDING) == 2
    published = pilot.officials("result")
    assert "guardians decrypting: 1, 3" in published
    return answers


def expected_counts(manifest: Manifest, votes: Votes) -> dict[str, tuple[int, ...]]:
    """Per contest and option, the marks of every voter's last ballot."""
    counts = {contest.id: [0] * len(contest.options()) for contest in manifest.contests}
    for ballots in votes.values():
        for contest, chosen in ballots[-1].items():
            options = manifest.part(contest)[0].options()
            for option in filter(None, chosen.split(",")):
                counts[contest][options.index(option)] += 1
    return {contest: tuple(values) for contest, values in counts.items()}


def everyone_checks(pilot: Pilot, manifest: Manifest, votes: Votes) -> list[Entry]:
    """The observer sees the result; `evote verify` passes its mirror; the published counts
    are each voter's last choices. The mirrored record's entries."""
    assert "OBSERVED" in pilot.observe()
    verified = pilot.evote("verify", pilot.mirror, "--election-id", pilot.election_id)
    assert "VERIFIED" in verified
    record = load(pilot.mirror, bytes.fromhex(pilot.election_id)).record
    (result,) = [entry for entry in record.entries if entry.kind == kinds.RESULT]
    assert TallyResult.from_tlv(result.body, manifest).counts == expected_counts(manifest, votes)
    return list(record.entries)
