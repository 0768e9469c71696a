"""A dishonest guardian: its decryption shares carry a false proof, decrypt another tally, or
are signed by a key other than its own.

The control port refuses each of them (INVALID_ARGUMENT) before it reaches the board. A board
operator who colludes with the guardian appends the entry anyway, behind the control port's
back; the honest quorum then decrypts, and the officials build the result from the shares
that verify. The verifier must name check ``decryption-shares`` and the dishonest guardian,
while the result from the honest quorum still passes check ``result``. The honest run is the
control: every check passes.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from pathlib import Path

import grpc
import pytest

from evote.board.entry import Entry
from evote.crypto.signing import SigningKey
from evote.election.ballot import EncryptedBallot
from evote.election.tally import EncryptedTally, GuardianShares, aggregate
from evote.mock.staging import StagedElection
from evote.record import kinds
from evote.services.ca import Role
from tests.suite.adversary_election import Services, ballot, copy_of, failed, stage
from tests.suite.sizing import size

VOTERS = size(4, 12)
#: The dishonest guardian (the honest quorum is guardians 1 and 2 of 3).
CHEAT = 3
CHOICES = [0, 1, 0, None, 1, 0, 0, 1, None, 0, 1, 1]


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> StagedElection:
    return stage(tmp_path_factory.mktemp("guardian") / "staged", VOTERS)


@pytest.fixture
def services(template: StagedElection, tmp_path: Path) -> Iterator[Services]:
    running = Services(copy_of(template, tmp_path / "election"))
    yield running
    running.stop()


def _voted_and_tallied(services: Services) -> EncryptedTally:
    staged = services.staged
    for voter in range(VOTERS):
        services.cast(ballot(staged, staged.credentials[voter], CHOICES[voter % len(CHOICES)]))
    services.close()
    entry = services.tally()
    return EncryptedTally.from_tlv(entry.body, staged.context)


def false_proof(services: Services, tally: EncryptedTally) -> bytes:
    """Honest shares, but the first share carries the proof of the second."""
    staged = services.staged
    honest = GuardianShares.from_tlv(Entry.decode(services.shares(CHEAT)).body, staged.context)
    part, values = next(iter(honest.shares.items()))
    forged = dataclasses.replace(values[0], proof=values[1].proof)
    shares = dict(honest.shares)
    shares[part] = (forged, *values[1:])
    body = dataclasses.replace(honest, shares=shares).to_tlv()
    return staged.entry(kinds.DECRYPTION_SHARE, body, [staged.guardians[CHEAT - 1]])


def other_tally(services: Services, tally: EncryptedTally) -> bytes:
    """Correctly proved shares of another aggregate: the first voter's ballot alone."""
    staged = services.staged
    first = next(e for e in services.view().entries if e.kind == kinds.BALLOT)
    alone = aggregate(staged.manifest, [EncryptedBallot.from_tlv(first.body, staged.manifest)])
    return services.shares(CHEAT, EncryptedTally((), alone))


def other_key(services: Services, tally: EncryptedTally) -> bytes:
    """The guardian's honest shares, signed by a key that is not its identity key."""
    staged = services.staged
    body = Entry.decode(services.shares(CHEAT)).body
    return staged.entry(kinds.DECRYPTION_SHARE, body, [SigningKey.generate()])


ATTACKS: dict[str, tuple[Callable[[Services, EncryptedTally], bytes], str]] = {
    # attack: (the shares entry, what the verifier's message must say)
    "false proof": (false_proof, f"guardian {CHEAT}'s share does not match its proof"),
    "another tally": (other_tally, f"guardian {CHEAT}'s share does not match its proof"),
    "another key": (other_key, f"guardian {CHEAT}'s identity key"),
}


def test_honest_guardians_pass_every_check(services: Services, tmp_path: Path) -> None:
    _voted_and_tallied(services)
    for guardian in (1, 2, CHEAT):
        services.decrypt(guardian)
    services.result()
    report = services.verify(tmp_path / "record")
    assert report.passed, failed(report)
    print(f"\nadversary guardian: honest control, {len(report.checks)} checks pass")


@pytest.mark.parametrize("attack", sorted(ATTACKS))
def test_a_dishonest_guardian_is_named(services: Services, tmp_path: Path, attack: str) -> None:
    make, named = ATTACKS[attack]
    tally = _voted_and_tallied(services)
    entry = make(services, tally)
    # The control port refuses the shares outright: nothing reaches the board.
    size_before = services.view().size
    with pytest.raises(grpc.RpcError) as refused:
        services.control(Role.for_guardian(CHEAT)).post(entry)
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT, refused.value.details()
    assert services.view().size == size_before
    # A colluding board operator appends them anyway; the honest quorum decrypts after them.
    services.servers.board.append([entry])
    for guardian in (1, 2):
        services.decrypt(guardian)
    result = services.result()
    assert result.guardians == (1, 2)
    report = services.verify(tmp_path / "record")
    failures = failed(report)
    # Named: check 12, the dishonest guardian's entry, and nothing else failed.
    assert set(failures) == {"decryption-shares"}, failures
    assert any(named in message for message in failures["decryption-shares"]), failures
    cheat_at = size_before
    shares_check = report.check("decryption-shares")
    assert {failure.entry for failure in shares_check.failures} == {cheat_at}
    # The result from the honest quorum still verifies.
    assert report.check("result").status == "pass"
    print(f"\nadversary guardian ({attack}): refused by control, named by the verifier")
