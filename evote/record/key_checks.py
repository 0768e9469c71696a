"""Which guardians showed on the board that their key share decrypts: the guardians' own key
checks (scheme A's ``key-check``, scheme B's ``paillier-key-check``) that verify.

The opening waits for every guardian's: the Control service refuses to open without them, and
the officials' client refuses to sign an opening without them, from this one rule.
"""

from __future__ import annotations

from collections.abc import Iterable

from evote.board.entry import Entry
from evote.ceremony.dealer import verify_paillier_key_check
from evote.ceremony.messages import KeyCheck, PaillierKeyCheck
from evote.ceremony.outcome import verify_key_check
from evote.election.context import ElectionContext
from evote.election.manifest import PAILLIER
from evote.errors import DecodeError, VerificationError
from evote.record import kinds


def key_check_kind(context: ElectionContext) -> str:
    """The entry kind of a guardian's key check in the context's scheme."""
    return kinds.PAILLIER_KEY_CHECK if context.manifest.scheme_name == PAILLIER else kinds.KEY_CHECK


def proved_key_check(entry: Entry, context: ElectionContext) -> int | None:
    """The guardian whose own key check ``entry`` is, if it is signed by that guardian alone
    and its proof verifies (scheme A: against ``K̂_ℓ``; scheme B: against ``v_ℓ``); else
    ``None``."""
    manifest = context.manifest
    try:
        check: KeyCheck | PaillierKeyCheck = (
            PaillierKeyCheck.from_tlv(entry.body, context.paillier_key)
            if manifest.scheme_name == PAILLIER
            else KeyCheck.from_tlv(entry.body)
        )
    except DecodeError:
        return None
    if not 1 <= check.guardian <= len(manifest.guardians):
        return None
    if entry.signers != (manifest.guardians[check.guardian - 1],):
        return None
    try:
        if isinstance(check, PaillierKeyCheck):
            verify_paillier_key_check(check, context)
        else:
            verify_key_check(check, context)
    except VerificationError:
        return None
    return check.guardian


def guardians_without_key_check(entries: Iterable[Entry], context: ElectionContext) -> list[int]:
    """The guardians (1..n) with no key check among ``entries`` that verifies."""
    kind = key_check_kind(context)
    proved = {proved_key_check(entry, context) for entry in entries if entry.kind == kind}
    return [g for g in range(1, len(context.manifest.guardians) + 1) if g not in proved]
