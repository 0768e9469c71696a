"""From decrypted counts to each contest's outcome, in lines a person reads and a verifier compares.

The result entry carries these lines; a verifier recomputes them from the counts with the
manifest's counting rules (:mod:`evote.election.counting`) and compares them exactly. Every
ballot style holds every contest (one district of an open list), so the participants of each
contest are the counted ballots.
"""

from __future__ import annotations

from collections.abc import Mapping

from evote.election import counting
from evote.election.manifest import Contest, Manifest
from evote.errors import InvalidInput


def outcome_lines(
    manifest: Manifest,
    counts: Mapping[str, tuple[int, ...]],
    *,
    registered: int,
    participants: int,
) -> tuple[str, ...]:
    """One line per contest, in manifest order: the counts' meaning under its rule."""
    lines = []
    for contest in manifest.contests:
        for part in contest.parts():
            if part not in counts:
                raise InvalidInput(f"no counts for {part}")
        lines.append(_line(contest, counts, registered, participants))
    return tuple(lines)


def _names(values: tuple[str, ...]) -> str:
    return ", ".join(values) if values else "nobody"


def _line(
    contest: Contest, counts: Mapping[str, tuple[int, ...]], registered: int, participants: int
) -> str:
    if contest.kind == "referendum":
        yes, no = counts[contest.id]
        outcome = counting.referendum(
            yes,
            no,
            registered=registered,
            participants=participants,
            turnout_quorum=contest.turnout_quorum,
            approval_quorum=contest.approval_quorum,
            majority_base=contest.majority_base,
        )
        return f"{contest.id}: {outcome.reason}"
    if contest.kind == "candidates":
        votes = dict(zip(contest.candidates, counts[contest.id], strict=True))
        if contest.rule == "absolute_majority":
            majority = counting.absolute_majority(
                votes, participants=participants, majority_base=contest.majority_base
            )
            if majority.winner is not None:
                return f"{contest.id}: {majority.winner} elected with an absolute majority"
            return (
                f"{contest.id}: no absolute majority; runoff between {_names(majority.runoff)}"
                + (
                    f"; tied for a runoff place: {_names(majority.tied_for_runoff)}"
                    if majority.tied_for_runoff
                    else ""
                )
            )
        plurality = counting.plurality(votes, contest.seats)
        line = f"{contest.id}: elected {_names(plurality.elected)}"
        if plurality.repeat_voting:
            line += (
                f"; repeat voting for {plurality.repeat_seats} seat(s) between "
                f"{_names(plurality.repeat_voting)}"
            )
        if plurality.unfilled:
            line += f"; {plurality.unfilled} seat(s) unfilled"
        return line
    return _open_list_line(contest, counts)


def _open_list_line(contest: Contest, counts: Mapping[str, tuple[int, ...]]) -> str:
    rule = contest.open_list
    if rule is None:
        raise InvalidInput(f"open list {contest.id} has no counting parameters")
    party_votes: dict[str, dict[str, int]] = {}
    lists: dict[str, dict[str, list[tuple[str, int]]]] = {}
    for district in contest.districts:
        values = dict(
            zip(contest.options(district.id), counts[f"{contest.id}/{district.id}"], strict=True)
        )
        party_votes[district.id] = {}
        lists[district.id] = {}
        for party in contest.parties:
            candidates = district.list_of(party.id)
            personal = [(name, values[f"{party.id}/{name}"]) for name in candidates]
            party_votes[district.id][party.id] = values[party.id] + sum(v for _, v in personal)
            lists[district.id][party.id] = personal
    total = sum(sum(votes.values()) for votes in party_votes.values())
    try:
        outcome = counting.open_list(
            rule.seats,
            party_votes,
            lists,
            {party.id: party.first_candidate for party in contest.parties},
            threshold=rule.threshold,
            preference_share=rule.preference_share,
            guarantee_one_seat=rule.guarantee_one_seat,
        )
    except InvalidInput as error:
        # Too few votes for the method (a quota of 0): no seats can be allocated by it.
        return f"{contest.id}: no seats allocated ({total} votes for {rule.seats} seats): {error}"
    seats = ", ".join(f"{party} {outcome.final_seats[party]}" for party in outcome.final_seats)
    elected = "; ".join(
        f"{party}: {_names(tuple(c.name for c in members))}"
        for party, members in outcome.elected.items()
        if members
    )
    line = f"{contest.id}: seats {seats or 'none'}; elected {elected or 'nobody'}"
    if outcome.guarantee_binding:
        line += "; the one-seat guarantee changed the allocation"
    if outcome.guarantee_cannot_be_met:
        line += "; the one-seat guarantee cannot be met"
    if outcome.district_seats_exceed_council:
        line += "; district seats exceed the council size"
    vacant = ", ".join(f"{party} {count}" for party, count in outcome.vacant_seats.items() if count)
    if vacant:
        line += f"; vacant seats (lists too short): {vacant}"
    if outcome.remainder_ties or outcome.holder_ties:
        line += "; ties to be resolved by the commission"
    return line
