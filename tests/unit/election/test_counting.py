"""Counting rules: the worked examples E1–E5 of design doc local-elections.md §1.4, the edge
cases listed at the end of §1.3, and argument checking."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from fractions import Fraction
from typing import Any

import pytest

from evote.election.counting import (
    ElectedCandidate,
    ExtraSeatRule,
    HolderTie,
    OpenListOutcome,
    RemainderTie,
    absolute_majority,
    open_list,
    plurality,
    preference_order,
    referendum,
    runoff_result,
)
from evote.errors import InvalidInput

Lists = dict[str, dict[str, Sequence[tuple[str, int]]]]

# --- E1: village head (C1) ---------------------------------------------------------------------


def test_e1_plurality_elects_k1() -> None:
    outcome = plurality({"K1": 1240, "K2": 1180, "K3": 410}, 1)
    assert outcome.elected == ("K1",)
    assert outcome.repeat_voting == ()
    assert (outcome.repeat_seats, outcome.unfilled) == (0, 0)


def test_e1_tie_variant_sends_k1_and_k2_to_repeat_voting() -> None:
    outcome = plurality({"K1": 1210, "K2": 1210, "K3": 410}, 1)
    assert outcome.elected == ()
    assert outcome.repeat_voting == ("K1", "K2")
    assert outcome.repeat_seats == 1


# --- E3: three-seat district (C3) --------------------------------------------------------------

E3 = {
    "Ivanenko": 412,
    "Petrenko": 388,
    "Sydorenko": 301,
    "Hnatiuk": 301,
    "Lysenko": 150,
    "Moroz": 97,
}


def test_e3_tie_for_the_last_seat_goes_to_repeat_voting() -> None:
    outcome = plurality(E3, 3)
    assert outcome.elected == ("Ivanenko", "Petrenko")
    assert outcome.repeat_voting == ("Sydorenko", "Hnatiuk")
    assert (outcome.repeat_seats, outcome.unfilled) == (1, 0)


def test_e3_a_tie_that_fits_the_seats_elects_both() -> None:
    outcome = plurality(E3, 4)
    assert outcome.elected == ("Ivanenko", "Petrenko", "Sydorenko", "Hnatiuk")
    assert outcome.repeat_voting == ()


def test_plurality_orders_the_elected_by_votes_not_input_order() -> None:
    assert plurality({"A": 5, "B": 9, "C": 7}, 2).elected == ("B", "C")


def test_plurality_all_tied_elects_nobody() -> None:
    outcome = plurality({"A": 7, "B": 7, "C": 7}, 2)
    assert outcome.elected == ()
    assert outcome.repeat_voting == ("A", "B", "C")
    assert outcome.repeat_seats == 2


def test_plurality_with_fewer_candidates_than_seats_reports_unfilled_seats() -> None:
    outcome = plurality({"A": 3, "B": 1}, 4)
    assert outcome.elected == ("A", "B")
    assert outcome.unfilled == 2


def test_plurality_never_elects_a_candidate_without_votes() -> None:
    outcome = plurality({"A": 3, "B": 0, "C": 0}, 2)
    assert outcome.elected == ("A",)
    assert outcome.repeat_voting == ()
    assert outcome.unfilled == 1
    nobody = plurality({"A": 0, "B": 0}, 1)
    assert (nobody.elected, nobody.repeat_voting, nobody.unfilled) == ((), (), 1)
    assert plurality({}, 2).unfilled == 2


# --- E2: city head, two rounds (C2) ------------------------------------------------------------

E2 = {"X": 17_100, "Y": 12_540, "Z": 8_360}


@pytest.mark.parametrize(
    ("base", "denominator", "x_share"),
    [
        ("participants", 38_640, Fraction(17_100, 38_640)),
        ("valid_votes", 38_000, Fraction(45, 100)),
    ],
)
def test_e2_no_majority_runoff_x_against_y(base: Any, denominator: int, x_share: Fraction) -> None:
    outcome = absolute_majority(E2, participants=38_640, majority_base=base)
    assert outcome.winner is None
    assert outcome.base == denominator
    assert outcome.valid_votes == 38_000
    assert outcome.shares["X"] == x_share
    assert outcome.runoff == ("X", "Y")
    assert outcome.tied_for_runoff == ()
    assert outcome.runoff_places_undecided == 0


def test_e2_x_has_44_25_percent_of_participants() -> None:
    share = absolute_majority(E2, participants=38_640, majority_base="participants").shares["X"]
    assert Fraction(4425, 10_000) < share < Fraction(4426, 10_000)


def test_e2_runoff_y_elected() -> None:
    outcome = runoff_result({"X": 15_900, "Y": 16_300})
    assert outcome.winner == "Y"
    assert outcome.repeat_voting == ()


def test_runoff_tie_elects_nobody() -> None:
    outcome = runoff_result({"X": 16_000, "Y": 16_000})
    assert outcome.winner is None
    assert outcome.repeat_voting == ("X", "Y")


@pytest.mark.parametrize(
    ("counts", "base"),
    [
        ({"X": 19_320, "Y": 10_000, "Z": 8_680}, "participants"),  # 19 320 = 38 640 / 2
        ({"X": 19_000, "Y": 10_000, "Z": 9_000}, "valid_votes"),  # 19 000 = 38 000 / 2
    ],
)
def test_e2_exactly_half_is_not_more_than_half(counts: dict[str, int], base: Any) -> None:
    outcome = absolute_majority(counts, participants=38_640, majority_base=base)
    assert outcome.winner is None
    assert outcome.runoff == ("X", "Y")


def test_e2_one_vote_over_half_wins() -> None:
    counts = {"X": 19_321, "Y": 10_000, "Z": 8_680}
    outcome = absolute_majority(counts, participants=38_640, majority_base="participants")
    assert outcome.winner == "X"
    assert outcome.runoff == ()


def test_majority_base_decides_between_win_and_runoff() -> None:
    counts = {"X": 19_200, "Y": 10_000, "Z": 8_800}  # 50.5 % of valid, 49.7 % of participants
    assert absolute_majority(counts, participants=38_640, majority_base="valid_votes").winner == "X"
    by_participants = absolute_majority(counts, participants=38_640, majority_base="participants")
    assert by_participants.winner is None
    assert by_participants.runoff == ("X", "Y")


def test_majority_share_is_a_parameter() -> None:
    counts = {"X": 25_000, "Y": 13_000}  # 65.8 % of valid votes
    assert absolute_majority(counts, participants=38_640, majority_base="valid_votes").winner == "X"
    strict = absolute_majority(
        counts, participants=38_640, majority_base="valid_votes", majority_share=Fraction(2, 3)
    )
    assert strict.winner is None


def test_tie_for_second_place_is_reported_not_drawn() -> None:
    counts = {"X": 400, "Y": 300, "Z": 300, "W": 100}
    outcome = absolute_majority(counts, participants=1_100, majority_base="participants")
    assert outcome.winner is None
    assert outcome.runoff == ("X",)
    assert outcome.tied_for_runoff == ("Y", "Z")
    assert outcome.runoff_places_undecided == 1


def test_tie_for_first_place_between_two_fills_the_runoff() -> None:
    counts = {"X": 400, "Y": 400, "Z": 200}
    outcome = absolute_majority(counts, participants=1_000, majority_base="participants")
    assert outcome.runoff == ("X", "Y")
    assert outcome.tied_for_runoff == ()


def test_three_way_tie_for_first_leaves_both_places_undecided() -> None:
    counts = {"X": 300, "Y": 300, "Z": 300}
    outcome = absolute_majority(counts, participants=900, majority_base="participants")
    assert outcome.runoff == ()
    assert outcome.tied_for_runoff == ("X", "Y", "Z")
    assert outcome.runoff_places_undecided == 2


def test_absolute_majority_with_no_votes_has_no_winner() -> None:
    outcome = absolute_majority({"X": 0, "Y": 0}, participants=0, majority_base="participants")
    assert outcome.winner is None
    assert outcome.base == 0
    assert outcome.shares == {"X": 0, "Y": 0}
    assert outcome.runoff == ()


# --- E5: local referendum (C6) -----------------------------------------------------------------


def e5(**changes: Any) -> Any:
    arguments: dict[str, Any] = {
        "registered": 6_000,
        "participants": 2_100,
        "turnout_quorum": None,
        "approval_quorum": None,
        "majority_base": "participants",
    }
    arguments.update(changes)
    yes = arguments.pop("yes", 1_150)
    no = arguments.pop("no", 890)
    return referendum(yes, no, **arguments)


def test_e5_fifty_percent_turnout_quorum_makes_it_invalid() -> None:
    outcome = e5(turnout_quorum=Fraction(1, 2))
    assert outcome.turnout == Fraction(35, 100)
    assert not outcome.valid
    assert not outcome.adopted
    assert "turnout quorum" in outcome.reason
    assert "35.00 %" in outcome.reason


def test_e5_without_quorum_majority_of_participants_adopts() -> None:
    outcome = e5()
    assert outcome.valid
    assert outcome.adopted
    assert outcome.base == 2_100
    assert outcome.yes_share == Fraction(1_150, 2_100)
    assert "54.76 %" in outcome.reason
    assert outcome.reason.startswith("adopted")


def test_e5_without_quorum_majority_of_valid_votes_adopts() -> None:
    outcome = e5(majority_base="valid_votes")
    assert outcome.adopted
    assert outcome.base == 2_040
    assert "56.37 %" in outcome.reason


def test_referendum_turnout_exactly_at_the_quorum_is_valid() -> None:
    outcome = e5(participants=3_000, turnout_quorum=Fraction(1, 2))
    assert outcome.valid
    assert outcome.adopted is False  # 1 150 of 3 000 is no majority of participants
    assert "not more than" in outcome.reason


def test_referendum_exactly_half_is_not_adopted() -> None:
    outcome = e5(yes=1_020, no=1_020, majority_base="valid_votes")
    assert outcome.valid
    assert not outcome.adopted
    assert e5(yes=1_021, no=1_019, majority_base="valid_votes").adopted


def test_referendum_approval_quorum() -> None:
    below = e5(approval_quorum=Fraction(1, 4))  # needs 1 500 yes of 6 000 registered
    assert below.valid
    assert not below.adopted
    assert "approval quorum" in below.reason
    exact = e5(yes=1_500, no=500, approval_quorum=Fraction(1, 4))
    assert exact.adopted


def test_referendum_with_no_participants() -> None:
    outcome = e5(yes=0, no=0, participants=0)
    assert outcome.yes_share == 0
    assert not outcome.adopted


# --- E4: community council, open lists (C4) ----------------------------------------------------

E4_VOTES: dict[str, dict[str, int]] = {
    "TD1": {"A": 1_500, "B": 900, "C": 600, "D": 250, "E": 150},
    "TD2": {"A": 1_100, "B": 1_000, "C": 500, "D": 200, "E": 100},
    "TD3": {"A": 1_200, "B": 700, "C": 800, "D": 150, "E": 150},
}
E4B_C = {"TD1": 700, "TD2": 350, "TD3": 1_050}
TD1_A = [
    ("Koval", 200),
    ("Melnyk", 40),
    ("Shevchenko", 30),
    ("Bondar", 25),
    ("Tkachenko", 150),
    ("Kravets", 90),
]
FIRSTS = {party: f"{party}-first" for party in "ABCDE"}


def generic_list(district: str, party: str, length: int = 6) -> list[tuple[str, int]]:
    """Candidates ``party-district-i`` with a few personal votes each, far below 25 % of Q."""
    return [(f"{party}-{district}-{i}", length - i) for i in range(1, length + 1)]


def lists_for(votes: Mapping[str, Mapping[str, int]], td1_a: Sequence[tuple[str, int]]) -> Lists:
    lists: Lists = {d: {p: generic_list(d, p) for p in by_party} for d, by_party in votes.items()}
    lists["TD1"]["A"] = td1_a
    return lists


def e4(
    *,
    votes: Mapping[str, Mapping[str, int]] = E4_VOTES,
    td1_a: Sequence[tuple[str, int]] = TD1_A,
    **parameters: Any,
) -> OpenListOutcome:
    return open_list(26, votes, lists_for(votes, td1_a), FIRSTS, **parameters)


def e4b_votes() -> dict[str, dict[str, int]]:
    votes = {district: dict(by_party) for district, by_party in E4_VOTES.items()}
    for district, c_votes in E4B_C.items():
        votes[district]["C"] = c_votes
    return votes


def test_e4_step1_threshold() -> None:
    outcome = e4()
    assert outcome.party_totals == {"A": 3_800, "B": 2_600, "C": 1_900, "D": 600, "E": 400}
    assert outcome.total_votes == 9_300
    assert outcome.threshold_votes == 465
    assert outcome.qualifying == ("A", "B", "C", "D")
    assert outcome.qualifying_votes == 8_900


def test_e4_step2_quota_and_preference_bar() -> None:
    outcome = e4()
    assert outcome.quota == 342
    assert outcome.preference_votes_needed == 86  # 25 % of 342 = 85.5


def test_e4_step3_district_seats_and_unused_votes() -> None:
    outcome = e4()
    assert outcome.district_seats == {
        "TD1": {"A": 4, "B": 2, "C": 1, "D": 0},
        "TD2": {"A": 3, "B": 2, "C": 1, "D": 0},
        "TD3": {"A": 3, "B": 2, "C": 2, "D": 0},
    }
    assert outcome.unused_votes == {
        "TD1": {"A": 132, "B": 216, "C": 258, "D": 250},
        "TD2": {"A": 74, "B": 316, "C": 158, "D": 200},
        "TD3": {"A": 174, "B": 16, "C": 116, "D": 150},
    }
    per_party = {
        party: sum(by_party[party] for by_party in outcome.district_seats.values())
        for party in outcome.qualifying
    }
    assert per_party == {"A": 10, "B": 6, "C": 4, "D": 0}


def test_e4_steps5_and_6_single_district() -> None:
    outcome = e4()
    assert outcome.remaining_seats == 6
    assert outcome.party_unused_votes == {"A": 380, "B": 548, "C": 532, "D": 600}
    assert outcome.single_district_seats == {"A": 1, "B": 2, "C": 1, "D": 2}
    assert outcome.single_district_rule == "guarantee_not_binding"
    assert not outcome.guarantee_binding
    assert not outcome.guarantee_cannot_be_met
    assert outcome.plain_largest_remainder_seats == outcome.single_district_seats
    assert outcome.remainder_ties == ()
    assert outcome.undecided_seats == 0


def test_e4_final_seats() -> None:
    outcome = e4()
    assert outcome.final_seats == {"A": 11, "B": 8, "C": 5, "D": 2, "E": 0}
    assert sum(outcome.final_seats.values()) == 26
    assert outcome.vacant_seats == {"A": 0, "B": 0, "C": 0, "D": 0}


def test_e4_final_seats_equal_hare_largest_remainder_on_totals() -> None:
    outcome = e4()
    totals = {party: outcome.party_totals[party] for party in outcome.qualifying}
    quotas = {
        party: Fraction(votes * 26, outcome.qualifying_votes) for party, votes in totals.items()
    }
    hare = {party: int(share) for party, share in quotas.items()}
    by_remainder = sorted(quotas, key=lambda party: quotas[party] - hare[party], reverse=True)
    for party in by_remainder[: 26 - sum(hare.values())]:
        hare[party] += 1
    assert hare == {party: outcome.final_seats[party] for party in outcome.qualifying}


def test_e4_td1_party_a_reorder() -> None:
    outcome = e4()
    assert outcome.reordered_lists["TD1"]["A"] == (
        "Koval",
        "Tkachenko",
        "Kravets",
        "Melnyk",
        "Shevchenko",
        "Bondar",
    )
    td1 = [seat.name for seat in outcome.elected["A"] if seat.district == "TD1"]
    assert td1 == ["Koval", "Tkachenko", "Kravets", "Melnyk"]


def test_e4_td1_tie_variant_higher_on_the_list_ranks_first() -> None:
    tied = [(name, 150 if name == "Kravets" else votes) for name, votes in TD1_A]
    order = e4(td1_a=tied).reordered_lists["TD1"]["A"]
    assert order[:3] == ("Koval", "Tkachenko", "Kravets")
    # The same pair with list positions swapped: now Kravets is higher on the list.
    swapped = [tied[0], tied[5], tied[1], tied[2], tied[3], tied[4]]
    assert preference_order(swapped, quota=342)[:3] == ("Koval", "Kravets", "Tkachenko")


def test_e4_lists_without_preferences_keep_list_order() -> None:
    outcome = e4()
    assert outcome.reordered_lists["TD2"]["B"] == tuple(
        name for name, _ in generic_list("TD2", "B")
    )


def test_e4_step7_seat_holders() -> None:
    outcome = e4()
    assert outcome.elected["A"][-1] == ElectedCandidate("A-first", None, "single_list_first")
    assert len(outcome.elected["A"]) == 11
    assert outcome.elected["B"][-2:] == (
        ElectedCandidate("B-first", None, "single_list_first"),
        ElectedCandidate("B-TD2-3", "TD2", "single_district_extra"),  # TD2 unused 316
    )
    assert outcome.elected["C"][-1] == ElectedCandidate("C-first", None, "single_list_first")
    assert outcome.elected["D"] == (
        ElectedCandidate("D-first", None, "single_list_first"),
        ElectedCandidate("D-TD1-1", "TD1", "single_district_extra"),  # TD1 unused 250
    )
    assert outcome.holder_ties == ()
    for party, seats in outcome.final_seats.items():
        assert len(outcome.elected.get(party, ())) == seats


def test_e4_district_share_rule_picks_the_same_lists() -> None:
    outcome = e4(extra_seat_rule="largest_district_share")
    assert outcome.elected["B"][-1] == ElectedCandidate("B-TD2-3", "TD2", "single_district_extra")
    assert outcome.elected["D"][-1] == ElectedCandidate("D-TD1-1", "TD1", "single_district_extra")


def test_e4_threshold_and_quota_denominator_are_parameters() -> None:
    lower = e4(threshold=Fraction(4, 100))  # 4 % of 9 300 = 372 ≤ 400
    assert lower.qualifying == ("A", "B", "C", "D", "E")
    assert lower.quota == 9_300 // 26
    assert e4(quota_denominator=25).quota == 8_900 // 25
    assert e4(preference_share=Fraction(1, 10)).preference_votes_needed == 35  # 34.2 → 35


# --- E4b: the guarantee binds ------------------------------------------------------------------


def test_e4b_guarantee_binds() -> None:
    outcome = e4(votes=e4b_votes())
    assert outcome.total_votes == 9_500
    assert outcome.qualifying == ("A", "B", "C", "D")
    assert outcome.qualifying_votes == 9_100
    assert outcome.quota == 350
    per_party = {
        party: sum(by_party[party] for by_party in outcome.district_seats.values())
        for party in outcome.qualifying
    }
    assert per_party == {"A": 10, "B": 6, "C": 6, "D": 0}
    assert outcome.remaining_seats == 4
    assert outcome.party_unused_votes == {"A": 300, "B": 500, "C": 0, "D": 600}
    assert outcome.plain_largest_remainder_seats == {"A": 1, "B": 1, "C": 0, "D": 2}
    assert outcome.single_district_seats == {"A": 1, "B": 1, "C": 1, "D": 1}
    assert outcome.final_seats == {"A": 11, "B": 7, "C": 7, "D": 1, "E": 0}
    assert outcome.single_district_rule == "guarantee_binding"
    assert outcome.guarantee_binding
    assert not outcome.guarantee_cannot_be_met


def test_e4b_exact_multiples_leave_no_unused_votes() -> None:
    outcome = e4(votes=e4b_votes())
    assert [outcome.unused_votes[d]["C"] for d in ("TD1", "TD2", "TD3")] == [0, 0, 0]
    assert [outcome.district_seats[d]["C"] for d in ("TD1", "TD2", "TD3")] == [2, 1, 3]


def test_e4b_without_the_guarantee_is_plain_largest_remainder() -> None:
    outcome = e4(votes=e4b_votes(), guarantee_one_seat=False)
    assert outcome.single_district_rule == "largest_remainder"
    assert outcome.final_seats == {"A": 11, "B": 7, "C": 6, "D": 2, "E": 0}
    # The first single-district seat still goes to the single list's first candidate.
    assert outcome.elected["D"][0] == ElectedCandidate("D-first", None, "single_list_first")
    assert all(seat.name != "C-first" for seat in outcome.elected["C"])


# --- §1.3 edge cases ---------------------------------------------------------------------------


def one_district(council: int, votes: dict[str, int], **parameters: Any) -> OpenListOutcome:
    lists: Lists = {"TD1": {party: generic_list("TD1", party, 8) for party in votes}}
    firsts = {party: f"{party}-first" for party in votes}
    return open_list(council, {"TD1": votes}, lists, firsts, **parameters)


def test_guarantee_cannot_be_met_is_a_flag_and_plain_largest_remainder_applies() -> None:
    outcome = one_district(4, {"X": 110, "Y": 100, "Z": 90})
    assert outcome.quota == 75
    assert outcome.remaining_seats == 1
    assert outcome.guarantee_cannot_be_met
    assert outcome.single_district_rule == "guarantee_cannot_be_met"
    assert outcome.single_district_seats == {"X": 1, "Y": 0, "Z": 0}  # remainders 35, 25, 15
    assert outcome.final_seats == {"X": 2, "Y": 1, "Z": 1}


def test_remainder_tie_is_reported_and_the_seat_left_undecided() -> None:
    outcome = one_district(4, {"X": 100, "Y": 100, "Z": 100})
    assert outcome.guarantee_cannot_be_met
    assert outcome.remainder_ties == (RemainderTie(("X", "Y", "Z"), 1, 25),)
    assert outcome.undecided_seats == 1
    assert outcome.final_seats == {"X": 1, "Y": 1, "Z": 1}
    assert sum(outcome.final_seats.values()) + outcome.undecided_seats == 4


def test_guarantee_unmet_with_a_remainder_tie_and_without() -> None:
    # Q = 100: district seats X 2, Y 2, W 7 → R = 1 < 3 parties; remainders 50, 50, 0.
    tied = one_district(12, {"X": 250, "Y": 250, "W": 700})
    assert tied.guarantee_cannot_be_met
    assert tied.remainder_ties == (RemainderTie(("X", "Y"), 1, 50),)
    assert tied.single_district_seats == {"X": 0, "Y": 0, "W": 0}
    # Q = 100: district seats X 2, Y 2, W 6 → R = 2 < 3; remainders 90, 90, 20 → X and Y.
    untied = one_district(12, {"X": 290, "Y": 290, "W": 620})
    assert untied.guarantee_cannot_be_met
    assert untied.single_district_seats == {"X": 1, "Y": 1, "W": 0}
    assert untied.remainder_ties == ()


def test_remainder_tie_when_the_guarantee_is_met() -> None:
    # Two districts, council 14, Q = 100. District seats X 2, Y 2, W 6 → R = 4 ≥ 3 parties.
    votes = {"TD1": {"X": 180, "Y": 180, "W": 350}, "TD2": {"X": 180, "Y": 180, "W": 330}}
    lists: Lists = {d: {p: generic_list(d, p) for p in by_party} for d, by_party in votes.items()}
    outcome = open_list(14, votes, lists, {p: f"{p}-first" for p in "XYW"})
    assert outcome.quota == 100
    assert outcome.party_unused_votes == {"X": 160, "Y": 160, "W": 80}
    assert outcome.remaining_seats == 4
    # Guarantee: one each; residuals X 60, Y 60, W −20; one seat left for the X–Y tie.
    assert outcome.single_district_seats == {"X": 1, "Y": 1, "W": 1}
    assert outcome.remainder_ties == (RemainderTie(("X", "Y"), 1, 60),)
    assert outcome.single_district_rule == "guarantee_not_binding"
    assert sum(outcome.final_seats.values()) + outcome.undecided_seats == 14


def test_guarantee_seat_displaces_a_whole_quota_of_unused_votes() -> None:
    # Q = 100. X polls exact multiples (5 seats, no unused votes); Y 3 seats and 200 unused.
    votes = {
        "TD1": {"X": 100, "Y": 170},
        "TD2": {"X": 200, "Y": 170},
        "TD3": {"X": 200, "Y": 160},
    }
    lists: Lists = {d: {p: generic_list(d, p) for p in by_party} for d, by_party in votes.items()}
    outcome = open_list(10, votes, lists, {"X": "X-first", "Y": "Y-first"})
    assert outcome.party_unused_votes == {"X": 0, "Y": 200}
    assert outcome.remaining_seats == 2
    assert outcome.plain_largest_remainder_seats == {"X": 0, "Y": 2}
    assert outcome.single_district_seats == {"X": 1, "Y": 1}
    assert outcome.guarantee_binding
    assert outcome.final_seats == {"X": 6, "Y": 4}


def test_district_seats_exceeding_the_council_are_flagged() -> None:
    lists: Lists = {"TD1": {p: [(f"{p}{i}", 0) for i in range(6)] for p in "XY"}}
    outcome = open_list(5, {"TD1": {"X": 5, "Y": 4}}, lists, {"X": "X-first", "Y": "Y-first"})
    # Q = ⌊9 / 5⌋ = 1, so each vote is a district seat.
    assert outcome.quota == 1
    assert outcome.remaining_seats == -4
    assert outcome.district_seats_exceed_council
    assert outcome.guarantee_cannot_be_met
    assert outcome.single_district_seats == {"X": 0, "Y": 0}
    assert outcome.final_seats == {"X": 5, "Y": 4}
    assert not e4().district_seats_exceed_council


def test_exact_multiples_everywhere_leave_no_single_district_seats() -> None:
    outcome = one_district(5, {"X": 300, "Y": 200})
    assert outcome.unused_votes == {"TD1": {"X": 0, "Y": 0}}
    assert outcome.remaining_seats == 0
    assert outcome.guarantee_cannot_be_met
    assert outcome.final_seats == {"X": 3, "Y": 2}
    assert outcome.elected["X"] == tuple(
        ElectedCandidate(f"X-TD1-{i}", "TD1", "district") for i in (1, 2, 3)
    )


def test_a_list_shorter_than_its_district_seats_leaves_vacant_seats() -> None:
    votes = {"TD1": {"X": 250, "Y": 300}, "TD2": {"X": 160, "Y": 290}}
    lists: Lists = {d: {p: generic_list(d, p) for p in by_party} for d, by_party in votes.items()}
    lists["TD1"]["X"] = [("Solo", 1)]
    outcome = open_list(10, votes, lists, {"X": "X-first", "Y": "Y-first"})
    assert outcome.quota == 100
    assert outcome.district_seats == {"TD1": {"X": 2, "Y": 3}, "TD2": {"X": 1, "Y": 2}}
    assert outcome.final_seats == {"X": 4, "Y": 6}
    assert outcome.vacant_seats == {"X": 1, "Y": 0}
    assert [seat.name for seat in outcome.elected["X"]] == ["Solo", "X-TD2-1", "X-first"]


def extra_seat_case(
    td1_x: list[tuple[str, int]],
    td2_x: list[tuple[str, int]],
    rule: ExtraSeatRule = "largest_unused_votes",
) -> OpenListOutcome:
    # Q = 100. X: TD1 190 (1 seat, unused 90), TD2 170 (1, 70); Y: TD1 360, TD2 380.
    # R = 3: guarantee X 1, Y 1, then residuals X 60, Y 40 → X gets a second seat.
    votes = {"TD1": {"X": 190, "Y": 360}, "TD2": {"X": 170, "Y": 380}}
    lists: Lists = {
        "TD1": {"X": td1_x, "Y": generic_list("TD1", "Y")},
        "TD2": {"X": td2_x, "Y": generic_list("TD2", "Y")},
    }
    return open_list(11, votes, lists, {"X": "X-first", "Y": "Y-first"}, extra_seat_rule=rule)


def test_extra_seat_goes_to_the_list_with_largest_unused_votes() -> None:
    outcome = extra_seat_case(generic_list("TD1", "X"), generic_list("TD2", "X"))
    assert outcome.single_district_seats == {"X": 2, "Y": 1}
    assert outcome.elected["X"][-1] == ElectedCandidate("X-TD1-2", "TD1", "single_district_extra")


def test_extra_seat_skips_an_exhausted_list() -> None:
    outcome = extra_seat_case([("Only1", 0)], generic_list("TD2", "X"))
    assert outcome.elected["X"][-1] == ElectedCandidate("X-TD2-2", "TD2", "single_district_extra")
    assert outcome.vacant_seats["X"] == 0


def test_extra_seat_with_every_list_exhausted_is_vacant() -> None:
    outcome = extra_seat_case([("Only1", 0)], [("Only2", 0)])
    assert outcome.final_seats["X"] == 4
    assert [seat.name for seat in outcome.elected["X"]] == ["Only1", "Only2", "X-first"]
    assert outcome.vacant_seats["X"] == 1


def test_lists_tied_for_an_extra_seat_are_reported() -> None:
    # X: TD1 180 (unused 80), TD2 180 (unused 80); Y: TD1 360, TD2 380.
    votes = {"TD1": {"X": 180, "Y": 360}, "TD2": {"X": 180, "Y": 380}}
    lists: Lists = {d: {p: generic_list(d, p) for p in by_party} for d, by_party in votes.items()}
    firsts = {"X": "X-first", "Y": "Y-first"}
    outcome = open_list(11, votes, lists, firsts)
    assert outcome.single_district_seats == {"X": 2, "Y": 1}
    assert outcome.holder_ties == (HolderTie("X", ("TD1", "TD2"), 1),)
    assert len(outcome.elected["X"]) == outcome.final_seats["X"] - 1
    # By district share the lists differ (180/540 > 180/560): TD1 takes the seat.
    by_share = open_list(11, votes, lists, firsts, extra_seat_rule="largest_district_share")
    assert by_share.holder_ties == ()
    assert by_share.elected["X"][-1] == ElectedCandidate("X-TD1-2", "TD1", "single_district_extra")


def test_preference_rule_ties_and_the_exact_bar() -> None:
    candidates = [("P1", 10), ("P2", 86), ("P3", 85), ("P4", 86), ("P5", 200)]
    # Q = 344 → bar exactly 86 (≥ counts); equal 86 keeps list order P2 before P4.
    assert preference_order(candidates, quota=344) == ("P5", "P2", "P4", "P1", "P3")
    # Q = 348 → bar 87: only P5 moves up.
    assert preference_order(candidates, quota=348) == ("P5", "P1", "P2", "P3", "P4")


def test_threshold_exactly_five_percent_qualifies() -> None:
    at = one_district(26, {"X": 5_000, "Y": 4_500, "Z": 500})
    assert at.threshold_votes == 500
    assert at.qualifying == ("X", "Y", "Z")
    below = one_district(26, {"X": 5_001, "Y": 4_500, "Z": 499})
    assert below.qualifying == ("X", "Y")
    assert below.final_seats["Z"] == 0
    assert "Z" not in below.elected


def test_outcome_mappings_are_read_only() -> None:
    outcome = e4()
    with pytest.raises(TypeError):
        outcome.final_seats["A"] = 0  # type: ignore[index]


# --- argument checks ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("counts", "seats", "match"),
    [
        ({"A": -1}, 1, "negative"),
        ({"A": 1}, 0, "at least 1"),
        ({"A": 1.5}, 1, "integer"),
        ({"A": True}, 1, "integer"),
        ({"": 3}, 1, "non-empty"),
        ({"A": 1}, True, "integer"),
    ],
)
def test_plurality_rejects_bad_arguments(counts: Any, seats: Any, match: str) -> None:
    with pytest.raises(InvalidInput, match=match):
        plurality(counts, seats)


@pytest.mark.parametrize(
    ("changes", "match"),
    [
        ({"participants": 37_999}, "exceed the participants"),
        ({"majority_base": "registered"}, "majority_base"),
        ({"majority_share": Fraction(2, 5)}, "majority_share"),
        ({"majority_share": Fraction(1)}, "below 1"),
        ({"majority_share": 0.5}, "Fraction"),
        ({"participants": -1}, "negative"),
    ],
)
def test_absolute_majority_rejects_bad_arguments(changes: dict[str, Any], match: str) -> None:
    arguments: dict[str, Any] = {"participants": 38_640, "majority_base": "participants"}
    arguments.update(changes)
    with pytest.raises(InvalidInput, match=match):
        absolute_majority(E2, **arguments)


def test_runoff_needs_two_candidates() -> None:
    with pytest.raises(InvalidInput, match="two candidates"):
        runoff_result({"X": 5})
    with pytest.raises(InvalidInput, match="negative"):
        runoff_result({"X": 5, "Y": -5})


@pytest.mark.parametrize(
    ("changes", "match"),
    [
        ({"yes": 1_500, "no": 700}, "exceeds the participants"),
        ({"participants": 6_001}, "exceed registered"),
        ({"registered": 0}, "at least 1"),
        ({"yes": -1}, "negative"),
        ({"turnout_quorum": Fraction(3, 2)}, "turnout_quorum"),
        ({"turnout_quorum": 0.5}, "Fraction"),
        ({"approval_quorum": Fraction(-1, 4)}, "approval_quorum"),
        ({"majority_base": "yes_and_no"}, "majority_base"),
    ],
)
def test_referendum_rejects_bad_arguments(changes: dict[str, Any], match: str) -> None:
    with pytest.raises(InvalidInput, match=match):
        e5(**changes)


def bad_open_list(**changes: Any) -> None:
    arguments: dict[str, Any] = {
        "council_size": 26,
        "party_votes": E4_VOTES,
        "territorial_lists": lists_for(E4_VOTES, TD1_A),
        "single_list_first": FIRSTS,
    }
    arguments.update(changes)
    open_list(**arguments)


def test_open_list_accepts_the_unchanged_arguments() -> None:
    bad_open_list()  # the base case of the rejection tests below is valid


@pytest.mark.parametrize(
    ("changes", "match"),
    [
        ({"council_size": 0}, "at least 1"),
        ({"quota_denominator": 0}, "at least 1"),
        ({"threshold": 0.05}, "Fraction"),
        ({"threshold": Fraction(101, 100)}, "threshold"),
        ({"preference_share": Fraction(-1, 4)}, "preference_share"),
        ({"extra_seat_rule": "by_lot"}, "extra_seat_rule"),
        ({"single_list_first": {**FIRSTS, "F": "F-first"}}, "unknown party 'F'"),
        ({"single_list_first": {p: f for p, f in FIRSTS.items() if p != "E"}}, "'E' has no first"),
        ({"single_list_first": {**FIRSTS, "E": "A-first"}}, "appears twice"),
        ({"party_votes": {}}, "at least one territorial district"),
        ({"council_size": 10_000}, "quota is 0"),
        ({"threshold": Fraction(1)}, "quota is 0"),
    ],
)
def test_open_list_rejects_bad_arguments(changes: dict[str, Any], match: str) -> None:
    with pytest.raises(InvalidInput, match=match):
        bad_open_list(**changes)


def test_open_list_rejects_inconsistent_votes_and_lists() -> None:
    negative = {d: dict(by_party) for d, by_party in E4_VOTES.items()}
    negative["TD2"]["B"] = -1
    with pytest.raises(InvalidInput, match="negative"):
        bad_open_list(party_votes=negative, territorial_lists=lists_for(negative, TD1_A))

    extra_party = lists_for(E4_VOTES, TD1_A)
    extra_party["TD1"]["F"] = generic_list("TD1", "F")
    with pytest.raises(InvalidInput, match="unknown party 'F'"):
        bad_open_list(territorial_lists=extra_party)

    missing_list = lists_for(E4_VOTES, TD1_A)
    del missing_list["TD3"]["C"]
    with pytest.raises(InvalidInput, match="'C' has no territorial list in 'TD3'"):
        bad_open_list(territorial_lists=missing_list)

    unknown_district = lists_for(E4_VOTES, TD1_A)
    unknown_district["TD9"] = {}
    with pytest.raises(InvalidInput, match="unknown district 'TD9'"):
        bad_open_list(territorial_lists=unknown_district)

    missing_district = lists_for(E4_VOTES, TD1_A)
    del missing_district["TD2"]
    with pytest.raises(InvalidInput, match="no lists for district 'TD2'"):
        bad_open_list(territorial_lists=missing_district)

    too_many_preferences = [(name, votes * 10) for name, votes in TD1_A]  # 5 350 > 1 500
    with pytest.raises(InvalidInput, match="exceed the party's votes"):
        bad_open_list(territorial_lists=lists_for(E4_VOTES, too_many_preferences))

    duplicate = lists_for(E4_VOTES, [*TD1_A, ("Koval", 1)])
    with pytest.raises(InvalidInput, match="twice"):
        bad_open_list(territorial_lists=duplicate)

    across_lists = lists_for(E4_VOTES, [*TD1_A, ("B-TD2-1", 1)])
    with pytest.raises(InvalidInput, match="appears twice"):
        bad_open_list(territorial_lists=across_lists)

    not_pairs = lists_for(E4_VOTES, TD1_A)
    not_pairs["TD1"]["B"] = [("B1", 1, 2)]  # type: ignore[list-item]
    with pytest.raises(InvalidInput, match="pair"):
        bad_open_list(territorial_lists=not_pairs)


def test_preference_order_rejects_bad_arguments() -> None:
    with pytest.raises(InvalidInput, match="at least 1"):
        preference_order(TD1_A, quota=0)
    with pytest.raises(InvalidInput, match="negative"):
        preference_order([("A", -3)], quota=10)
    with pytest.raises(InvalidInput, match="preference_share"):
        preference_order(TD1_A, quota=342, preference_share=Fraction(5, 4))
