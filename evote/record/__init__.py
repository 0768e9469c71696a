"""The election record: every phase of an election as a signed entry on the board.

This layer joins the generic board (bytes and signatures) and the election logic (manifests,
ballots, tallies): it declares the entry kinds, their bodies and their signers
(:mod:`evote.record.kinds`), reads a board's entries back as typed election objects
(:mod:`evote.record.reader`), and holds the ballot box's admission rules
(:mod:`evote.record.ballot_box`). ``docs/election-record.md`` specifies all of it.
"""
