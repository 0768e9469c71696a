"""Signing entries made elsewhere: an official adds a signature only to an entry checked
against the board again, as if that official had made it.

Officials who sign on different machines pass the partly signed entry on, and each checks it
before adding a signature (:func:`sign_entry`): a phase mark must fit the phase, a tally must
be exactly the sum of each credential's last ballot, a result must be exactly what the
guardians' shares decrypt to. Officials sign the joint key the same way, on a guardian's
acknowledgement from the ceremony's last round: it must be the key the guardians' ceremony on
the board gives, after a ceremony that disqualified nobody.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

from evote.board.entry import Entry, merge_signatures
from evote.ceremony.messages import JointKey
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
from evote.errors import DecodeError, InvalidInput, InvalidSignature
from evote.record import kinds
from evote.record.kinds import PhaseMark
from evote.verify import checks

#: The kinds only officials post, each signed by a quorum of them.
OFFICIAL_KINDS: Final = (kinds.OPEN, kinds.CLOSE, kinds.TALLY, kinds.RESULT)
#: What officials sign (`evote official sign`): their own kinds and the joint key, which
#: every guardian signs too.
SIGNED_BY_OFFICIALS: Final = (kinds.JOINT_KEY, *OFFICIAL_KINDS)


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
    if entry.kind == kinds.JOINT_KEY:
        allowed |= set(view.manifest.guardians)
    strangers = [key for key in entry.signers if key not in allowed]
    if strangers:
        whose = "officials' and guardians'" if entry.kind == kinds.JOINT_KEY else "officials'"
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
