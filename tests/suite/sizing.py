"""How big the suite's runs are: small in ``make test``, full under ``make suite``.

``make suite`` sets ``EVOTE_SUITE=full`` (and Hypothesis's ``thorough`` profile); every test
of the suite takes its counts from :func:`size` so one switch scales all of them.
"""

from __future__ import annotations

import os
from typing import Final

FULL: Final = os.environ.get("EVOTE_SUITE", "small") == "full"


def size(small: int, full: int) -> int:
    """``full`` under ``make suite``, ``small`` otherwise."""
    return full if FULL else small
