"""The officials' side of a running election: open, close, the encrypted tally and the result.

Every step is a signed entry that goes on the board through the control port, and the officials
sign only what they recomputed themselves from the board. A board that lies must not get an
official signature, so nothing here trusts the server's word:

1. the board is read from the public port and checked before anything is built from it: entry
   0 pinned to the election id the officials published (the manifest, hence the trust roots),
   every entry's envelope and signatures, and the Merkle root of the entries held, against the
   checkpoint the log signed (:mod:`~evote.client.official.reading`);
2. the ``open``, ``close``, ``tally`` and ``result`` entries are built and signed from that
   view only when the board is in the phase the step needs: joint key, every key check and the
   credential list before the opening; an open election before the close; a witnessed close
   before the tally; ``t`` verified decryption shares before the result;
3. officials who sign on different machines pass the partly signed entry on, and each checks
   it against the board again before adding a signature, the joint key included
   (:mod:`~evote.client.official.signing`); any entry is checked the same way before it is
   posted, and its receipt offline after (:mod:`~evote.client.official.posting`).

=================  ===========================================================================
``errors``         what can stop a step: an untrusted board, a step out of its phase, an entry
                   that does not check, a refused call
``calls``          what a failed call to the election's services means to the person making it
``reading``        the board read from the public port and checked against the log's signed
                   checkpoint and the pinned election id: the view everything else reads
``contents``       what is on the board as the steps need it: the one entry of a kind, who
                   signed the officials' entries, the election context, the credentials, the
                   guardians' key checks
``phases``         the ``open`` and ``close`` marks, and the officials' keys that sign every
                   officials' entry
``tally``          the encrypted tally of each credential's last ballot, checked as the
                   guardians check it before they decrypt
``result``         the decryption shares that verify, and the result they decrypt the tally to
``signing``        adding an official's signature to an entry made elsewhere, after checking it
                   against the board
``posting``        checking any entry against the board before it is posted, posting it, and
                   checking the receipt
=================  ===========================================================================
"""
