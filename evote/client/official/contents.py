"""What is on the board, as the officials' steps need it: the one entry of a kind, who signed
the officials' entries, the election context the joint key stands for, the voters'
credentials and the guardians' key checks.

Each function reads a checked :class:`~evote.client.official.reading.BoardView` and raises
:class:`~evote.client.official.errors.BoardUntrusted` for a board no official may build on (two
entries of a kind that has one, a joint key that is not the guardians' commitments, a list not
signed by the credential authority) and
:class:`~evote.client.official.errors.StepRefused` for something not posted yet.
"""

from __future__ import annotations

from evote.ceremony.messages import GuardianKey, JointKey, KeyCheck
from evote.ceremony.outcome import verify_key_check
from evote.client.official.errors import BoardUntrusted, StepRefused
from evote.client.official.reading import BoardView
from evote.crypto.signing import VerifyKey
from evote.election.context import ElectionContext
from evote.errors import DecodeError, InvalidInput, ProofError
from evote.record import kinds
from evote.record.kinds import CredentialList
from evote.verify import checks


def the_one(view: BoardView, kind: str) -> int | None:
    """Where the one entry of ``kind`` is (``None`` before it is posted); more than one is a
    board no official builds on."""
    found = view.positions(kind)
    if len(found) > 1:
        raise BoardUntrusted(
            f"the board holds {len(found)} {kind} entries (at {', '.join(map(str, found))}); an "
            "election has exactly one: tell the other officials and the observers"
        )
    return found[0] if found else None


def check_officials_signed(view: BoardView, index: int) -> None:
    """Refuse the board unless entry ``index`` (an officials' kind) is signed by a quorum of
    the officials and by nobody else: the board's own rules do not know who may sign what."""
    entry, manifest = view.entries[index], view.manifest
    strangers = set(entry.signers) - set(manifest.officials)
    if strangers or checks.official_signers(entry, manifest) < manifest.official_quorum:
        raise BoardUntrusted(
            f"entry {index} ({entry.kind}) is not signed by a quorum of the "
            "officials, and only officials may post it"
        )


def election_context(view: BoardView) -> ElectionContext:
    """The context every ballot binds, recomputed from the guardians' commitments on the board
    and required to be the joint key the officials and every guardian signed."""
    manifest = view.manifest
    joint_at = the_one(view, kinds.JOINT_KEY)
    if joint_at is None:
        raise StepRefused(
            "the joint key is not on the board yet: the guardians finish their key ceremony "
            "first, and the officials and every guardian sign the joint key"
        )
    joint_entry = view.entries[joint_at]
    signers = set(joint_entry.signers)
    if (
        not set(manifest.guardians) <= signers
        or not signers <= set(manifest.guardians) | set(manifest.officials)
        or checks.official_signers(joint_entry, manifest) < manifest.official_quorum
    ):
        raise BoardUntrusted(
            f"the joint key (entry {joint_at}) is not signed by every guardian and a quorum of "
            "officials (and nobody else)"
        )
    commitments: dict[int, GuardianKey] = {}
    for index in view.positions(kinds.GUARDIAN_KEY):
        entry = view.entries[index]
        try:
            key = GuardianKey.from_tlv(entry.body)
        except DecodeError as error:
            raise BoardUntrusted(f"entry {index} (guardian-key) does not parse: {error}") from error
        if not 1 <= key.guardian <= len(manifest.guardians) or entry.signers != (
            manifest.guardians[key.guardian - 1],
        ):
            continue  # not this guardian's own entry: it speaks for nobody
        commitments.setdefault(key.guardian, key)
    missing = [g for g in range(1, len(manifest.guardians) + 1) if g not in commitments]
    if missing:
        raise BoardUntrusted(
            f"guardians {missing} posted no commitments, yet a joint key is posted"
        )
    try:
        context = ElectionContext.create(
            manifest, [commitments[g].commitments for g in sorted(commitments)]
        )
        joint = JointKey.from_tlv(joint_entry.body)
    except (DecodeError, InvalidInput) as error:
        raise BoardUntrusted(
            f"the joint key (entry {joint_at}) cannot be checked: {error}"
        ) from error
    if (joint.joint_key, joint.extended_hash, joint.verification_keys) != (
        context.joint_key,
        context.extended_hash,
        context.verification_keys,
    ):
        raise BoardUntrusted(
            f"the joint key (entry {joint_at}) is not the one the guardians' commitments give"
        )
    return context


def credential_list(view: BoardView) -> tuple[VerifyKey, ...]:
    """The voters' public credentials, from the one list the credential authority signed."""
    at = the_one(view, kinds.CREDENTIALS)
    if at is None:
        raise StepRefused(
            "registration is not closed: the credential list is not on the board yet (the "
            "credential authority runs `evote registry close`)"
        )
    entry = view.entries[at]
    if entry.signers != (view.manifest.credential_authority,):
        raise BoardUntrusted(f"the credential list (entry {at}) is not the authority's alone")
    try:
        return CredentialList.from_tlv(entry.body).credentials
    except DecodeError as error:
        raise BoardUntrusted(f"the credential list (entry {at}) does not parse: {error}") from error


def require_key_checks(view: BoardView, context: ElectionContext) -> None:
    """Refuse the step unless every guardian's own key check on the board verifies (each
    shows it can still decrypt before the election opens)."""
    manifest = view.manifest
    proved: set[int] = set()
    for index in view.positions(kinds.KEY_CHECK):
        entry = view.entries[index]
        try:
            check = KeyCheck.from_tlv(entry.body)
        except DecodeError:
            continue
        if not 1 <= check.guardian <= len(manifest.guardians):
            continue
        if entry.signers != (manifest.guardians[check.guardian - 1],):
            continue
        try:
            verify_key_check(check, context)
        except ProofError:
            continue
        proved.add(check.guardian)
    missing = [g for g in range(1, len(manifest.guardians) + 1) if g not in proved]
    if missing:
        raise StepRefused(
            f"guardians {missing} have no key check on the board that verifies: each guardian "
            "shows it can decrypt (`evote guardian key-check`, then `evote post`) before the "
            "election opens"
        )
