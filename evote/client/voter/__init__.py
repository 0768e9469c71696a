"""A voter's own device: enrolling a credential, casting (after an optional Benaloh challenge)
and keeping receipts that the voter can check later, offline or against the public board.

Nothing here trusts the server: before anything of the voter's is sent, the device reads the
election's setup from the public board and checks it with the independent verifier's own
checks, and only then encrypts under the election key it recomputed. Everything the device
keeps lives in one **voter directory**, and every step can be retried safely after a lost
answer.

=================  ===========================================================================
``errors``         what can go wrong, each error saying what the voter can do about it
``calls``          the connection to the election's server, and what a failed call means
``setup``          the election id the voter was given, and the election's setup read from
                   the board and checked against it
``choices``        the voter's choices, checked against the manifest's contests and styles
``directory``      the voter directory: its files and their formats
``enrollment``     enrolling a credential made on this device with a one-time code
``voting``         encrypting, challenging and casting; sending a lost cast again
``receipts``       checking a kept receipt, offline or against the board as it is now
=================  ===========================================================================
"""
