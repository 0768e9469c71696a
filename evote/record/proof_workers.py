"""Ballot proof checks in worker processes, each building the election context once.

Checking a ballot's proofs (:func:`evote.record.ballot_box.check_proofs`) costs about 17 ms of
CPU, the rest of a cast in the server (parsing, the append, gRPC and TLS) about 5 ms. In the
server's handler threads, libsodium's multiplications run outside the GIL but the checks'
Python parts (hashing, encoding, the proofs' bookkeeping) contend for it with everything
else the server does; a pool of worker processes (:func:`evote.workers.process_pool`,
started from a fork server) checks them beside the server's process instead.

A context does not travel pickled with every call: unpickling re-validates every point of the
context (the group's decoder is the only way in), about 0.6 ms a call. A context travels as
its :class:`ContextSpec` (the manifest's canonical bytes, the election key's canonical bytes
and the extended hash ``H_E`` they must give) and is built once per worker and cached under
the spec's digest, so two elections sharing one pool never mix. A call carries only that
digest and the entry's bytes; a worker that has not built the context yet answers so, and
the call is sent again with the spec.

The worker parses the entry again (its bytes are all it gets; about 2 ms) and runs exactly
:func:`check_proofs`, so a refusal is the same :class:`BallotRejected` (same class, same
message) as a check in the caller's thread. The mock election's batch checks and its voters'
devices use the same cache (:func:`context_in_worker`, :func:`check_entries`).
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from typing import Final, Self

from evote.election.context import ElectionContext
from evote.election.manifest import Manifest
from evote.errors import EvoteError, InvalidInput
from evote.record.ballot_box import BallotRejected, Submission, check_proofs, parse_submission
from evote.workers import process_pool

#: Contexts a worker keeps (least recently used dropped first): a pool may serve several
#: elections, and rebuilding a context costs a few milliseconds.
CACHED_CONTEXTS: Final = 4
#: Contexts whose specs a :class:`ProofWorkers` keeps on the caller's side.
_CACHED_SPECS: Final = 4


class ProofWorkersUnavailable(EvoteError):
    """The proof-check workers are shut down or keep failing; the ballot was not checked."""


@dataclass(frozen=True, slots=True)
class ContextSpec:
    """What a worker needs to build an :class:`ElectionContext`, in bytes.

    ``key`` is :meth:`ElectionContext.key_bytes` (the guardians' commitments, or the dealer's
    Paillier key); ``extended_hash`` is the ``H_E`` the built context must have, so a worker
    can never check against a context other than the caller's.
    """

    manifest: bytes
    key: bytes
    extended_hash: bytes

    @classmethod
    def of(cls, context: ElectionContext) -> ContextSpec:
        return cls(context.manifest.to_tlv(), context.key_bytes(), context.extended_hash)

    @property
    def digest(self) -> bytes:
        """The cache key: SHA-256 over the three fields, each length-prefixed."""
        hasher = hashlib.sha256()
        for part in (self.manifest, self.key, self.extended_hash):
            hasher.update(len(part).to_bytes(8, "big"))
            hasher.update(part)
        return hasher.digest()

    def build(self) -> ElectionContext:
        """Parse and derive the context; raise :class:`DecodeError` for bytes that are not a
        manifest and a key of it, :class:`InvalidInput` if the context is not the one whose
        ``H_E`` the spec names (nothing is cached then)."""
        context = ElectionContext.from_key_bytes(Manifest.from_tlv(self.manifest), self.key)
        if context.extended_hash != self.extended_hash:
            raise InvalidInput(
                "the manifest and key sent to a proof worker give another election context "
                "than the caller's (H_E differs)"
            )
        return context


# --- in the worker processes -------------------------------------------------------------------

_CONTEXTS: OrderedDict[bytes, ElectionContext] = OrderedDict()


def _cached(digest: bytes) -> ElectionContext | None:
    context = _CONTEXTS.get(digest)
    if context is not None:
        _CONTEXTS.move_to_end(digest)
    return context


def context_in_worker(spec: ContextSpec) -> ElectionContext:
    """The context of ``spec``, built at the first call in this process and cached."""
    digest = spec.digest
    context = _cached(digest)
    if context is None:
        context = spec.build()
        _CONTEXTS[digest] = context
        while len(_CONTEXTS) > CACHED_CONTEXTS:
            _CONTEXTS.popitem(last=False)
    return context


def check_entries(spec: ContextSpec, entries: list[bytes]) -> list[str | None]:
    """Parse and check each entry's proofs: ``None`` for a good one, else why it is refused
    (batch checks, where only the reason matters)."""
    context = context_in_worker(spec)
    reasons: list[str | None] = []
    for data in entries:
        try:
            check_proofs(parse_submission(data, context), context)
            reasons.append(None)
        except EvoteError as error:
            reasons.append(str(error))
    return reasons


def _check_entry(
    digest: bytes, spec: ContextSpec | None, data: bytes
) -> tuple[bool, BallotRejected | None]:
    """``(False, None)`` if this worker lacks the context and no spec came; else ``True`` and
    the refusal, if any (returned, not raised: it crosses back as the same class and message
    without a traceback)."""
    context = _cached(digest) if spec is None else context_in_worker(spec)
    if context is None:
        return False, None
    try:
        check_proofs(parse_submission(data, context), context)
    except BallotRejected as rejected:
        return True, rejected
    return True, None


def _load(spec: ContextSpec) -> None:
    context_in_worker(spec)


# --- in the caller's process ----------------------------------------------------------------


class ProofWorkers:
    """A pool of ``workers`` processes that run :func:`check_proofs` for a ballot station.

    :meth:`check` has the signature and the refusals of :func:`check_proofs` and may be called
    from many threads at once. If a worker dies (the pool breaks), the pool is replaced and
    the check tried once more: checks are pure, so a retry cannot change an outcome.
    """

    def __init__(self, workers: int) -> None:
        if workers < 1:
            raise InvalidInput(f"a proof-check pool needs at least 1 worker, got {workers}")
        self.workers = workers
        self._lock = threading.Lock()
        self._pool: ProcessPoolExecutor | None = process_pool(workers)
        self._specs: list[tuple[ElectionContext, ContextSpec, bytes]] = []

    def warm(self, context: ElectionContext) -> None:
        """Start the workers and build ``context`` in them before the first ballot arrives
        (otherwise the first checks wait for process start-up)."""
        spec, _ = self._spec(context)
        pool = self._current()
        for done in [pool.submit(_load, spec) for _ in range(self.workers)]:
            done.result()

    def check(self, submission: Submission, context: ElectionContext) -> None:
        """Check ``submission``'s proofs in a worker; raise what :func:`check_proofs` would."""
        spec, digest = self._spec(context)
        data = submission.entry.encoded
        pool = self._current()
        try:
            rejected = self._ask(pool, spec, digest, data)
        except BrokenProcessPool:
            pool = self._replace(pool)
            try:
                rejected = self._ask(pool, spec, digest, data)
            except BrokenProcessPool as again:
                raise ProofWorkersUnavailable(
                    "proof-check workers died twice in a row while checking this ballot; "
                    "see the server's log and its memory limits"
                ) from again
        if rejected is not None:
            raise rejected

    def close(self) -> None:
        """Stop the workers (pending checks are cancelled); later checks are refused."""
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    @staticmethod
    def _ask(
        pool: ProcessPoolExecutor, spec: ContextSpec, digest: bytes, data: bytes
    ) -> BallotRejected | None:
        try:
            known, rejected = pool.submit(_check_entry, digest, None, data).result()
            if not known:
                known, rejected = pool.submit(_check_entry, digest, spec, data).result()
        except RuntimeError as error:
            if isinstance(error, BrokenProcessPool):
                raise
            # ``submit`` after ``shutdown``: the server is stopping.
            raise ProofWorkersUnavailable("the proof-check workers are shut down") from error
        return rejected

    def _current(self) -> ProcessPoolExecutor:
        with self._lock:
            if self._pool is None:
                raise ProofWorkersUnavailable("the proof-check workers are shut down")
            return self._pool

    def _replace(self, broken: ProcessPoolExecutor) -> ProcessPoolExecutor:
        """A working pool in place of ``broken`` (another thread may have replaced it)."""
        with self._lock:
            if self._pool is None:
                raise ProofWorkersUnavailable("the proof-check workers are shut down")
            if self._pool is broken:
                broken.shutdown(wait=False, cancel_futures=True)
                self._pool = process_pool(self.workers)
            return self._pool

    def _spec(self, context: ElectionContext) -> tuple[ContextSpec, bytes]:
        """``context``'s spec and its digest, derived once per context object (encoding the
        manifest and hashing it are not free)."""
        with self._lock:
            for known, spec, digest in self._specs:
                if known is context:
                    return spec, digest
        spec = ContextSpec.of(context)
        digest = spec.digest
        with self._lock:
            self._specs = [(context, spec, digest), *self._specs][:_CACHED_SPECS]
        return spec, digest
