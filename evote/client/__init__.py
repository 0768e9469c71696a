"""The parties' programs against the election's services, and the typed clients they use.

* :mod:`evote.client.channels`: the typed clients (TLS channels trusting the election CA, role
  certificates on the control port, a deadline on every call, retries of UNAVAILABLE for the
  idempotent methods);
* :mod:`evote.client.receipt`: a voter's receipt, checked without the network;
* :mod:`evote.client.calls`: failed calls turned into errors a person can act on;
* :mod:`evote.client.voter`: a voter's device (enroll, vote, challenge, keep and check receipts);
* :mod:`evote.client.observer`: follow the board, mirror and verify it, cosign as a witness;
* :mod:`evote.client.official`: the officials' steps (open, close, tally, result) and posting
  entries made elsewhere (guardians' rounds and shares, the joint key).
"""
