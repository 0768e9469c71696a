"""A registry that adds credentials: ghosts on the credential list, who then vote.

The credential authority imports the roll of one-time codes (the official number of eligible
voters), some voters enroll, registration closes and the list goes on the board; everybody
votes through the honest ballot box and the election runs to its result. Every ghost ballot is
signed by a listed credential, so the verifier passes the record: what gives the ghosts away
are the registry's public counts (eligible, enrolled, closed) against the list, checked by the
observer (its check ``registration``, :mod:`evote.client.observer.registration`):

* ``unlisted``: the operator closes the registry and publishes a list holding credentials
  that were never enrolled with a code (more listed than enrolled);
* ``beyond-roll``: the registry puts codes of its own on the roll and enrolls ghosts with
  them (the roll is longer than the official number of eligible voters);
* ``abstainers``: the registry enrolls ghosts with the codes of voters who never enrolled;
  every count is right, and only such a voter can tell: the registry refuses their code as
  already used (ALREADY_EXISTS). This is the roll audit of the stuffing simulation.

The honest run is the control: no finding, every check passes.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest

from evote.client.channels import close_and_post_credentials
from evote.client.observer.following import Observer
from evote.client.observer.registration import registration_problems
from evote.crypto.signing import SigningKey
from evote.mock.staging import StagedElection
from evote.record import kinds
from evote.record.kinds import CredentialList
from evote.services.ca import Role
from tests.suite.adversary_election import Board, Services, ballot, copy_of, failed, stage
from tests.suite.sizing import size

#: The official roll, the voters who enroll, and the ghosts.
ROLL = size(5, 20)
ENROLLED = size(3, 14)
GHOSTS = size(2, 6)
VARIANTS = ("honest", "unlisted", "beyond-roll", "abstainers")


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> StagedElection:
    return stage(tmp_path_factory.mktemp("registry") / "staged", ROLL + GHOSTS, until="keys")


@pytest.fixture
def services(template: StagedElection, tmp_path: Path) -> Iterator[Services]:
    running = Services(copy_of(template, tmp_path / "election"))
    yield running
    running.stop()


def _register(services: Services, variant: str) -> list[SigningKey]:
    """Registration as the variant runs it; returns every listed credential that votes."""
    staged = services.staged
    voters = staged.credentials[:ROLL]
    ghosts = list(staged.credentials[ROLL:])
    codes = [f"roll-{number:04d}-code" for number in range(ROLL)]
    authority = services.control(Role.credential_authority())
    authority.import_roll(codes)
    for code, voter in zip(codes[:ENROLLED], voters, strict=False):
        services.registry.enroll(code, voter.verify_key.encode())
    registry = services.servers.registry
    if variant == "beyond-roll":
        own = [f"ghost-{number:04d}-code" for number in range(GHOSTS)]
        registry.import_roll(own)  # behind the control port: the registry's own codes
        for code, ghost in zip(own, ghosts, strict=True):
            registry.enroll(code, ghost.verify_key.encode())
    if variant == "abstainers":
        abstaining = codes[ENROLLED : ENROLLED + GHOSTS]
        for code, ghost in zip(abstaining, ghosts, strict=True):
            registry.enroll(code, ghost.verify_key.encode())
        # The roll audit: an abstaining voter tries their code and finds it used.
        with pytest.raises(grpc.RpcError) as used:
            services.registry.enroll(abstaining[0], SigningKey.generate().verify_key.encode())
        assert used.value.code() == grpc.StatusCode.ALREADY_EXISTS
    if variant == "unlisted":
        registry.close()  # the registry's own list is thrown away ...
        listed = tuple(
            sorted(
                [v.verify_key for v in voters[:ENROLLED]] + [g.verify_key for g in ghosts],
                key=lambda key: key.encode(),
            )
        )  # ... and one with ghosts is signed and posted behind the control port
        entry = staged.entry(kinds.CREDENTIALS, CredentialList(listed).to_tlv(), [staged.authority])
        services.servers.board.append([entry])
    else:
        close_and_post_credentials(authority, staged.manifest, staged.authority)
    services.mark("open")
    return [*voters[:ENROLLED], *([] if variant == "honest" else ghosts)]


@pytest.mark.parametrize("variant", VARIANTS)
def test_ghost_credentials_are_named(services: Services, tmp_path: Path, variant: str) -> None:
    staged = services.staged
    voting = _register(services, variant)
    for number, credential in enumerate(voting):
        services.cast(ballot(staged, credential, number % 2))
    result = services.finish()
    assert sum(result.counts[next(iter(result.counts))]) == len(voting)
    report = services.verify(tmp_path / "record")
    # The record alone passes: every ghost ballot is signed by a listed credential.
    assert report.passed, failed(report)
    observer = Observer(
        Board(services.board), staged.manifest.election_id, tmp_path / "mirror", workers=1
    )
    observer.poll()
    status = services.registry.status()
    found = observer.check_registration(status, roll=ROLL)
    messages = [finding.message for finding in found]
    assert all(finding.check == "registration" for finding in found)
    if variant in ("honest", "abstainers"):
        # The counts are right: for abstainers only the roll audit above tells.
        assert found == [], messages
        assert observer.passed
        print(f"\nadversary registry ({variant}): counts agree with the list")
        return
    assert not observer.passed
    expected = {
        "unlisted": f"{GHOSTS} listed credentials were never enrolled with a code",
        "beyond-roll": "codes beyond the roll",
    }[variant]
    assert any(expected in message for message in messages), messages
    # Asking again reports nothing new: a finding is reported once.
    assert observer.check_registration(status, roll=ROLL) == []
    print(
        f"\nadversary registry ({variant}, {GHOSTS} ghosts): named by the observer's registration"
    )


@pytest.mark.parametrize(
    ("counts", "named"),
    [
        ((5, 5, 5, True, 5), []),
        ((7, 5, 5, True, 5), ["2 listed credentials were never enrolled"]),
        ((4, 5, 5, True, 5), ["1 enrolled voters were left off the list"]),
        ((6, 6, 6, True, 5), ["codes beyond the roll"]),
        ((4, 4, 6, True, 4), ["2 enrolled voters", "6 credentials with only 4 codes"]),
        ((4, 4, 4, True, 5), ["eligible voters missing"]),
        ((5, 5, 5, False, None), ["registration is still open"]),
    ],
)
def test_each_count_that_disagrees_is_named(
    counts: tuple[int, int, int, bool, int | None], named: list[str]
) -> None:
    listed, eligible, enrolled, closed, roll = counts
    problems = registration_problems(listed, eligible, enrolled, closed, roll=roll)
    assert len(problems) == len(named), problems
    for expected, problem in zip(named, problems, strict=True):
        assert expected in problem
