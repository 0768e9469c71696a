"""Typed gRPC clients of the election's services, and the offline receipt check.

:mod:`evote.client.channels` holds the clients (TLS channels trusting the election CA, role
certificates on the control port, a deadline on every call, retries of UNAVAILABLE for the
idempotent methods); :mod:`evote.client.receipt` checks a voter's receipt without the network.
"""
