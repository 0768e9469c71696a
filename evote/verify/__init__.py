"""The independent verifier: an exported election record in, a report of every check out.

It reads only the public record (``docs/election-record.md``), recomputes everything it can,
and never imports prover code or simulated parties.
"""
