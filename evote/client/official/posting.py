"""Posting entries on the control port: any entry (an officials' step, the joint key, a
guardian's round or decryption shares) checked against the board first, and its receipt
checked offline after.

:func:`check_entry_to_post` runs the officials' own checks
(:func:`~evote.client.official.signing.check_official_entry`) on their kinds and the joint
key, and the result's rules on decryption shares, so that an entry the board would only
refuse later, or that no official should have signed, is never sent; :func:`post_entry` posts
it and checks the receipt (:func:`evote.client.receipt.check_receipt`). The server checks who
may post and sign each kind again.
"""

from __future__ import annotations

from typing import Final

from evote.board.entry import Entry
from evote.client.channels import ControlClient
from evote.client.official.contents import election_context, the_one
from evote.client.official.errors import EntryRefused, StepRefused
from evote.client.official.reading import BoardView
from evote.client.official.result import posted_tally, share_problem, verified_shares
from evote.client.official.signing import OFFICIAL_KINDS, check_official_entry, quorum_missing
from evote.client.receipt import Receipt, check_receipt
from evote.election.manifest import Manifest
from evote.errors import EntryRejected
from evote.record import kinds

#: Every kind of either scheme in phase order: scheme B's dealer's ceremony (its key, the
#: sealed shares, the guardians' key checks) where scheme A's joint key and key checks are.
_PHASE_ORDER: Final = (
    *kinds.ALL_KINDS[: kinds.ALL_KINDS.index(kinds.CREDENTIALS)],
    kinds.PAILLIER_KEY,
    kinds.PAILLIER_SHARE,
    kinds.PAILLIER_KEY_CHECK,
    *kinds.ALL_KINDS[kinds.ALL_KINDS.index(kinds.CREDENTIALS) :],
)


def phase_rank(kind: str) -> int:
    """Where ``kind`` comes in an election (the ceremony's rounds, the joint key or the
    dealer's key and shares, key checks, credentials, ..., shares, result): sorting a
    guardian's (or the dealer's) whole outbox by it posts each round before the next. Unknown
    kinds come last."""
    return _PHASE_ORDER.index(kind) if kind in _PHASE_ORDER else len(_PHASE_ORDER)


def check_entry_to_post(view: BoardView, entry: Entry) -> int | None:
    """Check an entry before it is posted; its index if these exact bytes are on the board
    already (posting it again is a harmless retry).

    Every entry: this election, and the envelope and signatures under the election's rules.
    Officials' entries: the quorum, and :func:`check_official_entry`. The joint key: every
    guardian's signature and the officials' quorum, and :func:`check_official_entry`.
    Decryption shares: after the tally, the guardian's first, every proof verifying. The
    server checks who may post and sign each kind again.
    """
    if entry.election_id != view.election_id:
        raise EntryRefused(
            f"this {entry.kind} entry belongs to election {entry.election_id.hex()}, not "
            f"{view.election_id.hex()}"
        )
    try:
        kinds.entry_rules(view.election_id, view.manifest.scheme_name).check(entry.encoded)
    except EntryRejected as error:
        raise EntryRefused(str(error)) from error
    existing = view.index_of(entry)
    if existing is not None:
        return existing
    if entry.kind == kinds.MANIFEST:
        raise EntryRefused("the manifest is entry 0 of the board (`evote setup`), never posted")
    if entry.kind in OFFICIAL_KINDS:
        missing = quorum_missing(view.manifest, entry)
        if missing:
            raise EntryRefused(
                f"this {entry.kind} entry needs {missing} more officials' signatures: each adds "
                "theirs with `evote official sign`, or merge the signed copies with "
                "`evote ceremony merge-signatures`"
            )
        check_official_entry(view, entry)
    elif entry.kind == kinds.JOINT_KEY:
        _check_joint_key_to_post(view, entry)
    elif entry.kind == kinds.PAILLIER_KEY:
        _check_dealt_key_to_post(view, entry)
    elif entry.kind == kinds.DECRYPTION_SHARE:
        _check_share_to_post(view, entry)
    return None


def _check_joint_key_to_post(view: BoardView, entry: Entry) -> None:
    manifest = view.manifest
    unsigned = [i for i, key in enumerate(manifest.guardians, 1) if key not in entry.signers]
    missing = quorum_missing(manifest, entry)
    if unsigned or missing:
        lacking = [f"guardian(s) {', '.join(map(str, unsigned))}"] if unsigned else []
        lacking += [f"{missing} more official(s)"] if missing else []
        raise EntryRefused(
            f"this joint-key entry still needs the signatures of {' and '.join(lacking)}: "
            "officials add theirs with `evote official sign`, and `evote ceremony "
            "merge-signatures` gathers them with every guardian's acknowledgement "
            "(joint-key-g<i>.entry from the last round)"
        )
    check_official_entry(view, entry)


def _check_dealt_key_to_post(view: BoardView, entry: Entry) -> None:
    manifest = view.manifest
    missing = quorum_missing(manifest, entry)
    if manifest.dealer is None or manifest.dealer not in entry.signers or missing:
        lacking = [] if missing == 0 else [f"{missing} more official(s)"]
        if manifest.dealer is None or manifest.dealer not in entry.signers:
            lacking.insert(0, "the dealer")
        raise EntryRefused(
            f"this paillier-key entry still needs the signatures of {' and '.join(lacking)}: "
            "the dealer writes it (`evote dealer deal`) and the officials add theirs with "
            "`evote official sign`"
        )
    check_official_entry(view, entry)


def _check_share_to_post(view: BoardView, entry: Entry) -> None:
    context = election_context(view)
    posted = posted_tally(view, context)
    result_at = the_one(view, kinds.RESULT)
    if result_at is not None:
        raise StepRefused(f"the result is already on the board (entry {result_at})")
    shares, problem = share_problem(entry, context, posted.tally)
    if shares is None:
        raise EntryRefused(f"these decryption shares do not count: the entry {problem}")
    verified, _ = verified_shares(view, context, posted)
    if shares.guardian in verified:
        raise StepRefused(
            f"guardian {shares.guardian} already has other decryption shares on the board; a "
            "guardian answers one tally once"
        )


def post_entry(control: ControlClient, manifest: Manifest, entry: Entry) -> Receipt:
    """Post ``entry`` on the control port and check the receipt offline against the manifest
    (:class:`evote.client.receipt.ReceiptRefused` if it does not prove the entry is on the
    board). Posting the same bytes again answers the same entry's receipt."""
    receipt = control.post(entry.encoded)
    check_receipt(receipt, manifest, entry.encoded)
    return receipt
