"""The reliability and security suite: faults, bad input, adversaries and load.

Every test here runs in two sizes: small in ``make test`` and full with ``make suite``
(``EVOTE_SUITE=full``), which injects more faults, tries more inputs and holds load longer.
"""
