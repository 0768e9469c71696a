"""Signing entries made elsewhere: an official adds a signature only to an entry checked
against the board again, as if that official had made it.

Officials who sign on different machines pass the partly signed entry on, and each checks it
before adding a signature (:func:`sign_entry`): a phase mark must fit the phase, a tally must
be exactly the sum of each credential's last ballot, a result must be exactly what the
guardians' shares decrypt to. Officials sign the joint key the same way, on a guardian's
acknowledgement from the ceremony's last round: it must be the key the guardians' ceremony on
the board gives, after a ceremony that disqualified nobody. In a scheme B election they co-sign
the dealer's key (``paillier-key``, from ``evote dealer deal``) the same way: signed by the
manifest's dealer, not on the board yet, after every guardian's transport key, and a key of
this election, its guardians, quorum and modulus size
(:func:`evote.ceremony.dealer.check_dealt_key`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

from evote.board.entry import Entry, merge_signatures
from evote.ceremony.dealer import check_dealt_key
from evote.ceremony.messages import DealtKey, JointKey, TransportKey
from evote.client.official.contents import the_one
from evote.client.official.errors import EntryRefused, StepRefused
from evote.client.official.phases import Phase, check_phase, officials_keys
from evote.client.official.reading import BoardView
from evote.client.official.result import check_result_entry
from evote.client.official.tally import check_tally_entry
from evote.crypto.signing import SigningKey
from evote.election.context import ElectionContext
from evote.election.manifest import Manifest
from evote.election.tally import TallyResult
from evote.errors import CeremonyError, DecodeError, InvalidInput, InvalidSignature
from evote.record import kinds
from evote.record.kinds import PhaseMark
from evote.verify import checks

#: The kinds only officials post, each signed by a quorum of them.
OFFICIAL_KINDS: Final = (kinds.OPEN, kinds.CLOSE, kinds.TALLY, kinds.RESULT)
#: What officials sign (`evote official sign`): their own kinds, the joint key, which every
#: guardian signs too, and scheme B's dealer's key, which the dealer signs too.
SIGNED_BY_OFFICIALS: Final = (kinds.JOINT_KEY, kinds.PAILLIER_KEY, *OFFICIAL_KINDS)


def check_official_entry(view: BoardView, entry: Entry) -> TallyResult | None:
    """Check an entry officials sign against the board (see the module docstring); the result
    a ``result`` entry holds, ``None`` for the other kinds."""
    if entry.election_id != view.election_id:
        raise EntryRefused(
            f"this entry belongs to election {entry.election_id.hex()}, not "
            f"{view.election_id.hex()}"
        )
    if entry.kind not in SIGNED_BY_OFFICIALS:
        raise EntryRefused(
            f"a {entry.kind} entry is not the officials' to sign (they sign "
            f"{', '.join(SIGNED_BY_OFFICIALS)})"
        )
    allowed = set(view.manifest.officials)
    whose = "officials'"
    if entry.kind == kinds.JOINT_KEY:
        allowed |= set(view.manifest.guardians)
        whose = "officials' and guardians'"
    if entry.kind == kinds.PAILLIER_KEY and view.manifest.dealer is not None:
        allowed.add(view.manifest.dealer)
        whose = "officials' and dealer's"
    strangers = [key for key in entry.signers if key not in allowed]
    if strangers:
        raise EntryRefused(
            f"this {entry.kind} entry is signed by keys that are not the manifest's {whose} ("
            + ", ".join(key.encode().hex()[:16] + "…" for key in strangers)
            + f"); make it again with {whose} keys only"
        )
    try:
        entry.verify_signatures()
    except InvalidSignature as error:
        raise EntryRefused(f"a signature on this {entry.kind} entry fails: {error}") from error
    if entry.kind == kinds.JOINT_KEY:
        _check_joint_key_entry(view, entry)
        return None
    if entry.kind == kinds.PAILLIER_KEY:
        _check_dealt_key_entry(view, entry)
        return None
    if entry.kind in (kinds.OPEN, kinds.CLOSE):
        phase: Phase = "open" if entry.kind == kinds.OPEN else "close"
        try:
            mark = PhaseMark.from_tlv(entry.body, phase)
        except DecodeError as error:
            raise EntryRefused(f"the {phase} mark does not parse: {error}") from error
        check_phase(view, phase, mark)
        return None
    if entry.kind == kinds.TALLY:
        check_tally_entry(view, entry)
        return None
    return check_result_entry(view, entry)


def _check_joint_key_entry(view: BoardView, entry: Entry) -> None:
    """A joint key as officials sign it: no joint key on the board yet, the guardians' whole
    ceremony on the board checks (the verifier's check 4: nobody disqualified), and the body
    is exactly ``K``, every verification key and ``H_E`` recomputed from their commitments."""
    if view.index_of(entry) is None:
        joint_at = the_one(view, kinds.JOINT_KEY)
        if joint_at is not None:
            raise StepRefused(f"the joint key is already on the board (entry {joint_at})")
    found, commitments = checks.check_guardians(view.entries, view.manifest)
    if not found.passed or commitments is None:
        reasons = "; ".join(str(failure) for failure in found.failures) or "no commitments"
        raise StepRefused(
            f"the guardians' key ceremony on the board is not complete or does not check "
            f"({reasons}): sign a joint key only after every guardian's rounds are posted and "
            "nobody is disqualified"
        )
    try:
        context = ElectionContext.create(view.manifest, commitments)
        joint = JointKey.from_tlv(entry.body)
    except (DecodeError, InvalidInput) as error:
        raise EntryRefused(f"this joint key cannot be checked: {error}") from error
    if (joint.joint_key, joint.extended_hash, joint.verification_keys) != (
        context.joint_key,
        context.extended_hash,
        context.verification_keys,
    ):
        raise EntryRefused(
            "this joint key is not the one the guardians' commitments on the board give "
            f"(K = {context.joint_key.encode().hex()}, H_E = {context.extended_hash.hex()}); "
            "do not sign it"
        )


def _check_dealt_key_entry(view: BoardView, entry: Entry) -> None:
    """The dealer's key as officials co-sign it: a scheme B election, signed by its dealer, no
    other key on the board, every guardian's transport key on the board before it (the
    dealer sealed the shares to them), and a key that fits the manifest."""
    manifest = view.manifest
    dealer = manifest.dealer
    if dealer is None:
        raise EntryRefused("a scheme A (elgamal) election has no dealer: it takes no paillier-key")
    if dealer not in entry.signers:
        raise EntryRefused(
            "this paillier-key entry is not signed by the manifest's dealer "
            f"({dealer.encode().hex()[:16]}…): only the dealer's own key entry is co-signed"
        )
    if view.index_of(entry) is None:
        key_at = the_one(view, kinds.PAILLIER_KEY)
        if key_at is not None:
            raise StepRefused(f"the dealer's key is already on the board (entry {key_at})")
        _require_transport_keys(view)
    try:
        dealt = DealtKey.from_tlv(entry.body)
    except DecodeError as error:
        raise EntryRefused(f"this paillier-key entry does not parse: {error}") from error
    try:
        check_dealt_key(manifest, dealt)
    except CeremonyError as error:
        raise EntryRefused(f"do not co-sign this dealer's key: {error}") from error


def _require_transport_keys(view: BoardView) -> None:
    """Every guardian's transport key is on the board, each signed by that guardian alone."""
    manifest = view.manifest
    have: set[int] = set()
    for index in view.positions(kinds.CEREMONY_TRANSPORT):
        entry = view.entries[index]
        try:
            posted = TransportKey.from_tlv(entry.body)
        except DecodeError:
            continue
        if 1 <= posted.guardian <= len(manifest.guardians) and entry.signers == (
            manifest.guardians[posted.guardian - 1],
        ):
            have.add(posted.guardian)
    missing = [g for g in range(1, len(manifest.guardians) + 1) if g not in have]
    if missing:
        raise StepRefused(
            f"guardians {missing} have no transport key on the board: the dealer deals after "
            "every guardian posted one (`evote guardian round`, then `evote post`)"
        )


def sign_entry(view: BoardView, entry: Entry, signers: Sequence[SigningKey]) -> Entry:
    """Add the officials' ``signers`` to a partly signed entry officials sign (their own
    kinds, or a guardian's copy of the joint key), after checking the entry, as it will be
    signed, against the board."""
    keys = officials_keys(view.manifest, signers)
    merged = merge_signatures([entry], keys)
    check_official_entry(view, merged)
    return merged


def quorum_missing(manifest: Manifest, entry: Entry) -> int:
    """How many more officials must sign ``entry`` (0 once the quorum signed)."""
    return max(0, manifest.official_quorum - checks.official_signers(entry, manifest))
