"""Proof checks in worker processes: the same verdicts and refusals as in the caller's thread,
one context per election (never mixed), and a pool that survives a dead worker."""

from __future__ import annotations

import dataclasses
import os
import signal
from collections.abc import Iterator

import pytest

from evote.election.context import ElectionContext
from evote.election.encrypt import EncryptionResult
from evote.election.manifest import Manifest
from evote.errors import DecodeError, InvalidInput
from evote.record import proof_workers
from evote.record.ballot_box import BallotRejected, check_proofs, parse_submission
from evote.record.proof_workers import (
    CACHED_CONTEXTS,
    ContextSpec,
    ProofWorkers,
    ProofWorkersUnavailable,
    check_entries,
    context_in_worker,
)
from tests.unit.election.test_ballot import CONTEXT, cast
from tests.unit.election.test_manifest import document
from tests.unit.record.test_ballot_box import audit_entry, ballot_entry

#: The same guardians' key under another manifest: another election (another ``H_E``).
OTHER = ElectionContext.create(
    Manifest.from_mapping({**document(), "name": "Another election"}), CONTEXT.commitments
)


def tampered_entry() -> bytes:
    """A ballot whose last contest carries another ballot's total proof."""
    result = cast()
    contests = list(result.ballot.contests)
    contests[2] = dataclasses.replace(
        contests[2], total_proof=cast().ballot.contests[2].total_proof
    )
    tampered = dataclasses.replace(result.ballot, contests=tuple(contests))
    return ballot_entry(EncryptionResult(tampered, result.seed))


def in_thread_refusal(data: bytes, context: ElectionContext) -> BallotRejected:
    with pytest.raises(BallotRejected) as caught:
        check_proofs(parse_submission(data, context), context)
    return caught.value


@pytest.fixture(scope="module")
def pool() -> Iterator[ProofWorkers]:
    """One worker, so every check (of either election) runs in the same process."""
    with ProofWorkers(1) as workers:
        yield workers


def test_good_ballots_and_audits_pass(pool: ProofWorkers) -> None:
    for data in (ballot_entry(cast()), audit_entry(cast())):
        pool.check(parse_submission(data, CONTEXT), CONTEXT)


def test_a_tampered_proof_is_refused_exactly_as_in_the_callers_thread(pool: ProofWorkers) -> None:
    data = tampered_entry()
    expected = in_thread_refusal(data, CONTEXT)
    with pytest.raises(BallotRejected) as caught:
        pool.check(parse_submission(data, CONTEXT), CONTEXT)
    assert type(caught.value) is type(expected)
    assert str(caught.value) == str(expected)
    assert str(caught.value).startswith("ballot refused: range proof: council/north.")


def test_two_elections_in_one_pool_never_mix(pool: ProofWorkers) -> None:
    ours, theirs = ballot_entry(cast()), ballot_entry(cast(context=OTHER))
    for _ in range(2):  # interleaved, so each check finds the other election's context cached
        pool.check(parse_submission(ours, CONTEXT), CONTEXT)
        pool.check(parse_submission(theirs, OTHER), OTHER)
    for data, context in ((ours, OTHER), (theirs, CONTEXT)):
        expected = in_thread_refusal(data, context)
        with pytest.raises(BallotRejected) as caught:
            pool.check(parse_submission(data, context), context)
        assert (type(caught.value), str(caught.value)) == (type(expected), str(expected))


def test_specs_are_keyed_by_election_and_rebuild_the_same_context() -> None:
    ours, theirs = ContextSpec.of(CONTEXT), ContextSpec.of(OTHER)
    assert ours.digest != theirs.digest
    assert context_in_worker(ours) == CONTEXT
    assert context_in_worker(theirs) == OTHER
    assert context_in_worker(ours) is context_in_worker(ours)


def test_a_spec_that_gives_another_context_is_refused_and_not_cached() -> None:
    lying = dataclasses.replace(ContextSpec.of(CONTEXT), extended_hash=OTHER.extended_hash)
    with pytest.raises(InvalidInput, match="H_E differs"):
        context_in_worker(lying)
    assert lying.digest not in proof_workers._CONTEXTS
    truncated = dataclasses.replace(ContextSpec.of(CONTEXT), key=ContextSpec.of(CONTEXT).key[:-1])
    with pytest.raises(DecodeError):
        context_in_worker(truncated)
    assert truncated.digest not in proof_workers._CONTEXTS


def test_a_worker_keeps_a_bounded_number_of_contexts() -> None:
    for number in range(CACHED_CONTEXTS + 2):
        manifest = Manifest.from_mapping({**document(), "name": f"Election {number}"})
        context_in_worker(ContextSpec.of(ElectionContext.create(manifest, CONTEXT.commitments)))
    assert len(proof_workers._CONTEXTS) == CACHED_CONTEXTS


def test_batch_checks_give_a_reason_per_refused_entry() -> None:
    data = tampered_entry()
    reasons = check_entries(ContextSpec.of(CONTEXT), [ballot_entry(cast()), data, b"junk"])
    assert reasons[0] is None
    assert reasons[1] == str(in_thread_refusal(data, CONTEXT))
    assert (reasons[2] or "").startswith("malformed submission")


def test_a_dead_worker_is_replaced_and_the_check_still_answers() -> None:
    with ProofWorkers(1) as workers:
        workers.warm(CONTEXT)
        broken = workers._current()
        for pid in list(broken._processes):
            os.kill(pid, signal.SIGKILL)
        workers.check(parse_submission(ballot_entry(cast()), CONTEXT), CONTEXT)
        assert workers._current() is not broken
        data = tampered_entry()
        with pytest.raises(BallotRejected) as caught:
            workers.check(parse_submission(data, CONTEXT), CONTEXT)
        assert str(caught.value) == str(in_thread_refusal(data, CONTEXT))


def test_a_closed_pool_refuses_to_check() -> None:
    workers = ProofWorkers(1)
    workers.close()
    with pytest.raises(ProofWorkersUnavailable, match="shut down"):
        workers.check(parse_submission(ballot_entry(cast()), CONTEXT), CONTEXT)


def test_a_pool_needs_a_worker() -> None:
    with pytest.raises(InvalidInput, match="at least 1 worker"):
        ProofWorkers(0)
