"""The election's phases as a state machine driven against the real services.

Each case serves a fresh copy of one staged election (keys and ceremony staged once per
module) on the public and control ports over TLS, and Hypothesis calls, in any order: voters
enroll with their one-time codes; the credential authority closes registration; officials
open; voters cast, revote (sequence numbers 0, 1, 2, ... per credential), audit (a Benaloh
challenge), send a ballot again byte for byte, cast with a stale or a skipped sequence number,
cast another voter's ballot under their own credential, cast with a credential nobody
enrolled, cast before the opening and after the close; officials close, tally and publish the
result; guardians decrypt. A simple model says what each call must get: OK (and which receipt)
or the precise status of the refusal.

After every step: the board's signed checkpoint only grows and is consistent with the one
before (a consistency proof from the board), and each credential's last ballot on the board is
the last one the model accepted (the one the tally must count). At the end of every case the
election is driven to its result (whatever phase it reached), the result must equal the
model's count of each credential's last choice, and the exported record must pass every check
of the verifier.

Opening before the credential list is on the board is left out of the machine: the control
port accepts it today, which :func:`test_open_before_the_credential_list_is_refused` shows.
"""

from __future__ import annotations

import itertools
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

import grpc
import pytest
from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from evote.board.checkpoint import Checkpoint, open_checkpoint
from evote.board.entry import Entry
from evote.board.merkle import verify_consistency
from evote.client.channels import close_and_post_credentials
from evote.client.receipt import Receipt
from evote.crypto.signing import SigningKey
from evote.election.tally import EncryptedTally, TallyResult, encrypted_tally
from evote.mock.staging import StagedElection
from evote.record import kinds
from evote.record.kinds import PhaseMark
from evote.services.ca import Role
from tests.suite.adversary_election import OPTIONS, Choice, Services, ballot, copy_of, failed, stage
from tests.suite.sizing import FULL, size

VOTERS = 4
CODES = tuple(f"phase-code-{voter:02d}" for voter in range(VOTERS))
GUARDIANS = (1, 2, 3)
QUORUM = 2
OK = grpc.StatusCode.OK
PRECONDITION = grpc.StatusCode.FAILED_PRECONDITION
INVALID = grpc.StatusCode.INVALID_ARGUMENT
STRANGER = SigningKey.generate()

#: Voters' calls made while open before the officials may close (or every case would close
#: after a step or two of voting).
VOTING_STEPS = 6

voters = st.integers(0, VOTERS - 1)
choices = st.sampled_from([0, 1, None])

SHRINKING = tuple(Phase)
NO_SHRINKING = tuple(phase for phase in Phase if phase is not Phase.shrink)

#: What the machine did across all cases: calls by rule and status (the summary line).
CALLS: Counter[str] = Counter()


def outcome(call: Callable[[], Any]) -> tuple[grpc.StatusCode, Any]:
    """The status of ``call`` (OK with its answer, or the refusal's code)."""
    try:
        return OK, call()
    except grpc.RpcError as error:
        code: grpc.StatusCode = error.code()
        return code, error.details()


class PhasesMachine(RuleBasedStateMachine):
    """One election over the services against a model of what each call must get."""

    template: StagedElection
    scratch: Path
    cases = itertools.count()

    def __init__(self) -> None:
        super().__init__()
        staged = copy_of(self.template, self.scratch / f"case-{next(self.cases)}")
        self.staged = staged
        self.services = Services(staged)
        self.services.control(Role.credential_authority()).import_roll(CODES)
        # The model.
        self.phase = "registration"  # listed, open, closed, tallied, result
        self.enrolled: set[int] = set()
        self.listed: frozenset[int] = frozenset()
        self.next_sequence: dict[int, int] = {}
        self.accepted: dict[int, list[tuple[bytes, Receipt]]] = {}
        self.last_choice: dict[int, Choice] = {}
        self.last_leaf: dict[int, int] = {}
        self.shares: set[int] = set()
        self.posted_shares: set[bytes] = set()
        self.checkpoint: Checkpoint | None = None
        self.result: TallyResult | None = None
        self.marks = 0
        self.voting_steps = 0

    def expect(self, rule_name: str, expected: grpc.StatusCode, call: Callable[[], Any]) -> Any:
        code, answer = outcome(call)
        CALLS[f"{rule_name}:{code.name}"] += 1
        assert code == expected, f"{rule_name}: expected {expected.name}, got {code.name}: {answer}"
        return answer

    def credential(self, voter: int) -> SigningKey:
        return self.staged.credentials[voter]

    # --- registration and phases ----------------------------------------------------------------

    @initialize(
        enrolled=st.sets(voters, min_size=1),
        reach=st.sampled_from(["registration", "listed", "open", "open", "open"]),
        casts=st.lists(st.tuples(voters, choices), max_size=4),
    )
    def register(self, enrolled: set[int], reach: str, casts: list[tuple[int, Choice]]) -> None:
        """Most cases start with voting open and some ballots cast (the rules below can still
        do any of it, in any order)."""
        for voter in sorted(enrolled):
            self.enroll(voter)
        if reach != "registration":
            self.close_registration()
        if reach == "open":
            self.open()
            for voter, choice in casts:
                self.cast_one(voter, choice)

    @rule(voter=voters)
    def enroll(self, voter: int) -> None:
        expected = OK if self.phase == "registration" else PRECONDITION
        status = self.expect(
            "enroll",
            expected,
            lambda: self.services.registry.enroll(
                CODES[voter], self.credential(voter).verify_key.encode()
            ),
        )
        if expected == OK:
            self.enrolled.add(voter)
            assert status.enrolled == len(self.enrolled)
            assert status.eligible == VOTERS

    @precondition(lambda self: self.enrolled)
    @rule()
    def close_registration(self) -> None:
        # Closing again is a retry: the same list, OK.
        status = self.expect(
            "close_registration",
            OK,
            lambda: close_and_post_credentials(
                self.services.control(Role.credential_authority()),
                self.services.staged.manifest,
                self.services.staged.authority,
            )[0],
        )
        if self.phase == "registration":
            self.phase = "listed"
            self.listed = frozenset(self.enrolled)
        assert status.closed
        assert status.enrolled == len(self.listed)

    def mark(self, phase: Literal["open", "close"]) -> bytes:
        """An officials' mark with a time of its own: a second one is not a retry of the first
        (the same bytes again would be, and would get the first one's receipt)."""
        self.marks += 1
        body = PhaseMark(phase, int(time.time()) + self.marks).to_tlv()
        return self.staged.entry(phase, body, self.staged.officials)

    @precondition(lambda self: self.phase != "registration")
    @rule()
    def open(self) -> None:
        expected = OK if self.phase == "listed" else PRECONDITION
        entry = self.mark("open")
        self.expect("open", expected, lambda: self.services.official_post(entry))
        if expected == OK:
            self.phase = "open"

    @precondition(lambda self: self.phase != "open" or self.voting_steps >= VOTING_STEPS)
    @rule()
    def close(self) -> None:
        expected = OK if self.phase == "open" else PRECONDITION
        entry = self.mark("close")
        self.expect("close", expected, lambda: self.services.official_post(entry))
        if expected == OK:
            self.services.witness_round()
            self.phase = "closed"

    @rule()
    def tally(self) -> None:
        if self.phase == "closed":
            self.expect("tally", OK, self.services.tally)
            self.phase = "tallied"
            return
        # Out of place (before the close, or a second one): refused, whatever it holds (these
        # bytes are new: the same bytes as the posted tally would be a retry).
        self.marks += 1
        empty = encrypted_tally(self.staged.manifest, {})
        other = EncryptedTally((10_000 + self.marks,), empty.totals)
        entry = self.staged.entry(kinds.TALLY, other.to_tlv(), self.staged.officials)
        self.expect("tally", PRECONDITION, lambda: self.services.official_post(entry))

    @rule(guardian=st.sampled_from(GUARDIANS))
    def decrypt(self, guardian: int) -> None:
        """A guardian's shares of the posted tally (of an empty one before there is any)."""
        posted = self.phase in ("tallied", "result")
        tally = None if posted else encrypted_tally(self.staged.manifest, {})
        entry = self.services.shares(guardian, tally)
        if entry in self.posted_shares:
            # The same bytes again (shares of an empty tally are unproved, so the same every
            # time) are a retry: OK, with the first receipt.
            expected = OK
        elif self.phase == "tallied" and guardian not in self.shares:
            expected = OK
        else:
            expected = PRECONDITION
        client = self.services.control(Role.for_guardian(guardian))
        self.expect("decrypt", expected, lambda: client.post(entry))
        if expected == OK:
            self.shares.add(guardian)
            self.posted_shares.add(entry)

    @precondition(lambda self: self.phase == "tallied" and len(self.shares) >= QUORUM)
    @rule()
    def publish_result(self) -> None:
        self.result = self.expect("result", OK, self.services.result)
        self.phase = "result"
        self.check_result()

    # --- voters ---------------------------------------------------------------------------------

    def _cast_expected(self, voter: int | None) -> grpc.StatusCode:
        if self.phase != "open":
            return PRECONDITION
        return OK if voter in self.listed else INVALID

    @rule(casts=st.lists(st.tuples(voters, choices), min_size=1, max_size=3))
    def cast(self, casts: list[tuple[int, Choice]]) -> None:
        """Casts, or revotes where the voter cast before (the next sequence number)."""
        for voter, choice in casts:
            self.cast_one(voter, choice)

    def cast_one(self, voter: int, choice: Choice) -> None:
        self.voting_steps += self.phase == "open"
        sequence = self.next_sequence.get(voter, 0)
        entry = ballot(self.staged, self.credential(voter), choice, sequence)
        expected = self._cast_expected(voter)
        name = "revote" if sequence else "cast"
        receipt = self.expect(name, expected, lambda: self.services.cast(entry))
        if expected == OK:
            self.next_sequence[voter] = sequence + 1
            self.accepted.setdefault(voter, []).append((entry, receipt))
            self.last_choice[voter] = choice
            self.last_leaf[voter] = receipt.leaf_index

    @rule(choice=choices)
    def cast_unlisted(self, choice: Choice) -> None:
        self.voting_steps += self.phase == "open"
        entry = ballot(self.staged, STRANGER, choice)
        self.expect("cast_unlisted", self._cast_expected(None), lambda: self.services.cast(entry))

    @precondition(lambda self: self.accepted)
    @rule(data=st.data())
    def replay(self, data: st.DataObject) -> None:
        """The same bytes again (a lost answer): the same receipt, in any phase."""
        voter = data.draw(st.sampled_from(sorted(self.accepted)))
        entry, first = data.draw(st.sampled_from(self.accepted[voter]))
        again = self.expect("replay", OK, lambda: self.services.cast(entry))
        assert (again.leaf_index, again.tracking_code) == (first.leaf_index, first.tracking_code)

    @precondition(lambda self: self.accepted)
    @rule(data=st.data(), choice=choices, skip=st.booleans())
    def wrong_sequence(self, data: st.DataObject, choice: Choice, skip: bool) -> None:
        """Fresh bytes with a sequence number already used, or one ahead of the next."""
        voter = data.draw(st.sampled_from(sorted(self.accepted)))
        following = self.next_sequence[voter]
        sequence = following + 1 if skip else data.draw(st.integers(0, following - 1))
        entry = ballot(self.staged, self.credential(voter), choice, sequence)
        expected = INVALID if self.phase == "open" else PRECONDITION
        details = self.expect("wrong_sequence", expected, lambda: self.services.cast(entry))
        if expected == INVALID:
            assert "sequence" in details

    @precondition(lambda self: self.accepted and len(self.listed) > 1)
    @rule(data=st.data())
    def copied_ballot(self, data: st.DataObject) -> None:
        """Another voter's ballot body, signed with one's own listed credential."""
        owner = data.draw(st.sampled_from(sorted(self.accepted)))
        thief = data.draw(st.sampled_from(sorted(self.listed - {owner})))
        original, _ = data.draw(st.sampled_from(self.accepted[owner]))
        body = Entry.decode(original).body
        entry = self.staged.entry(kinds.BALLOT, body, [self.credential(thief)])
        expected = INVALID if self.phase == "open" else PRECONDITION
        self.expect("copied_ballot", expected, lambda: self.services.cast(entry))

    @rule(voter=voters)
    def audit(self, voter: int) -> None:
        """A Benaloh challenge: the device reveals the seed; nothing is counted."""
        self.voting_steps += self.phase == "open"
        entry = self.staged.audit(voter)
        self.expect("audit", self._cast_expected(voter), lambda: self.services.box.audit(entry))

    # --- invariants and the end -----------------------------------------------------------------

    @invariant()
    def board_only_grows(self) -> None:
        manifest = self.staged.manifest
        note = self.services.board.checkpoint()
        latest, _ = open_checkpoint(note, manifest.log_origin, manifest.log_key)
        before = self.checkpoint
        if before is not None:
            assert latest.size >= before.size
            proof = (
                self.services.board.consistency_proof(before.size, latest.size)
                if latest.size > before.size
                else []
            )
            verify_consistency(before.size, latest.size, before.root, latest.root, proof)
        self.checkpoint = latest

    @invariant()
    def last_ballots_are_the_last_accepted(self) -> None:
        last: dict[int, int] = {}
        owners = {self.credential(v).verify_key: v for v in range(VOTERS)}
        for index, data in enumerate(self.services.board.all_entries()):
            entry = Entry.decode(data)
            if entry.kind == kinds.BALLOT:
                last[owners[entry.signers[0]]] = index
        assert last == self.last_leaf

    def check_result(self) -> None:
        """The result counts each credential's last choice, as the model has it."""
        assert self.result is not None
        expected = [0] * len(OPTIONS)
        for choice in self.last_choice.values():
            if choice is not None:
                expected[choice] += 1
        assert list(next(iter(self.result.counts.values()))) == expected

    def finish(self) -> None:
        """Drive the election to its result from wherever the case left it, then verify."""
        if self.phase == "registration":
            if not self.enrolled:
                self.enroll(0)
            self.close_registration()
        if self.phase == "listed":
            self.open()
        if self.phase == "open":
            self.close()
        if self.phase == "closed":
            self.tally()
        for guardian in GUARDIANS:
            if (
                self.phase == "tallied"
                and len(self.shares) < QUORUM
                and guardian not in self.shares
            ):
                self.decrypt(guardian)
        if self.phase == "tallied":
            self.publish_result()
        record = self.scratch / f"record-{next(self.cases)}"
        report = self.services.verify(record)
        assert report.passed, failed(report)
        CALLS["verified records"] += 1

    def teardown(self) -> None:
        try:
            self.finish()
        finally:
            self.services.stop()


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> StagedElection:
    return stage(tmp_path_factory.mktemp("phases") / "staged", VOTERS, until="keys")


@pytest.mark.slow
def test_the_phases_against_the_model(template: StagedElection, tmp_path: Path) -> None:
    PhasesMachine.template = template
    PhasesMachine.scratch = tmp_path
    CALLS.clear()
    run_state_machine_as_test(
        PhasesMachine,
        settings=settings(
            max_examples=size(10, 200),
            stateful_step_count=size(25, 60),
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow],
            # Each step talks to a server: shrinking a failure can take Hypothesis's whole
            # five-minute shrinking budget, which make test cannot afford (make suite can).
            phases=SHRINKING if FULL else NO_SHRINKING,
        ),
    )
    refused = sum(n for call, n in CALLS.items() if ":" in call and not call.endswith(":OK"))
    accepted = sum(n for call, n in CALLS.items() if call.endswith(":OK"))
    print(
        f"\nphases machine: {CALLS['verified records']} elections to a verified result, "
        f"{accepted} calls accepted and {refused} refused as the model said; "
        + ", ".join(f"{call} {n}" for call, n in sorted(CALLS.items()) if ":" in call)
    )
    assert CALLS["verified records"] > 0


def test_open_before_the_credential_list_is_refused(
    template: StagedElection, tmp_path: Path
) -> None:
    services = Services(copy_of(template, tmp_path / "election"))
    try:
        code, _ = outcome(lambda: services.mark("open"))
        assert code == PRECONDITION
    finally:
        services.stop()
