"""What is on the board, as the officials' steps need it: the one entry of a kind, who signed
the officials' entries, the election context the election key stands for (scheme A's joint key,
scheme B's dealer's key: :mod:`evote.client.election_key`), the voters' credentials and the
guardians' key checks.

Each function reads a checked :class:`~evote.client.official.reading.BoardView` and raises
:class:`~evote.client.official.errors.BoardUntrusted` for a board no official may build on (two
entries of a kind that has one, an election key the verifier's checks refuse, a list not
signed by the credential authority) and
:class:`~evote.client.official.errors.StepRefused` for something not posted yet.
"""

from __future__ import annotations

from evote.client.election_key import derive_context, key_kind, label
from evote.client.official.errors import BoardUntrusted, StepRefused
from evote.client.official.reading import BoardView
from evote.crypto.signing import VerifyKey
from evote.election.context import ElectionContext
from evote.election.manifest import PAILLIER
from evote.errors import DecodeError
from evote.record import kinds
from evote.record.key_checks import guardians_without_key_check, key_check_kind
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
    """The context every ballot binds, derived from the board as the verifier derives it
    (checks 4 and 5 for the manifest's scheme): scheme A's recomputed from the guardians'
    commitments and required to be the joint key the officials and every guardian signed,
    scheme B's the dealer's key the dealer and an official quorum signed."""
    manifest = view.manifest
    kind = key_kind(manifest)
    at = the_one(view, kind)
    if at is None:
        if manifest.scheme_name == PAILLIER:
            raise StepRefused(
                "the dealer's key is not on the board yet: every guardian posts its transport "
                "key, then the dealer deals and the officials co-sign its key"
            )
        raise StepRefused(
            "the joint key is not on the board yet: the guardians finish their key ceremony "
            "first, and the officials and every guardian sign the joint key"
        )
    context, findings = derive_context(view.entries, manifest)
    failures = [f"{label(found)}: {failure}" for found in findings for failure in found.failures]
    if failures or context is None:
        reasons = "; ".join(failures) or "no election context can be derived"
        raise BoardUntrusted(
            f"the election key ({kind}, entry {at}) does not check out ({reasons}): tell the "
            "other officials and the observers"
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
    kind = key_check_kind(context)
    missing = guardians_without_key_check(
        (view.entries[index] for index in view.positions(kind)), context
    )
    if missing:
        raise StepRefused(
            f"guardians {missing} have no key check on the board that verifies: each guardian "
            "shows it can decrypt (`evote guardian key-check`, then `evote post`) before the "
            "election opens"
        )
