"""Hypothesis invariants of the counting rules (design doc local-elections.md §1, §6 "property
tests": seat totals equal the council size, invariance to personal votes, monotonicity)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from hypothesis import assume, given
from hypothesis import strategies as st

from evote.election.counting import (
    OpenListOutcome,
    absolute_majority,
    open_list,
    plurality,
    preference_order,
    referendum,
)
from evote.errors import InvalidInput

NAMES = ["A", "B", "C", "D", "E", "F"]
counts_strategy = st.dictionaries(
    st.sampled_from(NAMES), st.integers(min_value=0, max_value=30), max_size=len(NAMES)
)


# --- plurality and absolute majority -----------------------------------------------------------


@given(counts=counts_strategy, seats=st.integers(min_value=1, max_value=7))
def test_plurality_winners_never_have_fewer_votes_than_a_loser(
    counts: dict[str, int], seats: int
) -> None:
    outcome = plurality(counts, seats)
    assert len(outcome.elected) + outcome.repeat_seats + outcome.unfilled == seats
    assert len(set(outcome.elected) | set(outcome.repeat_voting)) == len(outcome.elected) + len(
        outcome.repeat_voting
    )
    losers = [name for name in counts if name not in outcome.elected]
    for winner in outcome.elected:
        assert counts[winner] > 0
        assert all(counts[winner] >= counts[loser] for loser in losers)
        assert all(counts[winner] > counts[tied] for tied in outcome.repeat_voting)
    if outcome.repeat_voting:
        level = {counts[name] for name in outcome.repeat_voting}
        assert len(level) == 1
        assert 0 < outcome.repeat_seats < len(outcome.repeat_voting)
        assert outcome.unfilled == 0
        rest = [name for name in losers if name not in outcome.repeat_voting]
        assert all(counts[name] < min(level) for name in rest)
    else:
        assert outcome.repeat_seats == 0
    if outcome.unfilled:
        assert all(counts[loser] == 0 for loser in losers)


@given(counts=counts_strategy, seats=st.integers(min_value=1, max_value=7), data=st.data())
def test_plurality_does_not_depend_on_input_order(
    counts: dict[str, int], seats: int, data: st.DataObject
) -> None:
    shuffled = data.draw(st.permutations(list(counts.items())))
    first, second = plurality(counts, seats), plurality(dict(shuffled), seats)
    assert set(first.elected) == set(second.elected)
    assert set(first.repeat_voting) == set(second.repeat_voting)
    assert (first.repeat_seats, first.unfilled) == (second.repeat_seats, second.unfilled)


@given(
    counts=counts_strategy,
    invalid=st.integers(min_value=0, max_value=30),
    base=st.sampled_from(["participants", "valid_votes"]),
)
def test_absolute_majority_winner_has_more_than_half(
    counts: dict[str, int], invalid: int, base: Any
) -> None:
    participants = sum(counts.values()) + invalid
    outcome = absolute_majority(counts, participants=participants, majority_base=base)
    expected_base = participants if base == "participants" else sum(counts.values())
    assert outcome.base == expected_base
    above = [name for name, votes in counts.items() if 2 * votes > expected_base]
    assert above == ([outcome.winner] if outcome.winner else [])
    if outcome.winner is not None:
        assert outcome.runoff == outcome.tied_for_runoff == ()
        return
    assert len(outcome.runoff) + outcome.runoff_places_undecided <= 2
    finalists = [*outcome.runoff, *outcome.tied_for_runoff]
    others = [name for name in counts if name not in finalists]
    for finalist in finalists:
        assert all(counts[finalist] >= counts[other] for other in others)


# --- referendum --------------------------------------------------------------------------------

quorum = st.none() | st.fractions(min_value=0, max_value=1, max_denominator=20)


@given(
    yes=st.integers(min_value=0, max_value=200),
    no=st.integers(min_value=0, max_value=200),
    invalid=st.integers(min_value=1, max_value=50),
    absent=st.integers(min_value=0, max_value=400),
    turnout_quorum=quorum,
    approval_quorum=quorum,
    base=st.sampled_from(["participants", "valid_votes"]),
)
def test_referendum_adoption_is_monotone_in_yes_votes(
    yes: int,
    no: int,
    invalid: int,
    absent: int,
    turnout_quorum: Fraction | None,
    approval_quorum: Fraction | None,
    base: Any,
) -> None:
    participants = yes + no + invalid
    arguments: dict[str, Any] = {
        "registered": participants + absent,
        "participants": participants,
        "turnout_quorum": turnout_quorum,
        "approval_quorum": approval_quorum,
        "majority_base": base,
    }
    before = referendum(yes, no, **arguments)
    one_invalid_more_yes = referendum(yes + 1, no, **arguments)  # an invalid ballot becomes yes
    assert before.valid == one_invalid_more_yes.valid
    if before.adopted:
        assert before.valid
        assert one_invalid_more_yes.adopted
        if no:
            assert referendum(yes + 1, no - 1, **arguments).adopted  # a no becomes yes
    if turnout_quorum is not None:
        assert before.valid == (participants >= turnout_quorum * (participants + absent))


# --- open-list PR ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Election:
    council_size: int
    votes: dict[str, dict[str, int]]
    lists: dict[str, dict[str, Sequence[tuple[str, int]]]]
    firsts: dict[str, str]


@st.composite
def elections(draw: st.DrawFn) -> Election:
    districts = [f"TD{i}" for i in range(1, draw(st.integers(min_value=1, max_value=5)) + 1)]
    parties = NAMES[: draw(st.integers(min_value=2, max_value=5))]
    votes: dict[str, dict[str, int]] = {}
    lists: dict[str, dict[str, Sequence[tuple[str, int]]]] = {}
    for district in districts:
        # A party may run no list in a district.
        present = [p for p in parties if draw(st.integers(min_value=0, max_value=5)) > 0]
        votes[district] = {p: draw(st.integers(min_value=0, max_value=3_000)) for p in present}
        lists[district] = {}
        for party in present:
            length = draw(st.integers(min_value=0, max_value=8))
            ceiling = votes[district][party] // 8
            personal = draw(st.lists(st.integers(0, ceiling), min_size=length, max_size=length))
            names = [f"{party}-{district}-{i}" for i in range(1, length + 1)]
            lists[district][party] = list(zip(names, personal, strict=True))
    council = draw(st.integers(min_value=3, max_value=60))
    present_parties = {party for by_party in votes.values() for party in by_party}
    return Election(council, votes, lists, {p: f"{p}-first" for p in present_parties})


def count(election: Election, **parameters: Any) -> OpenListOutcome:
    try:
        return open_list(
            election.council_size, election.votes, election.lists, election.firsts, **parameters
        )
    except InvalidInput as error:
        assume("quota is 0" not in str(error))
        raise


def holder_tie_seats(outcome: OpenListOutcome, party: str) -> int:
    return sum(tie.seats for tie in outcome.holder_ties if tie.party == party)


@given(election=elections(), guarantee=st.booleans())
def test_open_list_seats_add_up(election: Election, guarantee: bool) -> None:
    outcome = count(election, guarantee_one_seat=guarantee)
    assume(not outcome.district_seats_exceed_council)
    total = sum(outcome.final_seats.values())
    if guarantee and not outcome.guarantee_cannot_be_met:
        assert total + outcome.undecided_seats == election.council_size
        assert all(outcome.single_district_seats[p] >= 1 for p in outcome.qualifying)
    if not guarantee or outcome.guarantee_cannot_be_met:
        assert outcome.single_district_seats == outcome.plain_largest_remainder_seats
        assert total + outcome.undecided_seats == election.council_size
    for party, seats in outcome.final_seats.items():
        if party not in outcome.qualifying:
            assert seats == 0
            assert outcome.party_totals[party] < outcome.threshold_votes
        else:
            assert outcome.party_totals[party] >= outcome.threshold_votes
            filled = len(outcome.elected[party])
            assert filled + outcome.vacant_seats[party] + holder_tie_seats(outcome, party) == seats


@given(election=elections())
def test_open_list_trace_is_consistent(election: Election) -> None:
    outcome = count(election)
    assert outcome.quota == outcome.qualifying_votes // election.council_size
    for district, by_party in outcome.district_seats.items():
        for party, seats in by_party.items():
            unused = outcome.unused_votes[district][party]
            assert seats * outcome.quota + unused == election.votes[district][party]
            assert 0 <= unused < outcome.quota
            reordered = outcome.reordered_lists[district][party]
            listed = election.lists[district][party]
            assert sorted(reordered) == sorted(name for name, _ in listed)
            assert reordered == preference_order(listed, quota=outcome.quota)
    district_total = sum(sum(by_party.values()) for by_party in outcome.district_seats.values())
    assert outcome.remaining_seats == election.council_size - district_total
    elected = [seat.name for seats in outcome.elected.values() for seat in seats]
    assert len(elected) == len(set(elected))
    for party, holders in outcome.elected.items():
        firsts = [seat for seat in holders if seat.basis == "single_list_first"]
        assert [seat.name for seat in firsts] == (
            [election.firsts[party]] if outcome.single_district_seats[party] else []
        )


@given(election=elections())
def test_guarantee_binds_exactly_when_plain_largest_remainder_leaves_a_party_out(
    election: Election,
) -> None:
    outcome = count(election)
    assume(not outcome.guarantee_cannot_be_met)
    assume(not outcome.remainder_ties and not outcome.plain_largest_remainder_ties)
    plain_minimum = min(outcome.plain_largest_remainder_seats.values())
    assert outcome.guarantee_binding == (plain_minimum == 0)
    if not outcome.guarantee_binding:
        assert outcome.single_district_seats == outcome.plain_largest_remainder_seats


@given(election=elections(), data=st.data())
def test_personal_votes_never_change_party_seats(election: Election, data: st.DataObject) -> None:
    outcome = count(election)
    reshuffled: dict[str, dict[str, Sequence[tuple[str, int]]]] = {
        district: {
            party: list(
                zip(
                    [name for name, _ in entries],
                    data.draw(st.permutations([votes for _, votes in entries])),
                    strict=True,
                )
            )
            for party, entries in by_party.items()
        }
        for district, by_party in election.lists.items()
    }
    other = count(Election(election.council_size, election.votes, reshuffled, election.firsts))
    assert other.final_seats == outcome.final_seats
    assert other.district_seats == outcome.district_seats
    assert other.single_district_seats == outcome.single_district_seats


@given(
    personal=st.lists(st.integers(min_value=0, max_value=60), max_size=8),
    quota=st.integers(min_value=1, max_value=200),
    share=st.fractions(min_value=0, max_value=1, max_denominator=10),
    data=st.data(),
)
def test_preference_order_puts_the_bar_first_and_ignores_votes_below_it(
    personal: list[int], quota: int, share: Fraction, data: st.DataObject
) -> None:
    candidates = [(f"K{i}", votes) for i, votes in enumerate(personal)]
    order = preference_order(candidates, quota=quota, preference_share=share)
    votes: Mapping[str, int] = dict(candidates)
    assert sorted(order) == sorted(votes)
    above = [name for name in order if votes[name] >= share * quota]
    assert list(order[: len(above)]) == above
    assert [votes[name] for name in above] == sorted((votes[name] for name in above), reverse=True)
    below = [name for name, v in candidates if v < share * quota]
    assert list(order[len(above) :]) == below
    # Permuting the votes of the candidates below the bar among them changes nothing.
    below_votes = data.draw(st.permutations([votes[name] for name in below]))
    swapped = dict(votes) | dict(zip(below, below_votes, strict=True))
    again = preference_order(
        [(name, swapped[name]) for name, _ in candidates], quota=quota, preference_share=share
    )
    assert again == order
