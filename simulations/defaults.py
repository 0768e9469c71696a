"""The common options' defaults, in a module light enough for ``evote``'s command line to
import on every run (the runner itself loads numpy, matplotlib and the scenarios)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Final

SEED: Final = 1
TRIALS: Final = 2000
#: Relative to the working directory; simulations/.gitignore ignores it in a clone.
OUT: Final = Path("simulations/results")
CONFIDENCE: Final = 0.95


def workers() -> int:
    """One worker process per CPU."""
    return max(1, os.cpu_count() or 1)
