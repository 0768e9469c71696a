"""Decryption shares and the result: the guardians' shares on the board that verify against the
posted tally, and the result they decrypt it to, built or checked before an official signs it.

The result needs ``t`` guardians' verified shares (the manifest's guardian quorum); a share
entry counts only after the tally, signed by its guardian alone, as that guardian's first,
with every proof verifying. Combining the shares and applying each contest's counting rule
is :func:`evote.election.tally.tally_result`, which the mock election uses too.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from evote.board.entry import Entry
from evote.client.official.contents import (
    check_officials_signed,
    credential_list,
    election_context,
    the_one,
)
from evote.client.official.errors import BoardUntrusted, EntryRefused, StepRefused
from evote.client.official.phases import officials_keys
from evote.client.official.reading import BoardView
from evote.crypto.signing import SigningKey
from evote.election.context import ElectionContext
from evote.election.tally import (
    EncryptedTally,
    GuardianShares,
    TallyResult,
    check_guardian_shares,
    tally_result,
)
from evote.errors import DecodeError, InvalidInput
from evote.record import kinds


@dataclass(frozen=True, slots=True)
class PostedTally:
    """The tally on the board, where it is, and the number of credentials it was counted
    from (the registered voters of the outcome's turnout rules)."""

    index: int
    tally: EncryptedTally
    registered: int


def posted_tally(view: BoardView, context: ElectionContext | None = None) -> PostedTally:
    """The one tally on the board, after the close and signed by an official quorum, read
    with the election context (derived from the board when not given: a scheme B tally's
    ciphertexts are read with the dealer's key)."""
    tally_at = the_one(view, kinds.TALLY)
    if tally_at is None:
        raise StepRefused(
            "there is no tally on the board yet: post it first (`evote official tally`)"
        )
    close_at = the_one(view, kinds.CLOSE)
    if close_at is None or tally_at < close_at:
        raise BoardUntrusted(f"the tally (entry {tally_at}) does not follow a close")
    check_officials_signed(view, tally_at)
    if context is None:
        context = election_context(view)
    try:
        tally = EncryptedTally.from_tlv(view.entries[tally_at].body, context)
    except DecodeError as error:
        raise BoardUntrusted(f"the tally (entry {tally_at}) does not parse: {error}") from error
    return PostedTally(tally_at, tally, len(credential_list(view)))


def share_problem(
    entry: Entry, context: ElectionContext, tally: EncryptedTally
) -> tuple[GuardianShares | None, str | None]:
    """A decryption-share entry's shares, or why they do not count: the guardian must exist,
    have signed alone, and every share's proof must verify against its verification key and
    the tally's aggregate (target ``tally/<part>/<option>``)."""
    try:
        return check_guardian_shares(entry.body, entry.signers, context, tally), None
    except DecodeError as error:
        return None, f"does not parse: {error}"
    except InvalidInput as error:
        return None, str(error)


def verified_shares(
    view: BoardView, context: ElectionContext, posted: PostedTally
) -> tuple[dict[int, GuardianShares], list[str]]:
    """The decryption shares on the board that verify, by guardian (each guardian's first
    entry), and why each other share entry does not count."""
    verified: dict[int, GuardianShares] = {}
    problems: list[str] = []
    seen: set[int] = set()
    for index in view.positions(kinds.DECRYPTION_SHARE):
        if index < posted.index:
            problems.append(f"entry {index} comes before the tally")
            continue
        shares, problem = share_problem(view.entries[index], context, posted.tally)
        if shares is None:
            problems.append(f"entry {index} {problem}")
            continue
        if shares.guardian in seen:
            problems.append(f"entry {index}: guardian {shares.guardian} posted shares before")
            continue
        seen.add(shares.guardian)
        verified[shares.guardian] = shares
    return verified, problems


def _result_inputs(view: BoardView) -> tuple[ElectionContext, PostedTally]:
    result_at = the_one(view, kinds.RESULT)
    if result_at is not None:
        raise StepRefused(f"the result is already on the board (entry {result_at})")
    context = election_context(view)
    return context, posted_tally(view, context)


def build_result(view: BoardView) -> TallyResult:
    """The result from every guardian's verified shares on the board; refused with fewer than
    the guardians' quorum (naming who is missing and why the others do not count)."""
    context, posted = _result_inputs(view)
    verified, problems = verified_shares(view, context, posted)
    quorum = view.manifest.guardian_quorum
    if len(verified) < quorum:
        waiting = [g for g in range(1, len(view.manifest.guardians) + 1) if g not in verified]
        raise StepRefused(
            f"{len(verified)} guardians' decryption shares verify, and the result needs {quorum}: "
            f"waiting for guardians {waiting} (`evote guardian decrypt`, then `evote post`)"
            + (f"; not counted: {'; '.join(problems)}" if problems else "")
        )
    return tally_result(context, posted.tally, verified, posted.registered)


def result_entry(view: BoardView, signers: Sequence[SigningKey]) -> tuple[Entry, TallyResult]:
    """The result entry, signed by ``signers``, and the result it holds."""
    keys = officials_keys(view.manifest, signers)
    result = build_result(view)
    return Entry.create(kinds.RESULT, view.election_id, result.to_tlv(), keys), result


def check_result_entry(view: BoardView, entry: Entry) -> TallyResult:
    """The result a result entry holds, refused unless it is exactly what the verified shares
    of the guardians it names decrypt the posted tally to."""
    context, posted = _result_inputs(view)
    try:
        claimed = TallyResult.from_tlv(entry.body, view.manifest)
    except DecodeError as error:
        raise EntryRefused(f"the result entry does not parse: {error}") from error
    verified, _ = verified_shares(view, context, posted)
    named = set(claimed.guardians)
    unverified = sorted(named - set(verified))
    if len(named) != len(claimed.guardians) or unverified:
        raise EntryRefused(
            f"the result combines guardians {list(claimed.guardians)}, but "
            + (
                f"guardians {unverified} have no verified shares on the board"
                if unverified
                else "names a guardian twice"
            )
        )
    expected = tally_result(
        context, posted.tally, {g: verified[g] for g in named}, posted.registered
    )
    if expected.to_tlv() != entry.body:
        raise EntryRefused(
            "the result entry does not match what the guardians' shares on the board decrypt "
            f"to ({_difference(claimed, expected)}); do not sign it"
        )
    return expected


def _difference(claimed: TallyResult, expected: TallyResult) -> str:
    if claimed.guardians != expected.guardians:
        return f"guardians {list(claimed.guardians)}, expected in order {list(expected.guardians)}"
    for part, counts in expected.counts.items():
        if claimed.counts.get(part) != counts:
            said = list(claimed.counts.get(part, ()))
            return f"{part}: it says {said}, the shares give {list(counts)}"
    return "the outcome lines differ from those the counts give"
