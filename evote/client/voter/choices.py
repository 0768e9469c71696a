"""The voter's choices, checked against the manifest before anything is encrypted.

A choice is keyed by the contest id (or the part id, ``contest/district``, of an open list);
every refusal is an :class:`InvalidChoice` that names the contest and what it allows.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from evote.client.voter.errors import InvalidChoice
from evote.election.encrypt import PlaintextBallot
from evote.election.manifest import Manifest
from evote.errors import InvalidInput


def parse_choices(values: Sequence[str]) -> dict[str, list[str]]:
    """``CONTEST=OPTION`` arguments (an option list may be comma-separated, a contest may be
    repeated, ``CONTEST=`` leaves it blank) as option ids per contest, in the order given."""
    chosen: dict[str, list[str]] = {}
    for value in values:
        contest, sign, options = value.partition("=")
        contest = contest.strip()
        if not sign or not contest:
            raise InvalidChoice(
                f"{value!r} is not a choice: write CONTEST=OPTION (for example head=koval), "
                "or CONTEST= to leave a contest blank"
            )
        chosen.setdefault(contest, []).extend(o.strip() for o in options.split(",") if o.strip())
    return chosen


def style_parts(manifest: Manifest, style: str) -> tuple[str, ...]:
    """The contest parts of ``style``; :class:`InvalidChoice` naming the styles otherwise."""
    try:
        return manifest.style(style).parts
    except InvalidInput:
        styles = ", ".join(s.id for s in manifest.ballot_styles)
        raise InvalidChoice(
            f"the election has no ballot style {style!r}; its styles are: {styles}"
        ) from None


def part_label(manifest: Manifest, part: str) -> str:
    """A contest part as a voter reads it: its id and title."""
    contest, _ = manifest.part(part)
    return f"{part} ({contest.title})"


def part_options(manifest: Manifest, part: str) -> tuple[str, ...]:
    """The option ids a voter may mark in a contest part (an open list's are its district's)."""
    contest, district = manifest.part(part)
    return contest.options(district)


def check_part_choice(manifest: Manifest, part: str, chosen: Sequence[str]) -> None:
    """Raise :class:`InvalidChoice` naming the contest unless ``chosen`` is a valid choice in
    ``part``: every option exists, none twice, and the number of marks is allowed."""
    contest, _ = manifest.part(part)
    options = part_options(manifest, part)
    label = part_label(manifest, part)
    for option in chosen:
        if option not in options:
            raise InvalidChoice(
                f"contest {label}: there is no option {option!r}; the options are: "
                + ", ".join(options)
            )
    repeated = sorted({option for option in chosen if list(chosen).count(option) > 1})
    if repeated:
        raise InvalidChoice(f"contest {label}: {', '.join(repeated)} marked more than once")
    if len(chosen) > contest.max_marks:
        raise InvalidChoice(
            f"contest {label} allows at most {contest.max_marks} mark(s); you chose {len(chosen)}"
        )
    if len(chosen) < contest.min_marks:
        raise InvalidChoice(
            f"contest {label} needs at least {contest.min_marks} mark(s); you chose {len(chosen)}"
        )


def make_plaintext(
    manifest: Manifest, style: str, choices: Mapping[str, Sequence[str]]
) -> PlaintextBallot:
    """The voter's choices as a plaintext ballot of ``style``, checked against the manifest.

    A choice is keyed by the contest id (or the part id, ``contest/district``, of an open
    list); a contest left out is left blank, if its rules allow that.
    """
    parts = style_parts(manifest, style)
    by_key = {part: part for part in parts} | {part.partition("/")[0]: part for part in parts}
    selected: dict[str, list[str]] = {}
    for key, options in choices.items():
        part = by_key.get(key)
        if part is None:
            raise InvalidChoice(
                f"your ballot has no contest {key!r}; its contests are: {', '.join(parts)}"
            )
        if part in selected:
            raise InvalidChoice(f"contest {part_label(manifest, part)} is chosen twice")
        selected[part] = list(options)
    for part in parts:
        check_part_choice(manifest, part, selected.get(part, []))
    return PlaintextBallot.from_choices(manifest, style, selected)


def chosen_options(manifest: Manifest, plaintext: PlaintextBallot) -> list[tuple[str, list[str]]]:
    """Per contest part of the ballot, the option ids marked (for showing the voter)."""
    shown = []
    for part, votes in zip(style_parts(manifest, plaintext.style), plaintext.votes, strict=True):
        options = part_options(manifest, part)
        shown.append((part, [option for option, vote in zip(options, votes, strict=True) if vote]))
    return shown
