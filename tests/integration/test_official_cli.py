"""The officials', the credential authority's and the guardians' commands against a running
election: real servers over TLS on free loopback ports, every step through the command line
(`evote registry`, `evote official`, `evote post`) with role certificates from `evote ca
issue`; voters enroll and cast and witnesses cosign as clients. The exported board verifies,
and the result is the voters' choices. Then the refusals: a close before the open, a guardian
posting the officials' open, a second open the server refuses, a tally before the witnesses or
signed by a stranger, a result the shares do not give."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from evote.board.entry import Entry, merge_signatures
from evote.board.export import export_record
from evote.board.witness import Witness
from evote.client.channels import (
    BallotBoxClient,
    BoardClient,
    ControlClient,
    RegistryClient,
    load_role,
    secure_channel,
)
from evote.client.official.calls import calling
from evote.client.official.errors import ServerRefused
from evote.client.official.posting import post_entry
from evote.crypto.signing import SigningKey
from evote.election.audit import AuditReveal
from evote.election.encrypt import PlaintextBallot, encrypt_ballot
from evote.election.tally import EncryptedTally, TallyResult
from evote.mock.defaults import REFERENCE_CONTESTS
from evote.mock.election import Choices, expected_counts, random_plaintext
from evote.mock.staging import StagedElection, stage_election
from evote.record import kinds
from evote.record.kinds import PhaseMark
from evote.services.board import checkpoint_size
from evote.services.ca import Role
from evote.services.server import ElectionServers, serve_election_tls, setup_data_dir
from evote.verify.runner import verify_record
from tests.integration.test_setup_cli import invoke

CODES = ["alpha-1111", "bravo-2222", "charlie-3333"]


@dataclass
class Running:
    """A served election and the files its parties hold (keys, role dirs, the CA)."""

    election: StagedElection
    servers: ElectionServers
    directory: Path

    @property
    def public(self) -> str:
        return self.servers.public.address

    @property
    def control(self) -> str:
        return self.servers.control.address

    @property
    def ca(self) -> Path:
        return self.election.data_dir / "ca.pem"

    @property
    def election_id(self) -> str:
        return self.election.manifest.election_id.hex()

    def role(self, role: str) -> Path:
        """The role dir `evote ca issue` writes (made once)."""
        out = self.directory / "roles" / role.replace(":", "-")
        if not out.exists():
            invoke("ca", "issue", "--data-dir", str(self.election.data_dir), "--role", role,
                   "--out", str(out))  # fmt: skip
        return out

    def key_file(self, name: str, key: SigningKey) -> Path:
        """A key file as `evote key new` writes it."""
        path = self.directory / f"{name}.key"
        if not path.exists():
            path.write_text(key.seed().hex() + "\n", encoding="ascii")
        return path

    def officials(self, *which: int) -> list[str]:
        arguments = []
        for number in which:
            key = self.election.officials[number - 1]
            arguments += ["--key", str(self.key_file(f"official-{number}", key))]
        return arguments

    def official(self, step: str, *arguments: str, ok: bool = True) -> str:
        return invoke(
            "official", step, "--server", self.public, "--ca", str(self.ca),
            "--election-id", self.election_id, *arguments, ok=ok,
        )  # fmt: skip

    def post_as(self, role: str, *files: Path, ok: bool = True) -> str:
        return invoke(
            "post", "--control", self.control, "--server", self.public, "--ca", str(self.ca),
            "--role-dir", str(self.role(role)), "--election-id", self.election_id,
            *map(str, files), ok=ok,
        )  # fmt: skip

    def posting(self) -> list[str]:
        return ["--control", self.control, "--role-dir", str(self.role("official"))]

    def registry(self, *arguments: str, ok: bool = True) -> str:
        role = str(self.role("credential-authority"))
        return invoke(
            "registry", *arguments, "--control", self.control, "--ca", str(self.ca),
            "--role-dir", role, ok=ok,
        )  # fmt: skip

    def ca_pem(self) -> bytes:
        return self.ca.read_bytes()

    def witness_round(self) -> None:
        """Each witness cosigns the newest checkpoint and hands its line in (witness role)."""
        election = self.election
        ca = setup_data_dir(election.data_dir)
        with BoardClient(secure_channel(self.public, self.ca_pem())) as board:
            latest = board.checkpoint()
        size = checkpoint_size(latest)
        for name, key in election.witnesses:
            witness = Witness(name, key, election.origin, election.log_key.verify_key)
            line = witness.add_checkpoint(latest, 0, [], int(time.time())).line().rstrip("\n")
            role = ca.issue_client(Role.for_witness(name))
            with ControlClient(secure_channel(self.control, self.ca_pem(), role)) as control:
                latest = control.add_cosignature(size, line)


@pytest.fixture
def running(tmp_path: Path) -> Iterator[Running]:
    """The manifest, the guardians' ceremony, the joint key and key checks on the board (no
    credentials, not open), served; the credential authority's key stays with the test."""
    election = stage_election(
        tmp_path / "election", "Officials CLI test", [REFERENCE_CONTESTS[0]], voters=0, until="keys"
    )
    servers = serve_election_tls(election.data_dir, election.log_key)
    try:
        yield Running(election, servers, tmp_path)
    finally:
        servers.stop(None)


def enroll_voters(running: Running) -> list[SigningKey]:
    """The authority imports the roll and closes registration; every voter enrolls first."""
    codes = running.directory / "codes.txt"
    codes.write_text("\n".join(CODES) + "\n\n", encoding="utf-8")
    imported = running.registry("import-roll", "--codes", str(codes))
    assert "3 codes read" in imported
    assert "3 eligible, 0 enrolled; registration is open" in imported
    assert all(code not in imported for code in CODES)
    voters = [SigningKey.generate() for _ in CODES]
    with RegistryClient(secure_channel(running.public, running.ca_pem())) as registry:
        for code, voter in zip(CODES, voters, strict=True):
            registry.enroll(code, voter.verify_key.encode())
    key_file = running.directory / "authority.key"
    key_file.write_text(running.election.authority.seed().hex() + "\n", encoding="ascii")
    closing = ["close", "--server", running.public, "--election-id", running.election_id]
    closed = running.registry(*closing, "--key", str(key_file))
    assert "3 eligible, 3 enrolled; registration is closed" in closed
    assert "3 credentials (receipt checked)" in closed
    again = running.registry(*closing, "--key", str(key_file))  # a retry: the same entry
    assert again.splitlines()[-1] == closed.splitlines()[-1]
    late = running.registry("import-roll", "--codes", str(codes), ok=False)
    assert "wrong phase" in late
    assert "registration is closed" in late
    return voters


def cast_ballots(running: Running, voters: list[SigningKey]) -> list[PlaintextBallot]:
    """Voter 0 casts; voter 1 challenges its device, casts, then votes again; voter 2 casts.
    Returns the choices that count (each voter's last)."""
    election = running.election
    manifest, context = election.manifest, election.context
    style = manifest.ballot_styles[0].id
    choices = Choices(b"officials")

    def entry(kind: str, body: bytes, voter: int) -> bytes:
        return election.entry(kind, body, [voters[voter]])

    finals = []
    with BallotBoxClient(secure_channel(running.public, running.ca_pem())) as box:
        for voter, sequences in ((0, (0,)), (1, (0, 1)), (2, (0,))):
            credential = voters[voter].verify_key
            if voter == 1:
                plaintext = random_plaintext(manifest, style, choices, "audit")
                made = encrypt_ballot(plaintext, context, credential, 0)
                reveal = AuditReveal(made.ballot, made.seed, plaintext.votes)
                box.audit(entry(kinds.AUDIT, reveal.to_tlv(), voter))
            for sequence in sequences:
                plaintext = random_plaintext(manifest, style, choices, f"{voter}/{sequence}")
                cast = encrypt_ballot(plaintext, context, credential, sequence)
                box.cast(entry(kinds.BALLOT, cast.ballot.to_tlv(), voter))
            finals.append(plaintext)
    return finals


def test_officials_run_an_election_from_the_command_line(running: Running) -> None:
    election = running.election
    manifest = election.manifest
    directory = running.directory
    voters = enroll_voters(running)

    # Closing before the opening is refused by the officials' client, with the way forward.
    early = running.official("close", *running.officials(1, 2), *running.posting(), ok=False)
    assert "not open, so it cannot close: open it first (`evote official open`)" in early

    # The opening, signed in turn by the two officials; a guardian cannot post it.
    first = directory / "open-1.entry"
    written = running.official("open", *running.officials(1), "--out", str(first))
    assert "1 of 2 required officials' signatures" in written
    assert "evote official sign" in written
    opening = directory / "open.entry"
    running.official("sign", str(first), *running.officials(2), "--out", str(opening))
    denied = running.post_as("guardian:1", opening, ok=False)
    assert "wrong role: the server refused posting the open entry" in denied
    assert "may not post a open entry" in denied
    posted = running.post_as("official", opening)
    assert "posted the open entry at index" in posted
    assert "already on the board" in running.post_as("official", opening)
    # A second, different opening reaches the server only through the bare client: refused.
    other = Entry.create(
        kinds.OPEN, manifest.election_id, PhaseMark("open", 1).to_tlv(), election.officials
    )
    official_role = load_role(running.role("official"))
    with (
        ControlClient(secure_channel(running.control, running.ca_pem(), official_role)) as poster,
        pytest.raises(ServerRefused, match=r"wrong phase: .*the election cannot open: it is open"),
        calling(running.control, "posting the open entry"),
    ):
        post_entry(poster, manifest, other)

    finals = cast_ballots(running, voters)
    closed = running.official("close", *running.officials(1, 2), *running.posting())
    assert "posted the close entry at index" in closed

    # The tally waits for the witnesses' cosignatures on the closed board.
    unsettled = running.official("tally", *running.officials(1, 2), *running.posting(), ok=False)
    assert "witness cosignatures yet" in unsettled
    running.witness_round()
    stranger = running.key_file("stranger", SigningKey.generate())
    refused = running.official(
        "tally", *running.officials(1), "--key", str(stranger), *running.posting(), ok=False
    )
    assert "not one of the manifest's officials' keys" in refused
    tally_1 = directory / "tally-1.entry"
    running.official("tally", *running.officials(1), "--out", str(tally_1))
    tally_file = directory / "tally.entry"
    running.official("sign", str(tally_1), *running.officials(2), "--out", str(tally_file))
    tally_entry = Entry.decode(tally_file.read_bytes())
    strangers = directory / "tally-stranger.entry"
    strangers.write_bytes(merge_signatures([tally_entry], [SigningKey.generate()]).encoded)
    assert "not the manifest's officials'" in running.post_as("official", strangers, ok=False)
    assert "posted the tally entry" in running.post_as("official", tally_file)
    tally = EncryptedTally.from_tlv(tally_entry.body, manifest)
    assert len(tally.counted) == len(voters)

    # Guardians 1 and 3 answer the tally; each posts its own file with its own role.
    shares = {}
    for guardian in (1, 3):
        answer = election.trustees[guardian - 1].decrypt_tally(election.context, tally.totals)
        path = directory / f"decryption-share-g{guardian}.entry"
        path.write_bytes(
            election.entry(
                kinds.DECRYPTION_SHARE, answer.to_tlv(), [election.guardians[guardian - 1]]
            )
        )
        shares[guardian] = path
        assert "posted the decryption-share entry" in running.post_as(f"guardian:{guardian}", path)

    # A result that is not what the shares decrypt to is never signed (nor posted).
    expected = expected_counts(manifest, finals)
    wrong = TallyResult(
        (1, 3), {part: tuple(c + 1 for c in counts) for part, counts in expected.items()}, ()
    )
    forged = directory / "forged-result.entry"
    forged.write_bytes(election.entry(kinds.RESULT, wrong.to_tlv(), election.officials[:1]))
    not_signed = directory / "forged-signed.entry"
    refusal = running.official(
        "sign", str(forged), *running.officials(2), "--out", str(not_signed), ok=False
    )
    assert "does not match what the guardians' shares on the board decrypt to" in refusal
    assert not not_signed.exists()

    result = running.official("result", *running.officials(1, 2), *running.posting())
    assert "posted the result entry at index" in result
    assert "3 ballots counted; guardians decrypting: 1, 3" in result
    assert "referendum:" in result

    record = directory / "record"
    export_record(running.servers.board, record)
    report = verify_record(record, election_id=manifest.election_id, workers=1)
    assert report.passed, report.failed_checks()
    entries = [Entry.decode(data) for data in running.servers.board.entries(0, 10_000)]
    posted_result = TallyResult.from_tlv(entries[-1].body, manifest)
    assert posted_result.counts == expected
    assert posted_result.guardians == (1, 3)


def test_post_checks_every_file_and_reports_an_unreachable_server(running: Running) -> None:
    directory = running.directory
    garbage = directory / "garbage.entry"
    garbage.write_bytes(b"not an entry")
    assert "is not a board entry" in running.post_as("official", garbage, ok=False)
    other = Entry.create(
        kinds.OPEN, bytes(32), PhaseMark("open", 1).to_tlv(), running.election.officials
    )
    foreign = directory / "foreign.entry"
    foreign.write_bytes(other.encoded)
    assert "belongs to election" in running.post_as("official", foreign, ok=False)
    # Without the credential list the opening waits for the credential authority.
    waiting = running.official("open", *running.officials(1, 2), *running.posting(), ok=False)
    assert "registration is not closed" in waiting
    assert "evote registry close" in waiting
    short = running.official("open", *running.officials(1), *running.posting(), ok=False)
    assert "1 official(s) signing, and the quorum is 2" in short

    with socket.socket() as probe:  # a port nobody listens on once the probe is closed
        probe.bind(("127.0.0.1", 0))
        address = f"127.0.0.1:{probe.getsockname()[1]}"
    down = invoke(
        "official", "open", "--server", address, "--ca", str(running.ca),
        "--election-id", running.election_id, *running.officials(1, 2), "--out",
        str(directory / "never.entry"), ok=False,
    )  # fmt: skip
    assert "is not reachable while reading the board (server down?)" in down
