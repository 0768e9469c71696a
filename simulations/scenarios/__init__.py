"""One module per scenario; each defines ``SCENARIO`` (a :class:`simulations.runner.Scenario`).

The runner finds them by listing this package, so adding a scenario is adding a module here
(modules whose names start with ``_`` are shared helpers, not scenarios).
"""
