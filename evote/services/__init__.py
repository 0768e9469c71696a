"""The gRPC services: thin adapters between the wire (evote.wire.v1) and the domain.

Every RPC does the same three things and nothing more: decode the request, make **one**
domain call (the board, the ballot station, the witness), then encode the answer or map the
domain error to a status code (:mod:`evote.services.status`, one table for every service).
Rules live in the domain packages, never here, so that what the services enforce is what the
mock election, the tests and the verifier exercise.

:mod:`evote.services.server` is the composition root: one sync ``grpc.server`` with a thread
pool, health checking and reflection, over one board with a single writer.
"""
