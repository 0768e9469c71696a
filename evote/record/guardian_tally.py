"""What a guardian checks before it answers a tally, and its answer (crypto spec §3.8, §3.9.1, §6).

A guardian's decryption share of an aggregate is harmless only if the aggregate is the real
tally: the sum of the counted, valid ballots of the election whose key it holds. A guardian
that decrypted whatever it was handed could be made to open one voter's ballot (crypto spec
§6: decrypt only aggregates, never single cast ballots). So before answering,
:func:`check_tally` requires of the exported record (loaded under the trust roots of the
manifest the guardian joined, so every entry is of this election and validly signed):

1. entry 0 is that manifest, and the election key on the record is the key the guardian holds
   a share of (so ``H_E``, which every ballot proof binds, is the guardian's): for scheme A the
   one ``joint-key`` entry is the key its own ceremony produced; for scheme B the one
   ``paillier-key`` entry is signed by the manifest's dealer and an official quorum (nobody
   else) and holds the key the guardian accepted its share of;
2. one credential list, by the credential authority; one ``open`` and then one ``close``, each
   signed by an official quorum; a checkpoint covering the close carries a witness quorum;
3. every ballot and audit lies between ``open`` and ``close`` and passes the ballot box's
   rules replayed in order (:class:`~evote.record.ballot_box.BallotBox`: signature, listed
   credential, proofs, fresh ballot ids, rising sequence numbers, no copied ciphertext, no
   reuse of an audited seed);
4. one ``tally`` after the close, signed by an official quorum (and officials only), whose
   counted entries are exactly each credential's last ballot, ascending, and whose aggregates
   are exactly their sums.

Then :func:`answer_tally` has the guardian prove its share of every aggregate (target
``tally/<part>/<option>``: scheme A's trustee ``M_ℓ = z_ℓ·A``, scheme B's key holder
``c^{2Δs_i}``, crypto spec §4.5) and signs the ``decryption-share`` entry. A guardian answers one
tally per election: the state keeps the tally's digest, and the same tally asked again gets
the same entry again, while any other tally is refused.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, replace

from evote.board.checkpoint import verify_witnessed
from evote.board.entry import Entry
from evote.board.record import Record
from evote.ceremony.guardian_file import KEY_HELD, GuardianState
from evote.ceremony.messages import DealtKey, JointKey
from evote.ceremony.offline import (
    DECRYPTION_SHARE,
    Advance,
    Posted,
    Transcript,
    file_name,
    paillier_context,
)
from evote.crypto.signing import VerifyKey
from evote.election.ballot import EncryptedBallot
from evote.election.context import ElectionContext, base_hash
from evote.election.manifest import PAILLIER, Manifest
from evote.election.tally import EncryptedTally, aggregate, counted_ballots
from evote.errors import CeremonyError, DecodeError, EvoteError, RecordError
from evote.record import kinds
from evote.record.ballot_box import BallotBox, check_proofs, parse_submission
from evote.record.kinds import CredentialList


@dataclass(frozen=True, slots=True)
class CheckedTally:
    """The tally entry that passed every check, where it is, and its digest."""

    index: int
    tally: EncryptedTally
    digest: bytes
    ballots: int


def _the_one(entries: Sequence[Entry], kind: str, why: str) -> int:
    found = [index for index, entry in enumerate(entries) if entry.kind == kind]
    if not found:
        raise RecordError(f"the record has no {kind} entry{why}")
    if len(found) > 1:
        raise RecordError(
            f"the record has {len(found)} {kind} entries (at {', '.join(map(str, found))}); "
            "an election has exactly one"
        )
    return found[0]


def _official_quorum(entry: Entry, index: int, manifest: Manifest) -> None:
    officials = set(manifest.officials)
    strangers = [key for key in entry.signers if key not in officials]
    if strangers:
        raise RecordError(
            f"entry {index} ({entry.kind}) is also signed by keys that are no officials: "
            + ", ".join(key.encode().hex() for key in strangers)
        )
    if len(set(entry.signers)) < manifest.official_quorum:
        raise RecordError(
            f"entry {index} ({entry.kind}) is signed by {len(set(entry.signers))} officials; "
            f"the quorum is {manifest.official_quorum}"
        )


def check_tally(record: Record, context: ElectionContext) -> CheckedTally:
    """Every check above; raise :class:`RecordError` naming the first that fails."""
    manifest = context.manifest
    entries = record.entries
    if not entries or entries[0].kind != kinds.MANIFEST or entries[0].body != manifest.to_tlv():
        raise RecordError("entry 0 of the record is not the manifest of your election")
    _election_key(entries, context)
    credentials = _credentials(entries, manifest)
    open_at = _the_one(entries, kinds.OPEN, ": the election never opened")
    close_at = _the_one(
        entries,
        kinds.CLOSE,
        ": the election is not closed, and a guardian decrypts only the tally, after the close",
    )
    if close_at < open_at:
        raise RecordError(f"the close (entry {close_at}) comes before the open (entry {open_at})")
    for index in (open_at, close_at):
        _official_quorum(entries[index], index, manifest)
    _closing_checkpoint(record, close_at, manifest)
    tally_at = _the_one(entries, kinds.TALLY, " yet: the officials post it after the close")
    if tally_at < close_at:
        raise RecordError(f"the tally (entry {tally_at}) comes before the close (entry {close_at})")
    _official_quorum(entries[tally_at], tally_at, manifest)
    try:
        tally = EncryptedTally.from_tlv(entries[tally_at].body, context)
    except DecodeError as error:
        raise RecordError(f"entry {tally_at} (tally) does not parse: {error}") from error
    cast = replay_ballot_box(entries, open_at, close_at, context, credentials)
    expected = counted_ballots(cast)
    if tally.counted != expected:
        extra = sorted(set(tally.counted) - set(expected))
        left_out = sorted(set(expected) - set(tally.counted))
        raise RecordError(
            f"the tally (entry {tally_at}) does not count exactly each credential's last ballot, "
            f"in order: it counts entries {_few(extra)} that it should not, and leaves out "
            f"{_few(left_out)}"
        )
    counted = [cast[index] for index in expected]
    if aggregate(context, counted) != tally.totals:
        raise RecordError(
            f"the tally's aggregates (entry {tally_at}) are not the sums of the counted ballots"
        )
    digest = hashlib.sha256(entries[tally_at].body).digest()
    return CheckedTally(tally_at, tally, digest, len(counted))


def _election_key(entries: Sequence[Entry], context: ElectionContext) -> None:
    """The record's election key is the one the guardian holds a share of (check 1 above)."""
    manifest = context.manifest
    if manifest.scheme_name != PAILLIER:
        joint_at = _the_one(entries, kinds.JOINT_KEY, "")
        ours = JointKey(context.joint_key, context.extended_hash, context.verification_keys)
        if entries[joint_at].body != ours.to_tlv():
            raise RecordError(
                f"the record's joint key (entry {joint_at}) is not the one your key ceremony "
                f"produced (K = {context.joint_key.encode().hex()})"
            )
        return
    key_at = _the_one(entries, kinds.PAILLIER_KEY, ": the dealer never posted its key")
    entry = entries[key_at]
    dealer = manifest.dealer
    if dealer is None or dealer not in entry.signers:
        raise RecordError(f"the dealer's key (entry {key_at}) is not signed by the dealer")
    _official_quorum_besides(entry, key_at, manifest, dealer)
    try:
        dealt = DealtKey.from_tlv(entry.body)
    except DecodeError as error:
        raise RecordError(f"entry {key_at} (paillier-key) does not parse: {error}") from error
    if dealt.base_hash != base_hash(manifest) or dealt.key != context.paillier_key:
        raise RecordError(
            f"the record's dealer's key (entry {key_at}) is not the key you accepted your share "
            f"of (parameters hash H_P = {context.paillier.params_hash.hex()})"
        )


def _official_quorum_besides(
    entry: Entry, index: int, manifest: Manifest, dealer: VerifyKey
) -> None:
    """The dealer's key is co-signed by an official quorum, and by nobody but them and the
    dealer."""
    officials = set(manifest.officials)
    strangers = [key for key in entry.signers if key != dealer and key not in officials]
    if strangers:
        raise RecordError(
            f"entry {index} ({entry.kind}) is also signed by keys that are neither the dealer "
            "nor officials: " + ", ".join(key.encode().hex() for key in strangers)
        )
    signed = len({key for key in entry.signers if key in officials})
    if signed < manifest.official_quorum:
        raise RecordError(
            f"entry {index} ({entry.kind}) is co-signed by {signed} officials; the quorum is "
            f"{manifest.official_quorum}"
        )


def _few(indices: Sequence[int]) -> str:
    if not indices:
        return "none"
    shown = ", ".join(map(str, indices[:5]))
    return shown + (f" and {len(indices) - 5} more" if len(indices) > 5 else "")


def _credentials(entries: Sequence[Entry], manifest: Manifest) -> tuple[VerifyKey, ...]:
    at = _the_one(entries, kinds.CREDENTIALS, "")
    entry = entries[at]
    if entry.signers != (manifest.credential_authority,):
        raise RecordError(
            f"the credential list (entry {at}) is not signed by the credential authority alone"
        )
    try:
        return CredentialList.from_tlv(entry.body).credentials
    except DecodeError as error:
        raise RecordError(f"entry {at} (credentials) does not parse: {error}") from error


def _closing_checkpoint(record: Record, close_at: int, manifest: Manifest) -> None:
    reasons = []
    for checkpoint, note in record.checkpoints:
        if checkpoint.size <= close_at:
            continue
        try:
            verify_witnessed(
                note.text(),
                manifest.log_origin,
                manifest.log_key,
                manifest.witness_keys(),
                manifest.witness_quorum,
            )
            return
        except EvoteError as error:
            reasons.append(str(error))
    raise RecordError(
        f"no checkpoint covering the close (entry {close_at}) carries {manifest.witness_quorum} "
        "witness cosignatures, so the closed board is not settled"
        + (f" ({'; '.join(reasons)})" if reasons else "")
    )


def replay_ballot_box(
    entries: Sequence[Entry],
    open_at: int,
    close_at: int,
    context: ElectionContext,
    credentials: Sequence[VerifyKey],
) -> dict[int, EncryptedBallot]:
    """Admit every ballot and audit in board order under the ballot box's rules (proofs
    included): every admitted ballot by its index. Raise :class:`RecordError` at the first
    entry the box refuses or that lies outside the voting period."""
    box = BallotBox(context, credentials)
    box.phase = "open"
    cast: dict[int, EncryptedBallot] = {}
    for index, entry in enumerate(entries):
        if entry.kind not in (kinds.BALLOT, kinds.AUDIT):
            continue
        if not open_at < index < close_at:
            raise RecordError(f"entry {index} ({entry.kind}) lies outside the voting period")
        try:
            submission = parse_submission(entry.encoded, context)
            check_proofs(submission, context)
            box.admit(submission)
        except EvoteError as error:
            raise RecordError(
                f"entry {index} ({entry.kind}) breaks the ballot box's rules: {error}"
            ) from error
        if submission.kind == kinds.BALLOT:
            cast[index] = submission.ballot
    return cast


def answer_tally(state: GuardianState, record: Record) -> tuple[Advance, CheckedTally]:
    """Check the record's tally and answer it with this guardian's decryption shares."""
    if state.step not in KEY_HELD:
        raise CeremonyError(
            "a guardian decrypts with the key share its finished key ceremony gave it; this key "
            f"file is at step {state.step!r}"
        )
    transcript = Transcript.of(state)
    context = paillier_context(state, transcript) if state.scheme_b else transcript.context()
    checked = check_tally(record, context)
    me = state.index
    if state.tally_answered is not None:
        if state.tally_answered != checked.digest:
            raise CeremonyError(
                f"you already answered another tally of this election (SHA-256 of its body "
                f"{state.tally_answered.hex()}); a guardian answers one tally only"
            )
        slot = (DECRYPTION_SHARE, me, 0)
        again = Posted(file_name(slot), transcript.raw[slot])
        return Advance(state, (again,), 0, ("you answered this tally before: same entry",)), checked
    decrypter = state.holder() if state.scheme_b else state.trustee()
    body = decrypter.decrypt_tally(context, checked.tally.totals).to_tlv()
    posted = transcript.add_own(DECRYPTION_SHARE, body, state.identity)
    new = replace(state, entries=transcript.entries(), tally_answered=checked.digest)
    return Advance(new, (posted,), 0), checked
