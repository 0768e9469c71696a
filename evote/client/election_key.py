"""The election context a client derives from the board: the one place that knows both schemes.

A voter's device, an observer and the officials each need the context every ballot binds, and
each must derive it from the board the way the independent verifier does (a client that trusted
the server's word for the key would encrypt to whoever runs the server). The verifier's checks
4 and 5 (:mod:`evote.verify.checks`) do the work; this module only picks them by the manifest's
scheme:

* scheme A (elgamal): the guardians' ceremony gives every guardian's commitments (check 4), and
  the context recomputed from them must be the ``joint-key`` entry the officials and every
  guardian signed (check 5). The joint key follows every ceremony round, so both run once it
  is posted.
* scheme B (paillier): the context is the dealer's ``paillier-key`` entry's key, signed by the
  dealer and an official quorum and fitting the manifest (check 5). The dealer's ceremony
  (check 4: a transport key from every guardian, one share sealed to each) is over only when
  the credential list is posted (every share and key check comes before it), and is judged from
  then on; before, a board in the middle of the dealer's ceremony would fail it for shares not
  posted yet.
"""

from __future__ import annotations

from collections.abc import Sequence

from evote.board.entry import Entry
from evote.election.context import ElectionContext
from evote.election.manifest import PAILLIER, Manifest
from evote.record import kinds
from evote.verify import checks
from evote.verify.checks import Findings


def key_kind(manifest: Manifest) -> str:
    """The kind of the entry that publishes the election key: ``joint-key`` (scheme A) or the
    dealer's ``paillier-key`` (scheme B). A client derives the context once it is on the board."""
    return kinds.PAILLIER_KEY if manifest.scheme_name == PAILLIER else kinds.JOINT_KEY


def label(findings: Findings) -> str:
    """``check 5 (joint-key)``: how a client names the verifier's check in what it reports."""
    return f"check {checks.CHECKS_BY_NAME[findings.check].number} ({findings.check})"


def derive_context(
    entries: Sequence[Entry], manifest: Manifest
) -> tuple[ElectionContext | None, tuple[Findings, ...]]:
    """The election context as the verifier derives it from ``entries`` (the board from entry 0,
    in order), and the findings of the checks that derived it (see the module for which run).

    The context is ``None`` when it cannot be derived (no key entry, incomplete commitments, a
    key that does not fit the manifest); otherwise it is returned even when a finding failed,
    as the verifier does, so that the caller decides whether a failure stops it.
    """
    if manifest.scheme_name == PAILLIER:
        found_key, context = checks.check_paillier_key(entries, manifest)
        if any(entry.kind == kinds.CREDENTIALS for entry in entries):
            return context, (checks.check_dealer_ceremony(entries, manifest), found_key)
        return context, (found_key,)
    found, commitments = checks.check_guardians(entries, manifest)
    if commitments is None:
        return None, (found,)
    found_joint, context = checks.check_joint_key(entries, manifest, commitments)
    return context, (found, found_joint)
