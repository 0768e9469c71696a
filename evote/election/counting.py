"""Counting rules for local elections and referendums, over plaintext totals.

Design doc local-elections.md §1: contest types C1–C6 (§1.1), the open-list PR algorithm in
seven steps (§1.3) and the worked examples E1–E5 (§1.4), which the unit tests reproduce.

These are pure functions: no I/O, no cryptography, no randomness. Every legal threshold is a
parameter with the design's default, and every share or quota is a :class:`fractions.Fraction`
compared exactly ("more than half" is strict; the 5 % threshold and the 25 % preference rule
are "at least"). Where the law as researched gives no rule (ties for a last seat or a largest
remainder), nothing is drawn by lot or invented: the outcome names the tied candidates or
parties and leaves those seats undecided for the officials.

Decisions taken where §1 is marked [R] or is silent are listed in the docstring of each
function. Bad arguments raise :class:`evote.errors.InvalidInput`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction
from types import MappingProxyType
from typing import Literal

from evote.errors import InvalidInput

MajorityBase = Literal["participants", "valid_votes"]
"""The denominator of a majority: everyone who took part (invalid ballots count) or valid votes."""

ExtraSeatRule = Literal["largest_unused_votes", "largest_district_share"]
"""Which territorial list of a party takes its second and further single-district seats."""

SingleDistrictRule = Literal[
    "largest_remainder", "guarantee_not_binding", "guarantee_binding", "guarantee_cannot_be_met"
]
"""How the single-district seats were distributed (§1.3 steps 5–6); see :func:`open_list`."""

SeatBasis = Literal["district", "single_list_first", "single_district_extra"]
"""Why a candidate holds a seat: a territorial district seat, the party's first single-district
seat (the first candidate of its single list), or a further single-district seat."""

_MAJORITY_BASES: tuple[str, ...] = ("participants", "valid_votes")
_EXTRA_SEAT_RULES: tuple[str, ...] = ("largest_unused_votes", "largest_district_share")
_HALF = Fraction(1, 2)


# --- outcomes ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PluralityOutcome:
    """Result of a plurality contest (C1 head, C3 multi-member district).

    ``len(elected) + repeat_seats + unfilled == seats`` always holds.
    """

    seats: int
    elected: tuple[str, ...]
    """Candidates elected, by votes descending (equal votes: in input order)."""
    repeat_voting: tuple[str, ...]
    """Candidates tied for the last seat(s): a repeat vote between them decides."""
    repeat_seats: int
    """How many seats the repeat vote between ``repeat_voting`` fills."""
    unfilled: int
    """Seats left empty because too few candidates received any vote: repeat elections."""


@dataclass(frozen=True, slots=True)
class MajorityOutcome:
    """Result of round one of an absolute-majority contest (C2 city head)."""

    winner: str | None
    base: int
    """The majority's denominator: participants or valid votes, per ``majority_base``."""
    valid_votes: int
    shares: Mapping[str, Fraction]
    """Each candidate's votes divided by ``base`` (all 0 when the base is 0)."""
    runoff: tuple[str, ...]
    """Candidates certain to be in the runoff (empty when there is a winner)."""
    tied_for_runoff: tuple[str, ...]
    """Candidates tied for the remaining runoff place(s): officials decide, nothing is drawn."""
    runoff_places_undecided: int
    """How many runoff places the tie in ``tied_for_runoff`` is for."""


@dataclass(frozen=True, slots=True)
class RunoffOutcome:
    """Result of a runoff (C2 round two): more votes wins; a tie elects nobody."""

    winner: str | None
    repeat_voting: tuple[str, ...]
    """The candidates tied for most votes when there is no winner."""


@dataclass(frozen=True, slots=True)
class ReferendumOutcome:
    """Result of a yes/no local referendum (C6, E5)."""

    valid: bool
    """The turnout quorum was met (always true without one)."""
    adopted: bool
    reason: str
    """The decisive comparison, in words, for the protocol."""
    turnout: Fraction
    """Participants divided by registered voters."""
    base: int
    """The majority's denominator: participants or valid (yes + no) votes."""
    yes_share: Fraction
    """Yes votes divided by ``base`` (0 when the base is 0)."""


@dataclass(frozen=True, slots=True)
class RemainderTie:
    """Parties with equal remaining unused votes competing for fewer single-district seats."""

    parties: tuple[str, ...]
    seats: int
    """How many seats the tied parties compete for (fewer than ``len(parties)``)."""
    remainder: int
    """Their equal unused votes at that point (after quotas already charged; may be ≤ 0)."""


@dataclass(frozen=True, slots=True)
class HolderTie:
    """A party's territorial lists tied for its further single-district seats (§1.3 step 7)."""

    party: str
    districts: tuple[str, ...]
    seats: int
    """How many of the party's seats the tied lists compete for (fewer than the lists)."""


@dataclass(frozen=True, slots=True)
class ElectedCandidate:
    """A seat holder of an open-list election and the basis of the seat (§1.3 steps 4, 7)."""

    name: str
    district: str | None
    """The territorial district of the candidate's list; None for the single list's first."""
    basis: SeatBasis


@dataclass(frozen=True, slots=True)
class OpenListOutcome:
    """Result of an open-list PR council election (C4/C5, §1.3 steps 1–7), with its trace.

    Mappings keyed by party cover the qualifying parties only, except ``party_totals`` and
    ``final_seats``, which cover every party. Districts and parties keep the input order.
    """

    council_size: int
    party_totals: Mapping[str, int]
    """Step 1: votes for each party's territorial lists, summed over the districts."""
    total_votes: int
    threshold_votes: int
    """Step 1: the fewest votes that reach the threshold (ceiling of threshold × total)."""
    qualifying: tuple[str, ...]
    qualifying_votes: int
    quota: int
    """Step 2: integer part of qualifying votes ÷ quota denominator."""
    preference_votes_needed: int
    """Step 4: the fewest personal votes that reach preference_share × quota."""
    district_seats: Mapping[str, Mapping[str, int]]
    """Step 3: district → party → ⌊votes ÷ quota⌋."""
    unused_votes: Mapping[str, Mapping[str, int]]
    """Step 3: district → party → votes − quota × district seats."""
    reordered_lists: Mapping[str, Mapping[str, tuple[str, ...]]]
    """Step 4: district → party → the territorial list after the preference rule."""
    party_unused_votes: Mapping[str, int]
    """Step 5: unused votes summed over districts."""
    remaining_seats: int
    """Step 5: R = council size − all district seats (negative if the districts overfill)."""
    single_district_rule: SingleDistrictRule
    single_district_seats: Mapping[str, int]
    """Step 6: the single-district seats as applied (tied seats not included)."""
    remainder_ties: tuple[RemainderTie, ...]
    """Step 6: seats left undecided because of equal remainders (as applied)."""
    plain_largest_remainder_seats: Mapping[str, int]
    """Step 6 without the one-seat guarantee, for comparison (legal review, E4b)."""
    plain_largest_remainder_ties: tuple[RemainderTie, ...]
    final_seats: Mapping[str, int]
    """District plus single-district seats; 0 for parties below the threshold."""
    elected: Mapping[str, tuple[ElectedCandidate, ...]]
    """Step 7: seat holders per party: district seats (district order), then single-district."""
    holder_ties: tuple[HolderTie, ...]
    vacant_seats: Mapping[str, int]
    """Seats a party won but has no candidate left to take (a list shorter than its seats)."""

    @property
    def guarantee_binding(self) -> bool:
        """The one-seat guarantee changed the single-district seats from plain largest remainder."""
        return self.single_district_rule == "guarantee_binding"

    @property
    def guarantee_cannot_be_met(self) -> bool:
        """R is smaller than the number of qualifying parties: plain largest remainder applied."""
        return self.single_district_rule == "guarantee_cannot_be_met"

    @property
    def district_seats_exceed_council(self) -> bool:
        """The district seats alone exceed the council (only when the quota is below the seats)."""
        return self.remaining_seats < 0

    @property
    def undecided_seats(self) -> int:
        """Single-district seats left to the officials by ``remainder_ties``."""
        return sum(tie.seats for tie in self.remainder_ties)


# --- argument checks ---------------------------------------------------------------------------


def _count(value: object, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidInput(f"{what} must be an integer, got {value!r}")
    if value < 0:
        raise InvalidInput(f"{what} must not be negative, got {value}")
    return value


def _positive(value: object, what: str) -> int:
    number = _count(value, what)
    if number < 1:
        raise InvalidInput(f"{what} must be at least 1, got {number}")
    return number


def _share(value: object, what: str, *, low: Fraction = Fraction(0)) -> Fraction:
    if isinstance(value, bool) or not isinstance(value, Fraction | int):
        raise InvalidInput(f"{what} must be a Fraction (exact), got {value!r}")
    share = Fraction(value)
    if not low <= share <= 1:
        raise InvalidInput(f"{what} must lie in [{low}, 1], got {share}")
    return share


def _name(value: object, what: str) -> str:
    if not isinstance(value, str) or not value:
        raise InvalidInput(f"{what} must be a non-empty string, got {value!r}")
    return value


def _choice(value: object, allowed: tuple[str, ...], what: str) -> None:
    if value not in allowed:
        raise InvalidInput(f"{what} must be one of {', '.join(allowed)}; got {value!r}")


def _counts(counts: object, what: str) -> dict[str, int]:
    if not isinstance(counts, Mapping):
        raise InvalidInput(f"{what} must be a mapping from name to votes")
    return {
        _name(key, f"a name in {what}"): _count(value, f"{what}[{key!r}]")
        for key, value in counts.items()
    }


def _pct(share: Fraction) -> str:
    return f"{float(share * 100):.2f} %"


# --- C1 / C3: plurality ------------------------------------------------------------------------


def _rank_into_seats(counts: Mapping[str, int], seats: int) -> PluralityOutcome:
    ranked = sorted((name for name, votes in counts.items() if votes > 0), key=lambda n: -counts[n])
    elected: list[str] = []
    left = seats
    index = 0
    while left > 0 and index < len(ranked):
        level = counts[ranked[index]]
        group = [name for name in ranked[index:] if counts[name] == level]
        if len(group) > left:
            return PluralityOutcome(seats, tuple(elected), tuple(group), left, 0)
        elected.extend(group)
        left -= len(group)
        index += len(group)
    return PluralityOutcome(seats, tuple(elected), (), 0, left)


def plurality(counts: Mapping[str, int], seats: int) -> PluralityOutcome:
    """The ``seats`` candidates with most votes are elected (C1 head, C3 district; §1.1, E1, E3).

    Candidates tied for the last seat(s) are not elected: they go to ``repeat_voting`` for the
    ``repeat_seats`` left (no lot; also when all candidates are tied). Decision (§1.1 silent): a
    candidate with no votes is never elected and never sent to a repeat vote; seats that only
    zero-vote candidates (or no candidates) could fill are ``unfilled`` — "repeat elections for
    the remaining seats" in C3.
    """
    checked = _counts(counts, "counts")
    return _rank_into_seats(checked, _positive(seats, "seats"))


# --- C2: absolute majority in two rounds -------------------------------------------------------


def absolute_majority(
    counts: Mapping[str, int],
    *,
    participants: int,
    majority_base: MajorityBase,
    majority_share: Fraction = _HALF,
) -> MajorityOutcome:
    """Round one of a city-head election (C2, §1.1 note N1, E2).

    A candidate wins with strictly more than ``majority_share`` (default 1/2) of the base:
    ``participants`` (invalid ballots count, N1's default reading) or ``valid_votes`` (the sum
    of ``counts``). Otherwise the two candidates with most votes go to a runoff; if a place is
    tied, the certain finalists are in ``runoff`` and the tied ones in ``tied_for_runoff`` for
    the officials to decide — nothing is drawn by lot. Decision: as in :func:`plurality`, a
    candidate with no votes does not reach the runoff. ``majority_share`` must lie in [1/2, 1).
    """
    checked = _counts(counts, "counts")
    participants = _count(participants, "participants")
    _choice(majority_base, _MAJORITY_BASES, "majority_base")
    share = _share(majority_share, "majority_share", low=_HALF)
    if share == 1:
        raise InvalidInput("majority_share must be below 1: nobody can get more than everyone")
    valid = sum(checked.values())
    if valid > participants:
        raise InvalidInput(f"the valid votes ({valid}) exceed the participants ({participants})")
    base = participants if majority_base == "participants" else valid
    shares = {
        name: Fraction(votes, base) if base else Fraction(0) for name, votes in checked.items()
    }
    winners = [name for name, votes in checked.items() if votes > share * base]
    if winners:  # at most one: two shares above 1/2 would exceed the base
        return MajorityOutcome(winners[0], base, valid, MappingProxyType(shares), (), (), 0)
    top_two = _rank_into_seats(checked, 2)
    return MajorityOutcome(
        None,
        base,
        valid,
        MappingProxyType(shares),
        top_two.elected,
        top_two.repeat_voting,
        top_two.repeat_seats,
    )


def runoff_result(counts: Mapping[str, int]) -> RunoffOutcome:
    """Round two (C2, E2): the candidate with more votes wins; any tie for most → repeat vote.

    Takes two candidates, or more when officials carried a tie for second place into the runoff.
    """
    checked = _counts(counts, "counts")
    if len(checked) < 2:
        raise InvalidInput(f"a runoff needs at least two candidates, got {len(checked)}")
    top = max(checked.values())
    leaders = tuple(name for name, votes in checked.items() if votes == top)
    if len(leaders) == 1:
        return RunoffOutcome(leaders[0], ())
    return RunoffOutcome(None, leaders)


# --- C6: local referendum ----------------------------------------------------------------------


def referendum(
    yes: int,
    no: int,
    *,
    registered: int,
    participants: int,
    turnout_quorum: Fraction | None,
    approval_quorum: Fraction | None,
    majority_base: MajorityBase,
    majority_share: Fraction = _HALF,
) -> ReferendumOutcome:
    """A yes/no local referendum (C6, §1.5, E5). Every rule is a parameter: no law exists yet.

    * ``valid``: participants ≥ ``turnout_quorum`` × registered ("invalid if fewer than 50 %
      vote", 2013 draft); always valid when the quorum is None.
    * ``adopted``: valid, yes > ``majority_share`` × base (strict; base = participants or
      yes + no), and, if ``approval_quorum`` is set, yes ≥ approval_quorum × registered.

    Participants include invalid ballots, so yes + no ≤ participants ≤ registered.
    """
    yes = _count(yes, "yes")
    no = _count(no, "no")
    registered = _positive(registered, "registered")
    participants = _count(participants, "participants")
    _choice(majority_base, _MAJORITY_BASES, "majority_base")
    share = _share(majority_share, "majority_share", low=_HALF)
    turnout_needed = None if turnout_quorum is None else _share(turnout_quorum, "turnout_quorum")
    approval_needed = (
        None if approval_quorum is None else _share(approval_quorum, "approval_quorum")
    )
    if yes + no > participants:
        raise InvalidInput(f"yes + no ({yes + no}) exceeds the participants ({participants})")
    if participants > registered:
        raise InvalidInput(f"participants ({participants}) exceed registered ({registered})")
    turnout = Fraction(participants, registered)
    base = participants if majority_base == "participants" else yes + no
    base_words = "participants" if majority_base == "participants" else "valid votes"
    yes_share = Fraction(yes, base) if base else Fraction(0)

    def outcome(valid: bool, adopted: bool, reason: str) -> ReferendumOutcome:
        return ReferendumOutcome(valid, adopted, reason, turnout, base, yes_share)

    if turnout_needed is not None and turnout < turnout_needed:
        return outcome(
            False,
            False,
            f"invalid: turnout {participants} of {registered} registered ({_pct(turnout)}) is "
            f"below the turnout quorum of {_pct(turnout_needed)}",
        )
    majority = f"{yes} yes of {base} {base_words} ({_pct(yes_share)})"
    if yes <= share * base:
        return outcome(True, False, f"not adopted: {majority} is not more than {_pct(share)}")
    if approval_needed is not None and yes < approval_needed * registered:
        return outcome(
            True,
            False,
            f"not adopted: {majority} is a majority, but {yes} yes of {registered} registered "
            f"({_pct(Fraction(yes, registered))}) is below the approval quorum of "
            f"{_pct(approval_needed)}",
        )
    return outcome(True, True, f"adopted: {majority} is more than {_pct(share)}")


# --- C4 / C5: open-list PR ---------------------------------------------------------------------


def preference_order(
    candidates: Sequence[tuple[str, int]],
    *,
    quota: int,
    preference_share: Fraction = Fraction(1, 4),
) -> tuple[str, ...]:
    """Re-order one territorial list by personal votes (§1.3 step 4, E4 TD1).

    ``candidates`` are (name, personal votes) in the party's list order. Candidates with at
    least ``preference_share`` × ``quota`` personal votes come first, by votes descending,
    equal votes keeping list order (the one higher on the list first); then everyone else in
    list order. District seats go to the top of the result.
    """
    checked = _candidates(candidates, "candidates")
    return _reorder(
        checked, _positive(quota, "quota"), _share(preference_share, "preference_share")
    )


def _candidates(candidates: object, what: str) -> list[tuple[str, int]]:
    if not isinstance(candidates, Sequence) or isinstance(candidates, str):
        raise InvalidInput(f"{what} must be a sequence of (name, personal votes)")
    checked: list[tuple[str, int]] = []
    for position, entry in enumerate(candidates, start=1):
        if not isinstance(entry, tuple) or len(entry) != 2:
            raise InvalidInput(f"{what} #{position} must be a (name, personal votes) pair")
        name = _name(entry[0], f"{what} #{position} name")
        checked.append((name, _count(entry[1], f"{what} #{position} ({name}) personal votes")))
    names = [name for name, _ in checked]
    if len(set(names)) != len(names):
        raise InvalidInput(f"{what} names a candidate twice")
    return checked


def _reorder(candidates: list[tuple[str, int]], quota: int, share: Fraction) -> tuple[str, ...]:
    needed = share * quota
    preferred = [(name, votes) for name, votes in candidates if votes >= needed]
    preferred.sort(key=lambda entry: -entry[1])  # stable: equal votes keep list order
    rest = [name for name, votes in candidates if votes < needed]
    return tuple(name for name, _ in preferred) + tuple(rest)


def _largest_remainder(
    claims: Mapping[str, int], seats: int, quota: int, guaranteed: Sequence[str]
) -> tuple[dict[str, int], tuple[RemainderTie, ...]]:
    """Seats by unused votes: integer parts of ``claim ÷ quota``, then largest remainders.

    Computed as "each seat to the largest claim not yet covered, charging a quota per seat",
    which gives exactly integer parts then largest remainders. Each ``guaranteed`` party first
    gets one seat charged a full quota. A group with equal claims larger than the seats left
    is reported as a tie and those seats stay undecided.
    """
    allocation = dict.fromkeys(claims, 0)
    residual = dict(claims)
    for party in guaranteed:
        allocation[party] += 1
        residual[party] -= quota
    left = seats - len(guaranteed)
    while left > 0 and residual:
        top = max(residual.values())
        group = [party for party in residual if residual[party] == top]
        if len(group) > left:
            return allocation, (RemainderTie(tuple(group), left, top),)
        for party in group:
            allocation[party] += 1
            residual[party] -= quota
        left -= len(group)
    return allocation, ()


def _seat_holders(
    party: str,
    district_seats: Mapping[str, int],
    lists: Mapping[str, tuple[str, ...]],
    keys: Mapping[str, Fraction],
    first: str,
    single_seats: int,
) -> tuple[tuple[ElectedCandidate, ...], tuple[HolderTie, ...], int]:
    """One party's seat holders (§1.3 steps 4 and 7): (holders, tie if any, vacant seats).

    District seats go to the top of each re-ordered list; the first single-district seat to
    the single list's first candidate; further ones one per list by descending ``keys``,
    round after round, each to the list's next candidate.
    """
    holders: list[ElectedCandidate] = []
    taken: dict[str, int] = {}
    vacant = 0
    for district, won in district_seats.items():
        order = lists[district]
        taken[district] = min(won, len(order))
        vacant += won - taken[district]
        holders.extend(ElectedCandidate(name, district, "district") for name in order[:won])
    extra = single_seats
    if extra > 0:
        holders.append(ElectedCandidate(first, None, "single_list_first"))
        extra -= 1
    while extra > 0:
        open_lists = [district for district in taken if taken[district] < len(lists[district])]
        if not open_lists:
            return tuple(holders), (), vacant + extra
        for level in sorted({keys[district] for district in open_lists}, reverse=True):
            group = [district for district in open_lists if keys[district] == level]
            if len(group) > extra:
                return tuple(holders), (HolderTie(party, tuple(group), extra),), vacant
            for district in group:
                name = lists[district][taken[district]]
                holders.append(ElectedCandidate(name, district, "single_district_extra"))
                taken[district] += 1
            extra -= len(group)
            if extra == 0:
                break
    return tuple(holders), (), vacant


def _check_party_votes(party_votes: object) -> dict[str, dict[str, int]]:
    if not isinstance(party_votes, Mapping) or not party_votes:
        raise InvalidInput("party_votes must map at least one territorial district to its votes")
    return {
        _name(district, "a district name"): _counts(votes, f"party_votes[{district!r}]")
        for district, votes in party_votes.items()
    }


def _check_lists(
    territorial_lists: object, votes: dict[str, dict[str, int]]
) -> dict[str, dict[str, list[tuple[str, int]]]]:
    if not isinstance(territorial_lists, Mapping):
        raise InvalidInput("territorial_lists must map each district to its parties' lists")
    for district in territorial_lists:
        if district not in votes:
            raise InvalidInput(f"territorial_lists names an unknown district {district!r}")
    lists: dict[str, dict[str, list[tuple[str, int]]]] = {}
    for district, district_votes in votes.items():
        if district not in territorial_lists:
            raise InvalidInput(f"territorial_lists has no lists for district {district!r}")
        by_party = territorial_lists[district]
        if not isinstance(by_party, Mapping):
            raise InvalidInput(f"territorial_lists[{district!r}] must map parties to lists")
        for party in by_party:
            if party not in district_votes:
                raise InvalidInput(
                    f"territorial_lists[{district!r}] names unknown party {party!r} "
                    "(no votes given for it in that district)"
                )
        lists[district] = {}
        for party, party_total in district_votes.items():
            if party not in by_party:
                raise InvalidInput(f"party {party!r} has no territorial list in {district!r}")
            where = f"the list of {party!r} in {district!r}"
            checked = _candidates(by_party[party], where)
            personal = sum(votes for _, votes in checked)
            if personal > party_total:
                raise InvalidInput(
                    f"{where}: personal votes ({personal}) exceed the party's votes "
                    f"({party_total}); every preference is on a ballot for the party"
                )
            lists[district][party] = checked
    return lists


def _check_firsts(single_list_first: object, parties: Sequence[str]) -> dict[str, str]:
    if not isinstance(single_list_first, Mapping):
        raise InvalidInput("single_list_first must map each party to its first candidate")
    for party in single_list_first:
        if party not in parties:
            raise InvalidInput(f"single_list_first names unknown party {party!r}")
    firsts: dict[str, str] = {}
    for party in parties:
        if party not in single_list_first:
            raise InvalidInput(f"party {party!r} has no first candidate of its single list")
        firsts[party] = _name(single_list_first[party], f"the first candidate of {party!r}")
    return firsts


def _check_unique_names(
    lists: dict[str, dict[str, list[tuple[str, int]]]], firsts: dict[str, str]
) -> None:
    seen: set[str] = set()
    names = [name for by_party in lists.values() for c in by_party.values() for name, _ in c]
    for name in [*names, *firsts.values()]:
        if name in seen:
            raise InvalidInput(
                f"candidate {name!r} appears twice: a candidate is on one list of one party "
                "(the single list's first candidate is on no territorial list)"
            )
        seen.add(name)


def _frozen(mapping: Mapping[str, Mapping[str, int]]) -> Mapping[str, Mapping[str, int]]:
    return MappingProxyType({key: MappingProxyType(dict(inner)) for key, inner in mapping.items()})


def open_list(
    council_size: int,
    party_votes: Mapping[str, Mapping[str, int]],
    territorial_lists: Mapping[str, Mapping[str, Sequence[tuple[str, int]]]],
    single_list_first: Mapping[str, str],
    *,
    threshold: Fraction = Fraction(5, 100),
    preference_share: Fraction = Fraction(1, 4),
    quota_denominator: int | None = None,
    guarantee_one_seat: bool = True,
    extra_seat_rule: ExtraSeatRule = "largest_unused_votes",
) -> OpenListOutcome:
    """Open-list PR council election (C4/C5), §1.3 steps 1–7, with an explanation trace.

    Arguments:

    * ``party_votes``: district → party → votes for the party's territorial list there.
    * ``territorial_lists``: district → party → [(candidate, personal votes), …] in list order;
      the same districts and parties as ``party_votes`` (a list may be empty). Personal votes
      of a list cannot exceed the party's votes in that district.
    * ``single_list_first``: every party → the first candidate of its single list (on no
      territorial list). Candidate names are unique across all lists.
    * ``threshold`` (5 %, "at least"), ``preference_share`` (1/4 of the quota, "at least"),
      ``quota_denominator`` (the council size by default, [R] in §1.3 step 2).

    Steps: 1 parties with ≥ threshold × all votes qualify; 2 quota Q = ⌊qualifying votes ÷
    denominator⌋; 3 district seats ⌊votes ÷ Q⌋ and unused votes; 4 lists re-ordered by
    :func:`preference_order`; 5 R = council size − district seats, unused votes summed per
    party; 6 R distributed; 7 seat holders.

    Decisions where §1.3 is [R] or silent:

    * Step 6 with ``guarantee_one_seat``: every qualifying party first gets one single-district
      seat, charged one quota of its unused votes; the other R − (qualifying parties) seats go
      by integer parts then largest remainders of what is left. This reproduces E4 and E4b.
      ``single_district_rule`` is ``guarantee_binding`` when that differs from plain largest
      remainder (reported in ``plain_largest_remainder_*``), else ``guarantee_not_binding``.
      If R < the number of qualifying parties the guarantee cannot be met: the flag
      ``guarantee_cannot_be_met`` is set and plain largest remainder is applied.
      Without the guarantee the rule is ``largest_remainder``.
    * Should whole quotas of unused votes claim more seats than remain (possible when Q is
      below the number of seats, or when guarantee seats went to parties with less than a quota
      of unused votes), the seats go to the largest unused votes first.
    * Equal remainders competing for fewer seats are reported in ``remainder_ties``; those
      seats stay undecided (not in ``final_seats``). Nothing is drawn by lot.
    * Step 7: a party's first single-district seat goes to its single list's first candidate,
      with or without the guarantee. Further seats go one per territorial list in descending
      order of the list's unused votes (``largest_unused_votes``) or of the party's share of
      the district's votes (``largest_district_share``), each to the list's next candidate
      not yet elected (step-4 order); when every list with candidates left had one, the round
      starts again. Lists tied on that key for fewer seats → ``holder_ties``, seats unfilled.
    * A party with more seats than candidates left keeps the seats as ``vacant_seats``; district
      seats are never moved to another district's list.

    Raises InvalidInput for malformed arguments and when the quota would be 0 (no party
    qualifies, or fewer qualifying votes than the quota denominator): the method is undefined.
    """
    council_size = _positive(council_size, "council_size")
    threshold = _share(threshold, "threshold")
    preference_share = _share(preference_share, "preference_share")
    denominator = (
        council_size
        if quota_denominator is None
        else _positive(quota_denominator, "quota_denominator")
    )
    _choice(extra_seat_rule, _EXTRA_SEAT_RULES, "extra_seat_rule")
    votes = _check_party_votes(party_votes)
    parties = list(dict.fromkeys(party for by_party in votes.values() for party in by_party))
    lists = _check_lists(territorial_lists, votes)
    firsts = _check_firsts(single_list_first, parties)
    _check_unique_names(lists, firsts)

    # Step 1: threshold over all votes for territorial lists of all parties.
    totals = {
        party: sum(by_party.get(party, 0) for by_party in votes.values()) for party in parties
    }
    total = sum(totals.values())
    qualifying = tuple(party for party in parties if totals[party] >= threshold * total)
    qualifying_votes = sum(totals[party] for party in qualifying)

    # Step 2: the quota.
    quota = qualifying_votes // denominator
    if quota == 0:
        raise InvalidInput(
            f"the quota is 0: {len(qualifying)} parties qualify with {qualifying_votes} votes "
            f"for a denominator of {denominator}; the method of §1.3 needs a positive quota"
        )

    # Steps 3 and 4: district seats, unused votes, re-ordered lists.
    district_seats = {
        district: {p: by_party[p] // quota for p in qualifying if p in by_party}
        for district, by_party in votes.items()
    }
    unused = {
        district: {p: by_party[p] % quota for p in qualifying if p in by_party}
        for district, by_party in votes.items()
    }
    reordered = {
        district: {p: _reorder(lists[district][p], quota, preference_share) for p in by_party}
        for district, by_party in district_seats.items()
    }

    # Step 5: the seats left for the single district and the unused votes per party.
    remaining = council_size - sum(sum(by_party.values()) for by_party in district_seats.values())
    party_unused = {p: sum(by_party.get(p, 0) for by_party in unused.values()) for p in qualifying}

    # Step 6: distribute R.
    plain = _largest_remainder(party_unused, remaining, quota, ())
    rule: SingleDistrictRule
    if not guarantee_one_seat:
        rule, applied = "largest_remainder", plain
    elif remaining < len(qualifying):
        rule, applied = "guarantee_cannot_be_met", plain
    else:
        applied = _largest_remainder(party_unused, remaining, quota, qualifying)
        rule = "guarantee_not_binding" if applied == plain else "guarantee_binding"
    single_seats, ties = applied

    # Step 7: seat holders.
    district_totals = {district: sum(by_party.values()) for district, by_party in votes.items()}

    def list_key(district: str, party: str) -> Fraction:
        if extra_seat_rule == "largest_unused_votes":
            return Fraction(unused[district][party])
        if district_totals[district] == 0:
            return Fraction(0)
        return Fraction(votes[district][party], district_totals[district])

    elected: dict[str, tuple[ElectedCandidate, ...]] = {}
    holder_ties: list[HolderTie] = []
    vacant: dict[str, int] = {}
    for party in qualifying:
        won = {d: by_party[party] for d, by_party in district_seats.items() if party in by_party}
        lists_of_party = {district: reordered[district][party] for district in won}
        keys = {district: list_key(district, party) for district in won}
        holders, tie, vacant[party] = _seat_holders(
            party, won, lists_of_party, keys, firsts[party], single_seats[party]
        )
        elected[party] = holders
        holder_ties.extend(tie)

    final = {
        party: (
            sum(by_party.get(party, 0) for by_party in district_seats.values())
            + single_seats[party]
            if party in single_seats
            else 0
        )
        for party in parties
    }
    return OpenListOutcome(
        council_size=council_size,
        party_totals=MappingProxyType(totals),
        total_votes=total,
        threshold_votes=math.ceil(threshold * total),
        qualifying=qualifying,
        qualifying_votes=qualifying_votes,
        quota=quota,
        preference_votes_needed=math.ceil(preference_share * quota),
        district_seats=_frozen(district_seats),
        unused_votes=_frozen(unused),
        reordered_lists=MappingProxyType(
            {district: MappingProxyType(dict(by_party)) for district, by_party in reordered.items()}
        ),
        party_unused_votes=MappingProxyType(party_unused),
        remaining_seats=remaining,
        single_district_rule=rule,
        single_district_seats=MappingProxyType(single_seats),
        remainder_ties=ties,
        plain_largest_remainder_seats=MappingProxyType(plain[0]),
        plain_largest_remainder_ties=plain[1],
        final_seats=MappingProxyType(final),
        elected=MappingProxyType(elected),
        holder_ties=tuple(holder_ties),
        vacant_seats=MappingProxyType(vacant),
    )
