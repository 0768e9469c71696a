"""The embedded defaults of a mock election: the reference manifest's contests.

A yes/no referendum (a blank is allowed), a head-of-community contest of 5 candidates (at most
one mark, plurality), and a council contest of 10 candidates with up to 3 marks electing 3:
17 options and 3 contest proofs, the shape every benchmark and peer comparison uses.
"""

from __future__ import annotations

from typing import Final

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
