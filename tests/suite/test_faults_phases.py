"""SIGKILL the deployed services at random moments of every phase but casting; lose nothing.

The server under test is the real ``evote serve`` in a subprocess (TLS on the public port,
mutual TLS with role certificates on the control port, the same two loopback ports across every
restart), as in the casting crash test (``tests/integration/test_ballot_box_crash.py``, which
covers casting). One whole election goes through it, each party acting as the real one does:

a. the key ceremony: every guardian's entries (transport key, commitment, key and proofs,
   sealed shares), the joint key and every key check, posted through Control;
b. registration: the credential authority imports the roll, voters enroll with one-time codes
   on the public port, and the authority closes registration and posts the credential list
   it signed over the one CloseRegistration answers;
c. the officials' open (then a few ballots, not killed: the crash test's part), the close, and
   the witnesses' cosignatures of the closing checkpoint handed in through Control;
d. the tally, every guardian's decryption shares and the result, then the final cosignatures.

A seeded plan spreads each phase's kills over its actions; for a planned kill a timer SIGKILLs
the server at a random moment up to the recent actions' median latency after the request goes
out, so kills land before, during and just after the server's work (kills left over when a
phase's last action was answered first land between actions). A failed action waits for a
restart on the same ports and is sent again, byte for byte: Control answers an entry already on
the board with its receipt, enrollment and the roll import are idempotent, and
CloseRegistration answers the same credential list (signed again to the same bytes). After
every restart the witnesses check that the log only grew.

At the end every acknowledged entry is on the board exactly once, at the index its receipt
names, each receipt checks offline and is consistent with the final checkpoint, every
acknowledged enrollment is on the credential list, every acknowledged cosignature is on its
checkpoint, every acknowledged entry sent once more is answered with its own leaf and appends
nothing, and the verifier passes all its checks on the exported record. The seed of the plan is
printed (``EVOTE_FAULTS_SEED`` repeats it; the exact moments depend on timing). The negative
controls run the same final checks over doctored views of the final board: an acknowledged
entry lost, one stored twice, a cosignature dropped; each must be named.
"""

from __future__ import annotations

import dataclasses
import os
import random
import subprocess
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final, TypeVar

import grpc
import pytest

from evote.board.checkpoint import Checkpoint, open_checkpoint
from evote.board.entry import Entry
from evote.board.export import export_record
from evote.board.merkle import verify_consistency
from evote.board.witness import Witness
from evote.ceremony.messages import JointKey
from evote.ceremony.rounds import post_key_checks, run_ceremony
from evote.client.channels import RegistrationStatus, close_and_post_credentials
from evote.client.receipt import Receipt, ReceiptRefused, check_receipt
from evote.crypto.signing import SigningKey
from evote.election.ballot import EncryptedBallot
from evote.election.manifest import Manifest
from evote.election.tally import encrypted_tally, tally_result
from evote.errors import EvoteError
from evote.mock.election import mock_manifest
from evote.mock.staging import StagedElection
from evote.record import kinds
from evote.record.ballot_box import parse_submission
from evote.record.kinds import CredentialList
from evote.services.ca import Role
from evote.services.server import open_board
from evote.services.setup import create_election_dir
from evote.verify.runner import verify_record
from tests.integration.test_services import CONTESTS
from tests.suite.served import TRANSIENT, Served, follow, kill_server, stop_server
from tests.suite.sizing import size as sized

#: Kills per phase (small / full form).
KILLS_PER_PHASE: Final = sized(2, 24)
PHASES: Final = ("ceremony", "registration", "close", "tally")
VOTERS: Final = sized(4, 12)
GUARDIANS: Final = 3
#: Seconds an action may take before the party gives up and sends it again.
ACTION_DEADLINE: Final = 10.0
#: Upper bound on a restart loop (never asserted as a timing).
RETRIES: Final = 200
#: The seed of the kill schedule (printed, so that a failing run can be repeated).
SEED: Final = int(os.environ.get("EVOTE_FAULTS_SEED", "0")) or int.from_bytes(os.urandom(4))

T = TypeVar("T")


@dataclass
class Acknowledged:
    """An entry the board acknowledged with a receipt."""

    phase: str
    what: str
    entry: bytes
    receipt: Receipt
    #: Who posted it on the control port (None: a ballot cast on the public port).
    role: Role | None = None


@dataclass
class Faults:
    """Drives one election through a server that is SIGKILLed at random moments."""

    served: Served
    witnesses: list[Witness]
    chooser: random.Random
    child: subprocess.Popen[bytes] | None = None
    kills: Counter[str] = field(default_factory=Counter)
    #: Kills that made the action in flight fail (the rest landed between actions).
    in_flight: Counter[str] = field(default_factory=Counter)
    #: Retried actions whose entry was already on the board (committed, then the kill).
    answered_again: Counter[str] = field(default_factory=Counter)
    actions: Counter[str] = field(default_factory=Counter)
    acknowledged: list[Acknowledged] = field(default_factory=list)
    cosignatures: list[tuple[int, str]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    #: Board size seen by the witnesses at each start.
    sizes_at_start: list[int] = field(default_factory=list)
    #: The board as read at the end (set by :func:`run_election`).
    final: FinalView | None = None
    _latencies: list[float] = field(default_factory=list)
    _planned: dict[str, list[int]] = field(default_factory=dict)

    def start(self) -> None:
        self.child = self.served.start()
        self.sizes_at_start.append(
            follow(self.served, self.witnesses, f"start {self.served.starts}", self.problems)
        )

    def stop(self) -> None:
        if self.child is not None:
            stop_server(self.child)
            self.child = None

    def plan(self, phase: str, actions: int) -> None:
        """Spread the phase's kills over its ``actions`` (an action may get several)."""
        slots = [self.chooser.randrange(actions) for _ in range(KILLS_PER_PHASE)]
        self._planned[phase] = sorted(slots)

    def _kill_now(self, phase: str) -> bool:
        planned = self._planned.get(phase, [])
        if planned and planned[0] <= self.actions[phase]:
            planned.pop(0)
            return True
        return False

    def _window(self) -> float:
        """Kills are timed up to the median latency of the recent actions after the request
        goes out: most land while the server works on it, some just before or after."""
        recent = sorted(self._latencies[-9:])
        return recent[len(recent) // 2] if recent else 0.02

    def act(self, phase: str, what: str, call: Callable[[], T]) -> T:
        """Run ``call`` until it is answered, killing and restarting the server as planned;
        a transient failure is retried after the restart, byte for byte."""
        for _ in range(RETRIES):
            self.ensure_running()  # the last kill may have landed after the last answer
            timer: threading.Timer | None = None
            child = self.child
            if child is not None and self._kill_now(phase):
                timer = threading.Timer(
                    self.chooser.uniform(0.0, self._window()), self._kill, (phase, child)
                )
            started = time.perf_counter()
            try:
                if timer is not None:
                    timer.start()
                answer = call()
                latency = time.perf_counter() - started
            except grpc.RpcError as error:
                if error.code() not in TRANSIENT:
                    raise
                self._after_failure(phase, timer)
                continue
            finally:
                if timer is not None:
                    timer.join()  # an answer before the kill: the kill lands just after it
            self._latencies.append(latency)
            self.actions[phase] += 1
            return answer
        raise AssertionError(f"{phase}: {what} was never answered")

    def settle(self, phase: str) -> None:
        """The phase's kills planned on its last action that its answer left unused (several
        may fall on one action): each lands now, between the phases' actions."""
        for _ in self._planned.pop(phase, []):
            self.ensure_running()
            if self.child is not None:
                self._kill(phase, self.child)
        self.ensure_running()

    def ensure_running(self) -> None:
        """Restart the server if a kill landed after the last action's answer."""
        if self.child is None or self.child.poll() is not None:
            self.stop()
            self.start()

    def _kill(self, phase: str, child: subprocess.Popen[bytes]) -> None:
        kill_server(child)
        self.kills[phase] += 1

    def _after_failure(self, phase: str, timer: threading.Timer | None) -> None:
        """The server is down (killed by this action's timer, or before it): restart it."""
        if timer is not None:
            timer.join()  # a failure before the timer fired: let it fire, so the kill counts
            self.in_flight[phase] += 1
        if self.child is not None and self.child.poll() is None:
            time.sleep(0.05)  # a transient failure of a live server: just send again
            return
        self.ensure_running()

    def post(self, phase: str, what: str, role: Role, entry: bytes) -> Receipt:
        """Post an entry through Control as ``role`` until acknowledged; keep its receipt."""
        restarts = self.served.starts

        def call() -> Receipt:
            with self.served.control_client(role, timeout=ACTION_DEADLINE) as control:
                return control.post(entry)

        receipt = self.act(phase, what, call)
        if self.served.starts > restarts and receipt.leaf_index < self.sizes_at_start[-1]:
            self.answered_again[phase] += 1
        self.acknowledged.append(Acknowledged(phase, what, entry, receipt, role))
        return receipt


@dataclass(frozen=True)
class Parties:
    """A new election's data dir (its manifest as entry 0, as ``evote setup`` makes it) and
    every party's keys."""

    data_dir: Path
    manifest: Manifest
    log_key: SigningKey
    officials: tuple[SigningKey, ...]
    authority: SigningKey
    guardians: tuple[SigningKey, ...]
    witnesses: tuple[tuple[str, SigningKey], ...]
    credentials: tuple[SigningKey, ...]

    def entry(self, kind: str, body: bytes, signers: Sequence[SigningKey]) -> bytes:
        return Entry.create(kind, self.manifest.election_id, body, signers).encoded


def make_parties(directory: Path) -> Parties:
    officials = (SigningKey.generate(), SigningKey.generate())
    authority = SigningKey.generate()
    guardians = tuple(SigningKey.generate() for _ in range(GUARDIANS))
    log_key = SigningKey.generate()
    witnesses = tuple((f"witness-{i}.evote.test", SigningKey.generate()) for i in (1, 2))
    manifest = mock_manifest(
        "Faults in every phase",
        CONTESTS,
        officials=officials,
        official_quorum=2,
        authority=authority,
        guardians=guardians,
        guardian_quorum=2,
        log_key=log_key,
        witnesses=witnesses,
        witness_quorum=2,
    )
    entry = Entry.create(kinds.MANIFEST, manifest.election_id, manifest.to_tlv(), officials)
    create_election_dir(directory, entry.encoded, log_key)
    credentials = tuple(SigningKey.generate() for _ in range(VOTERS))
    return Parties(
        directory, manifest, log_key, officials, authority, guardians, witnesses, credentials
    )


def ceremony_phase(faults: Faults, parties: Parties) -> StagedElection:
    """a. Every guardian's ceremony entries, the joint key, every key check, through Control.
    Returns the election as it stands after its key ceremony."""
    manifest = parties.manifest
    faults.plan("ceremony", 5 * GUARDIANS + 1)

    def as_guardian(kind: str, body: bytes, guardian: int) -> None:
        entry = parties.entry(kind, body, [parties.guardians[guardian - 1]])
        faults.post(
            "ceremony", f"{kind} of guardian {guardian}", Role.for_guardian(guardian), entry
        )

    ceremony = run_ceremony(manifest, as_guardian)
    context = ceremony.outcome.require_context()
    joint = JointKey(context.joint_key, context.extended_hash, context.verification_keys)
    signers = [*parties.officials, *parties.guardians]
    joint_entry = parties.entry(kinds.JOINT_KEY, joint.to_tlv(), signers)
    faults.post("ceremony", "joint key", Role.official(), joint_entry)
    post_key_checks(ceremony.trustees, context, as_guardian)
    faults.settle("ceremony")
    return StagedElection(
        parties.data_dir,
        manifest,
        context,
        parties.log_key,
        parties.officials,
        parties.authority,
        parties.guardians,
        ceremony.trustees,
        parties.witnesses,
        parties.credentials,
    )


def registration_phase(faults: Faults, election: StagedElection) -> None:
    """b. The roll, every voter's enrollment (public port), the credential list."""
    served = faults.served
    faults.plan("registration", VOTERS + 2)
    codes = [f"code-{voter}-{faults.chooser.getrandbits(64):016x}" for voter in range(VOTERS)]
    authority = Role.credential_authority()

    def import_roll() -> RegistrationStatus:
        with served.control_client(authority, timeout=ACTION_DEADLINE) as control:
            return control.import_roll(codes)

    faults.act("registration", "import the roll", import_roll)
    for code, credential in zip(codes, election.credentials, strict=True):

        def enroll(code: str = code, credential: SigningKey = credential) -> RegistrationStatus:
            with served.registry_client(timeout=ACTION_DEADLINE) as registry:
                return registry.enroll(code, credential.verify_key.encode())

        faults.act("registration", "enroll", enroll)

    def close_registration() -> RegistrationStatus:
        with served.control_client(authority, timeout=ACTION_DEADLINE) as control:
            closed, _ = close_and_post_credentials(control, election.manifest, election.authority)
            return closed

    status = faults.act("registration", "close registration", close_registration)
    if (status.enrolled, status.closed) != (VOTERS, True):
        faults.problems.append(f"registration closed with {status}")
    faults.settle("registration")


def close_phase(faults: Faults, election: StagedElection) -> dict[int, EncryptedBallot[Any, Any]]:
    """c. The open, a few ballots (not killed here), the close, the witnesses' cosignatures.
    Returns the admitted ballots by board index."""
    faults.plan("close", 2 + len(election.witnesses))
    officials = Role.official()
    faults.post("close", "open", officials, election.mark("open", election.officials))
    cast = {}
    faults.ensure_running()
    with faults.served.ballot_box_client(timeout=ACTION_DEADLINE) as box:
        for voter in range(VOTERS):
            ballot = election.ballot(voter)
            receipt = box.cast(ballot)
            faults.acknowledged.append(Acknowledged("voting", "ballot", ballot, receipt))
            cast[receipt.leaf_index] = parse_submission(ballot, election.context).ballot
    faults.post("close", "close", officials, election.mark("close", election.officials))
    cosign(faults, "close")
    faults.settle("close")
    return cast


def tally_phase(
    faults: Faults, election: StagedElection, cast: dict[int, EncryptedBallot[Any, Any]]
) -> None:
    """d. The tally, every guardian's decryption shares, the result, the final cosignatures."""
    faults.plan("tally", 2 + GUARDIANS + len(election.witnesses))
    context = election.context
    officials = Role.official()
    tally = encrypted_tally(context, cast)
    tally_entry = election.entry(kinds.TALLY, tally.to_tlv(), election.officials)
    faults.post("tally", "tally", officials, tally_entry)
    shares = {}
    for trustee in election.trustees:
        shares[trustee.index] = share = trustee.decrypt_tally(context, tally.totals)
        signer = election.guardians[trustee.index - 1]
        faults.post(
            "tally",
            f"decryption shares of guardian {trustee.index}",
            Role.for_guardian(trustee.index),
            election.entry(kinds.DECRYPTION_SHARE, share.to_tlv(), [signer]),
        )
    result = tally_result(context, tally, shares, registered=VOTERS)
    result_entry = election.entry(kinds.RESULT, result.to_tlv(), election.officials)
    faults.post("tally", "result", officials, result_entry)
    cosign(faults, "tally")
    faults.settle("tally")


def run_election(tmp_path: Path, chooser: random.Random) -> tuple[Faults, StagedElection, Path]:
    """The whole election through the killed server; the exported record's directory."""
    parties = make_parties(tmp_path / "data")
    served = Served(
        tmp_path,
        parties.data_dir,
        parties.log_key,
        parties.manifest.log_origin,
        proof_workers=0,
    )
    witnesses = [
        Witness(name, key, parties.manifest.log_origin, parties.log_key.verify_key)
        for name, key in parties.witnesses
    ]
    faults = Faults(served, witnesses, chooser)
    faults.start()
    try:
        election = ceremony_phase(faults, parties)
        registration_phase(faults, election)
        cast = close_phase(faults, election)
        tally_phase(faults, election, cast)
        faults.problems += send_again(faults)
        faults.final = read_final(faults, election)
        faults.problems += check_board(faults, election, faults.final)
    finally:
        faults.stop()
    record = tmp_path / "record"
    board, _ = open_board(parties.data_dir, parties.log_key)
    try:
        export_record(board, record)
    finally:
        board.close()
    return faults, election, record


def cosign(faults: Faults, phase: str) -> None:
    """Each witness checks the newest checkpoint against the tree it cosigned last and hands
    its cosignature in through Control (a retry after a kill sends the same line)."""
    served = faults.served
    for witness in faults.witnesses:
        # Read afresh for each witness: a restart makes every witness follow the board.
        faults.ensure_running()
        with served.board_client() as board:
            note = board.checkpoint()
            size = open_checkpoint(note, served.origin, served.log_verify_key)[0].size
            old = witness.state.size
            proof = board.consistency_proof(old, size) if 0 < old < size else []
        timestamp = max(int(time.time()), witness.state.timestamp)
        try:
            signature = witness.add_checkpoint(note, old, proof, timestamp)
        except EvoteError as error:
            faults.problems.append(f"{phase}: {witness.name} refused size {size}: {error}")
            continue
        line = signature.line().rstrip("\n")
        role = Role.for_witness(witness.name)

        def hand_in(role: Role = role, line: str = line, size: int = size) -> str:
            with served.control_client(role, timeout=ACTION_DEADLINE) as control:
                return control.add_cosignature(size, line)

        faults.act(phase, f"cosignature of {witness.name}", hand_in)
        faults.cosignatures.append((size, line))


def send_again(faults: Faults) -> list[str]:
    """Every acknowledged entry sent once more, as a party whose answer was lost would: the
    answer must be the entry's own leaf, and nothing may be appended."""
    problems = []
    with faults.served.board_client() as board:
        before = board.checkpoint()
    for item in faults.acknowledged:
        if item.role is None:
            with faults.served.ballot_box_client(timeout=ACTION_DEADLINE) as box:
                again = box.cast(item.entry)
        else:
            with faults.served.control_client(item.role, timeout=ACTION_DEADLINE) as control:
                again = control.post(item.entry)
        if again.leaf_index != item.receipt.leaf_index:
            problems.append(
                f"{item.what} sent again was answered leaf {again.leaf_index}, not its "
                f"{item.receipt.leaf_index}"
            )
    with faults.served.board_client() as board:
        if board.checkpoint() != before:
            problems.append("sending acknowledged entries again changed the board")
    return problems


@dataclass(frozen=True)
class FinalView:
    """The board at the end, as a client reads it: every entry, the final signed checkpoint,
    consistency proofs to it from each receipt's checkpoint, the cosigned checkpoints."""

    entries: tuple[bytes, ...]
    final: Checkpoint
    proofs: dict[int, list[bytes]]
    notes: dict[int, str]


def read_final(faults: Faults, election: StagedElection) -> FinalView:
    manifest = election.manifest
    faults.ensure_running()
    with faults.served.board_client() as board:
        entries = tuple(board.all_entries())
        final, _ = open_checkpoint(board.checkpoint(), manifest.log_origin, manifest.log_key)
        notes = {size: board.checkpoint(size) for size, _ in faults.cosignatures}
        proofs = {}
        for item in faults.acknowledged:
            note = item.receipt.checkpoint
            size = open_checkpoint(note, manifest.log_origin, manifest.log_key)[0].size
            if size not in proofs and size < final.size:
                proofs[size] = board.consistency_proof(size, final.size)
    return FinalView(entries, final, proofs, notes)


LOST: Final = "acknowledged but not on the board at its index"


def check_board(faults: Faults, election: StagedElection, view: FinalView) -> list[str]:
    """Every acknowledged entry once at its index, every receipt checks offline and is
    consistent with the final checkpoint, every enrolled credential is listed, every
    acknowledged cosignature is on its checkpoint once: the problems found."""
    manifest = election.manifest
    problems = []
    counts = Counter(view.entries)
    final = view.final
    for item in faults.acknowledged:
        receipt = item.receipt
        try:
            check_receipt(receipt, manifest, item.entry)
        except ReceiptRefused as error:
            problems.append(f"{item.phase}: the receipt for {item.what} is refused: {error}")
            continue
        index = receipt.leaf_index
        if index >= len(view.entries) or view.entries[index] != item.entry:
            problems.append(f"{item.phase}: {item.what} {LOST} {index}")
        elif counts[item.entry] != 1:
            problems.append(f"{item.phase}: {item.what} is on the board {counts[item.entry]} times")
        checkpoint, _ = open_checkpoint(receipt.checkpoint, manifest.log_origin, manifest.log_key)
        if checkpoint.size > final.size:
            problems.append(f"{item.phase}: {item.what}'s checkpoint is beyond the final one")
        elif checkpoint.size < final.size:
            try:
                verify_consistency(
                    checkpoint.size,
                    final.size,
                    checkpoint.root,
                    final.root,
                    view.proofs[checkpoint.size],
                )
            except EvoteError as error:
                problems.append(f"{item.phase}: {item.what}'s checkpoint is inconsistent: {error}")
    lists = [entry for entry in map(Entry.decode, view.entries) if entry.kind == kinds.CREDENTIALS]
    if len(lists) != 1:
        problems.append(f"{len(lists)} credential lists on the board")
    else:
        listed = set(CredentialList.from_tlv(lists[0].body).credentials)
        if missing := [c for c in election.credentials if c.verify_key not in listed]:
            problems.append(f"{len(missing)} acknowledged enrollments are not on the list")
    for size, line in faults.cosignatures:
        if view.notes[size].count(f"\n{line}\n") != 1:
            problems.append(f"an acknowledged cosignature of checkpoint {size} is not on it once")
    return problems


@pytest.mark.slow
def test_sigkill_in_every_phase_loses_no_acknowledged_action(tmp_path: Path) -> None:
    started = time.monotonic()
    faults, election, record = run_election(tmp_path, random.Random(SEED))
    assert faults.problems == [], f"seed {SEED}: {faults.problems}"
    for phase in PHASES:
        assert faults.kills[phase] >= KILLS_PER_PHASE, (SEED, phase, faults.kills)
    assert sum(faults.in_flight.values()) > 0, f"seed {SEED}: no kill hit an action in flight"
    report = verify_record(record, election_id=election.manifest.election_id, workers=1)
    failures = [failure.message for check in report.checks for failure in check.failures]
    assert report.passed, (SEED, report.statuses(), failures[:5])
    per_phase = ", ".join(
        f"{phase} {faults.kills[phase]} ({faults.in_flight[phase]} in flight, "
        f"{faults.answered_again[phase]} retried posts found on the board)"
        for phase in PHASES
    )
    print(
        f"phases (seed {SEED}): {sum(faults.kills.values())} kills: {per_phase}; "
        f"{faults.served.starts} starts; {len(faults.acknowledged)} acknowledged entries and "
        f"{len(faults.cosignatures)} cosignatures, each on the board once; verify: "
        f"{len(report.checks)} checks pass on {report.entries} entries; "
        f"{time.monotonic() - started:.1f} s"
    )
    negative_controls(faults, election)


def negative_controls(faults: Faults, election: StagedElection) -> None:
    """The same checks over doctored views of the final board must name each fault: an
    acknowledged entry lost (the entries after it move up), one stored twice, a cosignature
    missing from its checkpoint."""
    view = faults.final
    assert view is not None
    chooser = random.Random(SEED)
    lost = chooser.choice([item for item in faults.acknowledged if item.phase != "voting"])
    entries = list(view.entries)
    entries.remove(lost.entry)
    found = check_board(faults, election, dataclasses.replace(view, entries=tuple(entries)))
    assert any(LOST in problem and lost.what in problem for problem in found), found[:3]
    twice = (*view.entries, lost.entry)
    found = check_board(faults, election, dataclasses.replace(view, entries=twice))
    assert any("2 times" in problem for problem in found), found[:3]
    size, line = faults.cosignatures[-1]
    notes = {**view.notes, size: view.notes[size].replace(f"{line}\n", "")}
    found = check_board(faults, election, dataclasses.replace(view, notes=notes))
    assert any("cosignature" in problem for problem in found), found[:3]
