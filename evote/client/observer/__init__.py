"""An observer: follow the board live, mirror it, verify entries as they arrive, cosign.

The observer pins the election id it was given out of band and trusts nothing the board says
without checking it:

* entry 0 must be the manifest whose SHA-256 is that id (the verifier's check 2); the
  manifest's log origin and key, and its witnesses' keys, are then the only trust roots;
* each poll takes the board's latest checkpoint, checks the log's signature and every witness
  cosignature it carries, fetches the new entries page by page, and recomputes the Merkle root
  of its **own** copy of every entry so far. Holding every entry is stronger than checking a
  consistency proof: the root must come out of the very bytes the board served before.
  A checkpoint smaller than one already seen, a root that differs from the mirror's at the
  same size, or a page that changes an entry already mirrored is
  :class:`~evote.client.observer.reports.HistoryRewritten`: the board contradicted what it
  signed or served before. The observer keeps both checkpoints as evidence (each is signed by
  the log) and stops;
* every new entry's envelope and signatures are checked (the board's own rules,
  :func:`evote.record.kinds.entry_rules`), and, once the joint key is on the board, every
  ballot's and audit's proofs with the verifier's per-entry proof check
  (:func:`evote.verify.runner.verify_all_proofs`, against the election context the verifier
  recomputes from the ceremony: checks 4 and 5);
* a checkpoint that reaches the observer another way (a voter's receipt, another observer's
  or a witness's gossip: :mod:`~evote.client.observer.gossip`) is compared with the mirror
  (:meth:`~evote.client.observer.following.Observer.compare_checkpoint`, on every poll until
  the mirror reaches it: :meth:`~evote.client.observer.following.Observer.expect_checkpoint`):
  one the mirror's entries do not lead to is
  :class:`~evote.client.observer.reports.SplitView`, the log signing two histories, with both
  checkpoints as evidence;
* the registry's public counts (eligible, enrolled, closed) are compared with the credential
  list on the board (:meth:`~evote.client.observer.following.Observer.check_registration`,
  on every poll once the list is on the board when the observer is given the registry):
  more listed credentials than enrolled ones are ghosts, which no check of the record can see;
* the rules that need the whole record (who may sign, timing, revotes, the counted set, the
  tally, decryption, the result) are the verifier's whole-record checks: they run on the
  mirror when a ``close``, ``tally`` or ``result`` entry arrives and when the observer stops,
  counting only the checks whose inputs are all on the board by then
  (:func:`~evote.client.observer.verification.applicable_checks`).

=================  ===========================================================================
``following``      the observer: polling the board, checking what arrives, deciding when the
                   whole record is verified
``mirror``         the observer's copy of the board, in memory and on disk as a record
                   directory, and the checks of what the board signs against it
``witnessing``     cosigning, as one of the election's witnesses, what the observer verified
``verification``   the verifier's whole-record checks run on a board still in progress
``reports``        what the observer reports: findings, a poll, a rewritten history, a split
                   view
``registration``   the registry's public counts against the credential list
``gossip``         checkpoints shown to the observer from elsewhere: a voter's receipt,
                   another observer's or a witness's checkpoint note
=================  ===========================================================================
"""
