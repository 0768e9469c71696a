"""The embedded presets of a mock election: contests and ballot styles.

``reference``: a yes/no referendum (a blank is allowed), a head-of-community contest of 5
candidates (at most one mark, plurality), and a council contest of 10 candidates with up to 3
marks electing 3: 17 options and 3 contest proofs, the shape every benchmark and peer
comparison uses.

``community``: a city head elected by absolute majority (runoff detection), a referendum with
a 50 % turnout quorum, and an open-list council of 26 seats in two territorial districts
(local-elections §1.1 C2, C4, C6), with one ballot style per district.
"""

from __future__ import annotations

from typing import Final

Preset = dict[str, list[dict[str, object]]]

REFERENCE_CONTESTS: Final[list[dict[str, object]]] = [
    {
        "id": "referendum",
        "kind": "referendum",
        "title": "Shall the community build a new library?",
        "min_marks": 0,
        "max_marks": 1,
        "majority_base": "participants",
        "turnout_quorum": None,
    },
    {
        "id": "head",
        "kind": "candidates",
        "title": "Head of the community",
        "candidates": ["bondar", "hnatiuk", "koval", "melnyk", "shevchenko"],
        "min_marks": 0,
        "max_marks": 1,
        "seats": 1,
        "rule": "plurality",
    },
    {
        "id": "council",
        "kind": "candidates",
        "title": "Community council, district 1 (3 seats)",
        "candidates": [
            "ivanenko",
            "petrenko",
            "sydorenko",
            "lysenko",
            "moroz",
            "tkachenko",
            "kravets",
            "savchenko",
            "rudenko",
            "marchenko",
        ],
        "min_marks": 0,
        "max_marks": 3,
        "seats": 3,
        "rule": "plurality",
    },
]


def _list(prefix: str, size: int) -> list[str]:
    return [f"{prefix}{number}" for number in range(1, size + 1)]


COMMUNITY_CONTESTS: Final[list[dict[str, object]]] = [
    {
        "id": "mayor",
        "kind": "candidates",
        "title": "City head",
        "candidates": ["hrytsenko", "kovalenko", "oliinyk", "pavlenko"],
        "min_marks": 0,
        "max_marks": 1,
        "seats": 1,
        "rule": "absolute_majority",
        "majority_base": "participants",
    },
    {
        "id": "referendum",
        "kind": "referendum",
        "title": "Shall the market square become pedestrian?",
        "min_marks": 0,
        "max_marks": 1,
        "majority_base": "participants",
        "turnout_quorum": "1/2",
    },
    {
        "id": "council",
        "kind": "open_list",
        "title": "City council (26 seats, open lists)",
        "min_marks": 1,
        "max_marks": 1,
        "parties": [
            {"id": party, "name": f"Party {party.upper()}", "first_candidate": f"{party}-leader"}
            for party in ("a", "b", "c", "d")
        ],
        "districts": [
            {"id": district, "lists": {party: _list(f"{party}-{district}-", 4) for party in "abcd"}}
            for district in ("td1", "td2")
        ],
        "counting": {"seats": 26, "threshold": "5/100", "preference_share": "1/4"},
    },
]

PRESETS: Final[dict[str, Preset]] = {
    "reference": {"contests": REFERENCE_CONTESTS},
    "community": {
        "contests": COMMUNITY_CONTESTS,
        "ballot_styles": [
            {"id": district, "parts": ["mayor", "referendum", f"council/{district}"]}
            for district in ("td1", "td2")
        ],
    },
}
