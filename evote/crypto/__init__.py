"""HAZMAT: the cryptographic core of evote. Pure values in, pure values out.

No I/O, no clock, no global randomness (randomness comes only from :mod:`evote.crypto.rng`).
Everything here is easy to misuse; the election layer (:mod:`evote.election`) and the key
ceremony are the safe, high-level users of it. The protocol is ``crypto spec`` in the design
notes; module docstrings cite its sections.
"""
