"""Rehearsing a ceremony script with simulated parties on an in-memory board.

:func:`run_script` plays every role of a :class:`~evote.ceremony.script.Script`: officials,
guardians, the credential authority and voters get fresh keys; the manifest names them and
the script's contests preset. Each step's action runs against a :class:`BulletinBoard` over a
:class:`MemoryStore`; the runner then compares what it observed with the step's
expectations, and records the entries the step posted (leaf index, kind, tracking code) and
the checkpoint after it. The first step that fails (an expectation not met, or an error) ends
the run; the remaining steps are listed as not run. The script's witnesses (simulated too)
then sign the transcript's digest.

The key ceremony is the one the mock election runs: the guardians' rounds come from
:func:`evote.ceremony.rounds.run_ceremony`, computed when the first round is reached. Each
round's messages are signed then and held back; each round's step posts them, so the board
and the transcript follow the script step by step. The ``judge`` step judges again from the
entries read back from the board, as any observer would, and requires the same verdict as
the guardians reached.

A scheme B script (``election.scheme: paillier``) has a simulated dealer instead: the dealer
ceremony is :func:`evote.ceremony.dealer.run_dealer_ceremony`, computed when the transport keys
are reached, its entries held back the same way and posted by the ``transport-keys``, ``deal``
and ``accept-shares`` steps. The officials named in the ``deal`` step co-sign the dealer's key;
the guardians that step names in ``params.bad-shares`` are dealt a bad share (a rehearsal of a
refusal), which they refuse, posting no key check. From the credentials to the result both
schemes take one path: the tally is :func:`evote.election.tally.encrypted_tally` of the
election's context, each present guardian (scheme A's trustee or scheme B's key holder, a
:class:`evote.mock.election.Decrypter`) answers it with its proved shares, every share entry
is checked from the board with :func:`~evote.election.tally.check_guardian_shares` as the
officials check it, and :func:`~evote.election.tally.tally_result` combines the ones that
verify. The guardians a ``decrypt`` step names in ``params.bad-shares`` decrypt the wrong
ciphertexts (a faulty guardian rehearsed), so their entries are not counted.

MOCK ONLY: the simulated parties hold each other's secrets in one process. A real ceremony
runs each guardian's rounds on the guardian's own machine.
"""

from __future__ import annotations

import dataclasses
import datetime
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, TypeVar

from evote.board.checkpoint import Checkpoint, cosignature_time
from evote.board.entry import Entry
from evote.board.export import export_record
from evote.board.log import BulletinBoard
from evote.board.note import parse_note
from evote.board.record import CHECKPOINTS_FILE, ENTRIES_FILE
from evote.board.store import MemoryStore
from evote.board.witness import Witness
from evote.ceremony import messages
from evote.ceremony.dealer import (
    Deal,
    DealerCeremony,
    Dealing,
    check_dealt_key,
    deal_shares,
    run_dealer_ceremony,
    seal_dealing,
    verify_paillier_key_check,
)
from evote.ceremony.messages import (
    Commit,
    Complaint,
    DealtKey,
    GuardianKey,
    JointKey,
    KeyCheck,
    PaillierKeyCheck,
    SealedShares,
    ShareReveal,
    TransportKey,
    commitment_hash,
)
from evote.ceremony.outcome import CeremonyOutcome, judge, verify_key_check
from evote.ceremony.rounds import CeremonyRun, post_key_checks, run_ceremony
from evote.ceremony.script import RoleKind, Script, ScriptError, Step, Value
from evote.ceremony.transcript import (
    ExpectationResult,
    Json,
    PostedEntry,
    StepRecord,
    Transcript,
    TranscriptBody,
    WitnessKey,
)
from evote.crypto import paillier
from evote.crypto.paillier import PaillierKeyShare
from evote.crypto.proofs.schnorr import verify_coefficient
from evote.crypto.sealing import TransportPrivateKey
from evote.crypto.signing import SigningKey
from evote.election.ballot import EncryptedBallot
from evote.election.context import ElectionContext, base_hash
from evote.election.encrypt import PlaintextBallot, encrypt_ballot
from evote.election.manifest import PAILLIER, Manifest
from evote.election.tally import (
    EncryptedTally,
    GuardianShares,
    PerPart,
    check_guardian_shares,
    encrypted_tally,
    tally_result,
)
from evote.errors import DecodeError, EvoteError, InvalidInput, VerificationError
from evote.mock.defaults import PRESETS
from evote.mock.election import (
    Choices,
    Decrypter,
    expected_counts,
    mock_manifest,
    random_plaintext,
)
from evote.record import kinds
from evote.record.ballot_box import BallotBox, BallotRejected, check_proofs, parse_submission
from evote.record.kinds import CredentialList, PhaseMark
from evote.verify.runner import verify_record

_BATCH: Final = 64
RECORD_FILES: Final = (ENTRIES_FILE, CHECKPOINTS_FILE)
Observed = dict[str, Json]
T = TypeVar("T")


class StepFailed(EvoteError):
    """A step of a rehearsal could not do what the script says (the message names the step)."""


@dataclass(frozen=True, slots=True)
class RunResult:
    """The signed transcript, and where the record was exported (if it was)."""

    transcript: Transcript
    record: Path | None

    @property
    def passed(self) -> bool:
        return self.transcript.body.passed


#: Called after each step with its record, for progress output.
StepReport = Callable[[StepRecord], None]


def _no_report(record: StepRecord) -> None:
    """Report nothing."""


class _Rehearsal:
    """Every simulated party's keys and the state the steps build up."""

    def __init__(self, script: Script, record: Path | None) -> None:
        self.choices = Choices(None)
        self.script = script
        self.settings = script.election
        self.record_dir = record
        self.exported: Path | None = None
        preset = PRESETS.get(self.settings.contests)
        if preset is None:
            raise ScriptError(
                f"election.contests: unknown preset {self.settings.contests!r} "
                f"(the presets are {', '.join(sorted(PRESETS))})"
            )
        self.officials = {
            role.id: SigningKey.generate() for role in script.of_kind(RoleKind.OFFICIAL)
        }
        self.guardian_keys = tuple(SigningKey.generate() for _ in script.guardians)
        self.authority = SigningKey.generate()
        self.log_key = SigningKey.generate()
        self.dealer = SigningKey.generate() if self.settings.scheme == PAILLIER else None
        self.log_witness_keys = tuple(
            (f"witness-{i}.ceremony.evote.mock", SigningKey.generate())
            for i in range(1, self.settings.log_witnesses + 1)
        )
        self.manifest: Manifest = mock_manifest(
            self.settings.name,
            preset["contests"],
            ballot_styles=preset.get("ballot_styles"),
            officials=list(self.officials.values()),
            official_quorum=self.settings.official_quorum,
            authority=self.authority,
            guardians=self.guardian_keys,
            guardian_quorum=self.settings.guardian_quorum,
            log_key=self.log_key,
            witnesses=self.log_witness_keys,
            witness_quorum=self.settings.log_witness_quorum,
            dealer=self.dealer,
        )
        self.election_id = self.manifest.election_id
        self.board = BulletinBoard(
            MemoryStore(),
            self.log_key,
            self.manifest.log_origin,
            kinds.entry_rules(self.election_id, self.manifest.scheme_name),
            self.manifest.witness_keys(),
        )
        self.log_witnesses = [
            Witness(name, key, self.manifest.log_origin, self.log_key.verify_key)
            for name, key in self.log_witness_keys
        ]
        self.ceremony: CeremonyRun | None = None
        self.dealer_run: DealerCeremony | None = None
        self.held: dict[str, list[bytes]] = {}
        self.outcome: CeremonyOutcome | None = None
        self.context: ElectionContext | None = None
        self.credentials: tuple[SigningKey, ...] = ()
        self.box: BallotBox | None = None
        self.cast: dict[int, tuple[EncryptedBallot[Any, Any], PlaintextBallot]] = {}
        self.tally: EncryptedTally[Any] | None = None
        self.shares: dict[int, GuardianShares[Any]] = {}

    # board -----------------------------------------------------------------------------------

    def post(self, kind: str, body: bytes, signers: Sequence[SigningKey]) -> None:
        self.board.append([Entry.create(kind, self.election_id, body, signers).encoded])

    def post_as_guardian(self, kind: str, body: bytes, guardian: int) -> None:
        self.post(kind, body, [self.guardian_keys[guardian - 1]])

    def officials_of(self, step: Step) -> list[SigningKey]:
        return [self.officials[role] for role in step.by if role in self.officials]

    def read_back(self, kind: str, decode: Callable[[bytes], T]) -> list[T]:
        """Every entry of ``kind`` on the board, decoded: what an observer sees."""
        found = []
        for data in self.board.entries(0, self.board.size):
            entry = Entry.decode(data)
            if entry.kind == kind:
                found.append(decode(entry.body))
        return found

    def cosignatures(self) -> int:
        """How many of the log's witnesses validly cosigned the newest checkpoint."""
        note = parse_note(self.board.latest_checkpoint())
        valid = 0
        for name, key in self.manifest.witness_keys().items():
            try:
                cosignature_time(note, name, key)
            except EvoteError:
                continue
            valid += 1
        return valid

    def witness_round(self) -> None:
        """Every log witness checks that the log only grew, then cosigns its newest tree."""
        now = int(time.time())
        latest = self.board.latest_checkpoint()
        size = self.board.size
        for witness in self.log_witnesses:
            old = witness.state.size
            proof = self.board.consistency_proof(old, size)
            latest = self.board.add_cosignature(
                size, witness.add_checkpoint(latest, old, proof, now)
            )

    def require_context(self) -> ElectionContext:
        if self.context is None:
            raise StepFailed("the election has no joint key yet")
        return self.context

    # the key ceremony ------------------------------------------------------------------------

    def _hold(self, kind: str, body: bytes, signers: Sequence[SigningKey]) -> None:
        """Sign a ceremony message now and hold it back until its step posts it."""
        signed = Entry.create(kind, self.election_id, body, signers)
        self.held.setdefault(kind, []).append(signed.encoded)

    def _hold_as_guardian(self, kind: str, body: bytes, guardian: int) -> None:
        self._hold(kind, body, [self.guardian_keys[guardian - 1]])

    def _ceremony(self) -> CeremonyRun:
        """The guardians' rounds, computed once; each message signed and held for its step."""
        if self.dealer is not None:
            raise StepFailed("a scheme B election has no guardians' ceremony: its dealer deals")
        if self.ceremony is None:
            self.ceremony = run_ceremony(self.manifest, self._hold_as_guardian)
        return self.ceremony

    def _dealer_ceremony(self) -> DealerCeremony:
        """Scheme B: the dealer ceremony, computed once, its entries held for their steps.

        The officials of the script's ``deal`` step co-sign the dealer's key; the guardians in
        its ``params.bad-shares`` are dealt a bad share."""
        if self.dealer is None:
            raise StepFailed("a scheme A election has no dealer: its guardians make the key")
        if self.dealer_run is None:
            dealer = self.dealer
            deal_step = next((step for step in self.script.steps if step.action == "deal"), None)
            co_signers = self.officials_of(deal_step) if deal_step is not None else []
            bad = (
                {self.script.guardian_index(role) for role in deal_step.roles("bad-shares")}
                if deal_step is not None
                else set()
            )

            def as_dealer(kind: str, body: bytes, with_officials: bool) -> None:
                self._hold(kind, body, [dealer, *(co_signers if with_officials else ())])

            self.dealer_run = run_dealer_ceremony(
                self.manifest,
                self._hold_as_guardian,
                as_dealer,
                deal=_dealing_bad_shares_to(bad) if bad else deal_shares,
            )
        return self.dealer_run

    def release(self, kind: str) -> int:
        """Post the held messages of one round; return how many."""
        if self.dealer is None:
            self._ceremony()
        else:
            self._dealer_ceremony()
        batch = self.held.pop(kind, [])
        if batch:
            self.board.append(batch)
        return len(batch)

    def transport_keys(self, step: Step) -> Observed:
        self.release(messages.TRANSPORT)
        return {}

    def commit(self, step: Step) -> Observed:
        self.release(messages.COMMIT)
        return {}

    def reveal(self, step: Step) -> Observed:
        """Post the reveals, then check each against its commitment, and every proof."""
        self.release(messages.REVEAL)
        commits = {c.guardian: c for c in self.read_back(messages.COMMIT, Commit.from_tlv)}
        hashed = base_hash(self.manifest)
        verified = 0
        for reveal in self.read_back(messages.REVEAL, GuardianKey.from_tlv):
            commit = commits.get(reveal.guardian)
            if commit is None:
                continue
            if commitment_hash(hashed, reveal.guardian, reveal.commitments) != commit.digest:
                continue
            try:
                for degree, (point, proof) in enumerate(
                    zip(reveal.commitments, reveal.proofs, strict=True)
                ):
                    verify_coefficient(point, proof, hashed, reveal.guardian, degree)
            except VerificationError:
                continue
            verified += 1
        return {"verified": verified}

    def seal_shares(self, step: Step) -> Observed:
        self.release(messages.SHARES)
        return {}

    def check_and_complain(self, step: Step) -> Observed:
        complaints = self.release(messages.COMPLAINT)
        return {"complaints": complaints}

    def answer_complaints(self, step: Step) -> Observed:
        return {"answers": self.release(messages.SHARE_REVEAL)}

    def judgement(self, step: Step) -> Observed:
        """Judge from the board alone; it must agree with what the guardians concluded."""
        run = self._ceremony()
        if any(self.held.values()):
            raise StepFailed(f"round messages were never posted: {sorted(self.held)}")

        def by_guardian(
            kind: str, decode: Callable[[bytes], T], who: Callable[[T], int]
        ) -> dict[int, T]:
            return {who(message): message for message in self.read_back(kind, decode)}

        outcome = judge(
            self.manifest,
            by_guardian(messages.TRANSPORT, TransportKey.from_tlv, lambda m: m.guardian),
            by_guardian(messages.COMMIT, Commit.from_tlv, lambda m: m.guardian),
            by_guardian(messages.REVEAL, GuardianKey.from_tlv, lambda m: m.guardian),
            by_guardian(messages.SHARES, SealedShares.from_tlv, lambda m: m.guardian),
            self.read_back(messages.COMPLAINT, Complaint.from_tlv),
            self.read_back(messages.SHARE_REVEAL, ShareReveal.from_tlv),
        )
        if (outcome.qualified, dict(outcome.disqualified)) != (
            run.outcome.qualified,
            dict(run.outcome.disqualified),
        ):
            raise StepFailed("the board's judgement differs from the guardians' own")
        self.outcome = outcome
        observed: Observed = {
            "qualified": len(outcome.qualified),
            "disqualified": len(outcome.disqualified),
            "unfounded-complaints": len(outcome.unfounded_complaints),
        }
        if outcome.disqualified:
            observed["reasons"] = {
                self.script.guardian_role(i): why for i, why in sorted(outcome.disqualified.items())
            }
        return observed

    def joint_key(self, step: Step) -> Observed:
        if self.outcome is None:
            raise StepFailed("there is no judgement to finish the ceremony from")
        context = self.outcome.require_context()
        for trustee in self._ceremony().trustees:
            if trustee.key_share is None:
                raise StepFailed(f"guardian {trustee.index} ended without a key share")
        joint = JointKey(context.joint_key, context.extended_hash, context.verification_keys)
        signers = [*self.officials_of(step), *self.guardian_keys]
        self.post(kinds.JOINT_KEY, joint.to_tlv(), signers)
        self.context = context
        return {
            "signatures": len(signers),
            "joint-key": context.joint_key.encode().hex(),
            "extended-hash": context.extended_hash.hex(),
        }

    def key_checks(self, step: Step) -> Observed:
        context = self.require_context()
        post_key_checks(self._ceremony().trustees, context, self.post_as_guardian)
        verified = 0
        for check in self.read_back(messages.KEY_CHECK, KeyCheck.from_tlv):
            try:
                verify_key_check(check, context)
            except VerificationError:
                continue
            verified += 1
        return {"verified": verified}

    def deal(self, step: Step) -> Observed:
        """Post the dealer's key (co-signed) and the sealed shares; check the key from the board
        as the officials did before signing it."""
        self.release(messages.PAILLIER_KEY)
        self.release(messages.PAILLIER_SHARE)
        key_entry = self._dealt_key_entry()
        context = check_dealt_key(self.manifest, DealtKey.from_tlv(key_entry.body))
        return {
            "signatures": len(key_entry.signatures),
            "sealed": len(self._entries_of(messages.PAILLIER_SHARE)),
            "modulus-bits": context.paillier_key.n.bit_length(),
        }

    def accept_shares(self, step: Step) -> Observed:
        """Post the key checks of the guardians that accepted their shares; verify each from
        the board. The ceremony's key is the election's only if no guardian refused."""
        run = self._dealer_ceremony()
        self.release(messages.PAILLIER_KEY_CHECK)
        context = check_dealt_key(self.manifest, DealtKey.from_tlv(self._dealt_key_entry().body))
        verified = 0
        for check in self.read_back(
            messages.PAILLIER_KEY_CHECK,
            lambda body: PaillierKeyCheck.from_tlv(body, context.paillier_key),
        ):
            try:
                verify_paillier_key_check(check, context)
            except VerificationError:
                continue
            verified += 1
        observed: Observed = {
            "accepted": len(self.guardian_keys) - len(run.refused),
            "refused": [self.script.guardian_role(i) for i in sorted(run.refused)],
            "verified": verified,
        }
        if run.refused:
            observed["reasons"] = {
                self.script.guardian_role(i): why for i, why in sorted(run.refused.items())
            }
        else:
            self.context = run.require_context()
        return observed

    def _dealt_key_entry(self) -> Entry:
        """The dealer's key entry as read back from the board: there must be exactly one."""
        found = self._entries_of(messages.PAILLIER_KEY)
        if len(found) != 1:
            raise StepFailed(f"expected one dealer's key on the board, found {len(found)}")
        return found[0]

    def _entries_of(self, kind: str) -> list[Entry]:
        return [
            entry
            for entry in (Entry.decode(data) for data in self.board.entries(0, self.board.size))
            if entry.kind == kind
        ]

    def key_generation(self, step: Step) -> Observed:
        for kind in (messages.TRANSPORT, messages.COMMIT, messages.REVEAL, messages.SHARES):
            self.release(kind)
        complaints = self.release(messages.COMPLAINT)
        self.release(messages.SHARE_REVEAL)
        judged = self.judgement(step)
        if judged["disqualified"]:
            raise StepFailed(f"guardians were disqualified: {judged.get('reasons')}")
        keys = self.joint_key(step)
        checks = self.key_checks(step)
        return {
            "complaints": complaints,
            "qualified": judged["qualified"],
            "key-checks": checks["verified"],
            "joint-key": keys["joint-key"],
        }

    # the election ----------------------------------------------------------------------------

    def publish_manifest(self, step: Step) -> Observed:
        self.post(kinds.MANIFEST, self.manifest.to_tlv(), self.officials_of(step))
        return {"election-id": self.election_id.hex()}

    def witness_checkpoint(self, step: Step) -> Observed:
        self.witness_round()
        return {"cosignatures": self.cosignatures()}

    def publish_credentials(self, step: Step) -> Observed:
        context = self.require_context()
        self.credentials = tuple(SigningKey.generate() for _ in range(self.settings.voters))
        listed = CredentialList(
            tuple(sorted((c.verify_key for c in self.credentials), key=lambda k: k.encode()))
        )
        self.post(kinds.CREDENTIALS, listed.to_tlv(), [self.authority])
        self.box = BallotBox(context, listed.credentials)
        return {"credentials": len(listed.credentials)}

    def _box(self) -> BallotBox:
        if self.box is None:
            raise StepFailed("no credentials were published")
        return self.box

    def open_election(self, step: Step) -> Observed:
        self.post(kinds.OPEN, PhaseMark("open", int(time.time())).to_tlv(), self.officials_of(step))
        self._box().phase = "open"
        return {}

    def vote(self, step: Step) -> Observed:
        """Each simulated voter picks at random, encrypts, signs; the box checks and admits."""
        context, box = self.require_context(), self._box()
        voters = step.count("voters")
        styles = [style.id for style in self.manifest.ballot_styles]
        pending: list[tuple[Entry, EncryptedBallot[Any, Any], PlaintextBallot]] = []
        ballots = rejected = 0
        for done, credential in enumerate(self.credentials[:voters], 1):
            style = styles[self.choices.number(f"voter/{done}/style", len(styles))]
            plaintext = random_plaintext(self.manifest, style, self.choices, f"voter/{done}")
            cast = encrypt_ballot(plaintext, context, credential.verify_key, 0)
            entry = Entry.create(kinds.BALLOT, self.election_id, cast.ballot.to_tlv(), [credential])
            try:
                submission = parse_submission(entry.encoded, context)
                check_proofs(submission, context)
                box.admit(submission)
            except BallotRejected:
                rejected += 1
            else:
                pending.append((entry, cast.ballot, plaintext))
                ballots += 1
            if len(pending) == _BATCH or (done == voters and pending):
                first = self.board.append([e.encoded for e, _, _ in pending]).first_index
                for index, (_, ballot, chosen) in enumerate(pending, first):
                    self.cast[index] = (ballot, chosen)
                pending = []
        return {"ballots": ballots, "rejected": rejected}

    def close_election(self, step: Step) -> Observed:
        self.post(
            kinds.CLOSE, PhaseMark("close", int(time.time())).to_tlv(), self.officials_of(step)
        )
        self._box().phase = "closed"
        self.witness_round()
        return {"cosignatures": self.cosignatures()}

    def _guardians(self) -> Sequence[Decrypter]:
        """The guardians as their key ceremony left them: scheme A's trustees or scheme B's key
        holders, either of which answers a tally with its proved shares."""
        if self.dealer is None:
            return self._ceremony().trustees
        return self._dealer_ceremony().holders

    def _tally(self) -> EncryptedTally[Any]:
        if self.tally is None:
            raise StepFailed("there is no tally yet: no tally step has posted one")
        return self.tally

    def post_tally(self, step: Step) -> Observed:
        """Sum each credential's last admitted ballot (every voter cast one) and post the tally."""
        cast = {index: ballot for index, (ballot, _) in self.cast.items()}
        self.tally = encrypted_tally(self.require_context(), cast)
        self.post(kinds.TALLY, self.tally.to_tlv(), self.officials_of(step))
        return {"counted": len(self.tally.counted)}

    def decrypt(self, step: Step) -> Observed:
        """The present guardians post shares with proofs; each entry is then checked from the
        board as the officials check it, and only the shares that verify count.

        The guardians in ``params.bad-shares`` answer the tally with every aggregate doubled (a
        faulty guardian rehearsed): their proofs are sound but for other ciphertexts, so their
        shares must not count. Fewer than the quorum present, or verified, fails the step."""
        context, tally = self.require_context(), self._tally()
        quorum, everyone = self.settings.guardian_quorum, self.script.guardians
        roles = {role.id for role in everyone}
        present = [self.script.guardian_index(role) for role in step.by if role in roles]
        if len(present) < quorum:
            raise StepFailed(
                f"{len(present)} of {len(everyone)} guardians present; decrypting needs {quorum}, "
                "so nobody decrypts: come back with more guardians"
            )
        faulty = {self.script.guardian_index(role) for role in step.roles("bad-shares")}
        guardians = self._guardians()
        for guardian in present:
            totals = _doubled(context, tally.totals) if guardian in faulty else tally.totals
            shares = guardians[guardian - 1].decrypt_tally(context, totals)
            self.post_as_guardian(kinds.DECRYPTION_SHARE, shares.to_tlv(), guardian)
        posted: set[int] = set()
        problems: dict[str, str] = {}
        for entry in self._entries_of(kinds.DECRYPTION_SHARE):
            guardian = self._guardian_signing(entry)
            posted.add(guardian)
            try:
                self.shares[guardian] = check_guardian_shares(
                    entry.body, entry.signers, context, tally
                )
            except (InvalidInput, DecodeError) as error:
                problems[self.script.guardian_role(guardian)] = str(error)
        if len(self.shares) < quorum:
            not_counted = "; ".join(
                f"{who}'s are not counted: {why}" for who, why in problems.items()
            )
            raise StepFailed(
                f"only {len(self.shares)} guardians' shares verify and decrypting needs {quorum} "
                f"({not_counted})"
            )
        observed: Observed = {
            "verified": len(self.shares),
            "absent": [r.id for r in everyone if r.guardian not in posted],
            "not-counted": list(problems),
        }
        if problems:
            observed["reasons"] = dict(problems)
        return observed

    def _guardian_signing(self, entry: Entry) -> int:
        """The guardian whose identity key alone signed ``entry`` (the rehearsal posts only
        its own guardians' entries, so anything else is a fault of the runner)."""
        signers = [key.encode() for key in entry.signers]
        for index, key in enumerate(self.manifest.guardians, 1):
            if signers == [key.encode()]:
                return index
        raise StepFailed(f"a {entry.kind} entry is not signed by one guardian alone")

    def post_result(self, step: Step) -> Observed:
        """Combine the verified shares, find each count, check it against the voters' choices."""
        context, tally = self.require_context(), self._tally()
        if not self.shares:
            raise StepFailed("there are no verified decryption shares to combine")
        result = tally_result(context, tally, self.shares, registered=len(self.credentials))
        self.post(kinds.RESULT, result.to_tlv(), self.officials_of(step))
        return {
            "guardians": [self.script.guardian_role(g) for g in result.guardians],
            "matches-voters": result.counts == self._truth(),
            "outcome": list(result.outcomes),
        }

    def _truth(self) -> dict[str, tuple[int, ...]]:
        """What the simulated voters chose, summed: the ground truth the result must equal."""
        return expected_counts(self.manifest, (plaintext for _, plaintext in self.cast.values()))

    def verify(self, step: Step) -> Observed:
        """Export the board, then run the independent verifier on the record."""
        if self.record_dir is not None:
            export_record(self.board, self.record_dir)
            self.exported = self.record_dir
            return self._verdict(self.record_dir)
        with tempfile.TemporaryDirectory(prefix="evote-ceremony-") as holder:
            directory = Path(holder) / "record"
            export_record(self.board, directory)
            return self._verdict(directory)

    def _verdict(self, directory: Path) -> Observed:
        report = verify_record(directory, election_id=self.election_id)
        failed = [check for check in report.checks if check.status != "pass"]
        observed: Observed = {
            "verdict": "pass" if report.passed else "fail",
            "failed-checks": sum(check.status == "fail" for check in failed),
        }
        if failed:
            observed["problems"] = [
                f"{check.number}. {check.name} ({check.status}): "
                + (check.failures[0].message if check.failures else check.skipped_because or "")
                for check in failed
            ]
        return observed


def _handlers(rehearsal: _Rehearsal) -> dict[str, Callable[[Step], Observed]]:
    return {
        "publish-manifest": rehearsal.publish_manifest,
        "transport-keys": rehearsal.transport_keys,
        "deal": rehearsal.deal,
        "accept-shares": rehearsal.accept_shares,
        "commit": rehearsal.commit,
        "reveal": rehearsal.reveal,
        "seal-shares": rehearsal.seal_shares,
        "check-and-complain": rehearsal.check_and_complain,
        "answer-complaints": rehearsal.answer_complaints,
        "judge": rehearsal.judgement,
        "joint-key": rehearsal.joint_key,
        "key-checks": rehearsal.key_checks,
        "key-generation": rehearsal.key_generation,
        "publish-credentials": rehearsal.publish_credentials,
        "open": rehearsal.open_election,
        "vote": rehearsal.vote,
        "close": rehearsal.close_election,
        "tally": rehearsal.post_tally,
        "decrypt": rehearsal.decrypt,
        "result": rehearsal.post_result,
        "verify-record": rehearsal.verify,
        "witness-checkpoint": rehearsal.witness_checkpoint,
    }


def _doubled(context: ElectionContext, totals: PerPart) -> PerPart:
    """Every aggregate added to itself: what a faulty guardian decrypts instead of the tally."""
    add = context.scheme.add
    return {part: tuple(add(c, c) for c in ciphertexts) for part, ciphertexts in totals.items()}


def _dealing_bad_shares_to(guardians: set[int]) -> Deal:
    """A dealer that deals these guardians a share one off from theirs (a refusal rehearsed);
    everything else is :func:`evote.ceremony.dealer.seal_dealing` on a real deal."""

    def deal(manifest: Manifest, transport_keys: Mapping[int, TransportKey]) -> Dealing:
        output = paillier.deal(len(manifest.guardians), manifest.guardian_quorum)
        shares = tuple(
            PaillierKeyShare(share.guardian, share.secret + 1)
            if share.guardian in guardians
            else share
            for share in output.shares
        )
        bad = dataclasses.replace(output, shares=shares)
        return seal_dealing(manifest, transport_keys, bad, TransportPrivateKey.generate())

    return deal


def _json(value: Value) -> Json:
    return list(value) if isinstance(value, tuple) else value


def _params(step: Step) -> dict[str, Json]:
    return {name: _json(value) for name, value in step.params.items()}


def _not_run(step: Step) -> StepRecord:
    return StepRecord(
        step.number,
        step.title,
        step.action,
        step.by,
        step.rehearsal_only,
        _params(step),
        step.checks,
        step.signs,
        "not run",
    )


def _run_step(rehearsal: _Rehearsal, step: Step) -> StepRecord:
    """Run one step, observe, compare with its expectations, and note what it posted."""
    board = rehearsal.board
    before = board.size
    error = None
    observed: Observed = {}
    try:
        observed = _handlers(rehearsal)[step.action](step)
    except EvoteError as failure:
        error = f"{step.label}: {failure}"
    posted = [Entry.decode(data) for data in board.entries(before, board.size)]
    observed = {"entries": len(posted), **observed}
    expectations = tuple(
        ExpectationResult(e.name, _json(e.value), observed.get(e.name)) for e in step.expect
    )
    unmet = [e for e in expectations if not e.met]
    if error is None and unmet:
        error = f"{step.label}: " + "; ".join(
            f"expected {e.name} {e.expected!r}, observed {e.observed!r}" for e in unmet
        )
    size = root = None
    if board.size:
        checkpoint = Checkpoint.parse(parse_note(board.latest_checkpoint()).body)
        size, root = checkpoint.size, checkpoint.root.hex()
    return StepRecord(
        step.number,
        step.title,
        step.action,
        step.by,
        step.rehearsal_only,
        _params(step),
        step.checks,
        step.signs,
        "failed" if error is not None else "passed",
        expectations=expectations,
        observed=observed,
        error=error,
        entries=tuple(
            PostedEntry(index, entry.kind, entry.tracking_code.hex())
            for index, entry in enumerate(posted, before)
        ),
        checkpoint_size=size,
        checkpoint_root=root,
    )


def run_script(
    script: Script,
    *,
    script_file: str,
    record: Path | None = None,
    report: StepReport = _no_report,
) -> RunResult:
    """Rehearse ``script`` step by step; the witnesses sign the transcript at the end.

    The run stops at the first failed step. ``record`` is where the board is exported (by a
    ``verify-record`` step, or at the end otherwise); it must not hold a record yet.
    """
    if record is not None and any((record / name).exists() for name in RECORD_FILES):
        raise ScriptError(f"{record} already holds a record; choose a new directory")
    rehearsal = _Rehearsal(script, record)
    records: list[StepRecord] = []
    failure: str | None = None
    for step in script.steps:
        if failure is not None:
            records.append(_not_run(step))
            continue
        done = _run_step(rehearsal, step)
        records.append(done)
        report(done)
        failure = done.error
    if record is not None and rehearsal.exported is None and rehearsal.board.size:
        export_record(rehearsal.board, record)
        rehearsal.exported = record
    signers = [(role, SigningKey.generate()) for role in script.sign_off.by]
    body = TranscriptBody(
        script_title=script.title,
        script_file=script_file,
        script_sha256=script.sha256.hex(),
        date=datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        election_name=script.election.name,
        election_id=rehearsal.election_id.hex(),
        witnesses=tuple(
            WitnessKey(role, script.role(role).name, key.verify_key) for role, key in signers
        ),
        statement=script.sign_off.statement,
        steps=tuple(records),
        final_checkpoint=rehearsal.board.latest_checkpoint() if rehearsal.board.size else None,
        outcome="failed" if failure is not None else "passed",
        failure=failure,
    )
    return RunResult(Transcript.sign(body, signers), rehearsal.exported)
