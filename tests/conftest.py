"""Shared test configuration: Hypothesis profiles.

``fast`` (default) keeps ``make test`` within minutes on two cores; ``thorough`` runs many
more examples: ``HYPOTHESIS_PROFILE=thorough make test``.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

settings.register_profile(
    "fast", max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile(
    "thorough", max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "fast"))
