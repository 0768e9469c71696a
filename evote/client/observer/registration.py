"""The registry's public counts against the credential list on the board.

A registry (or credential authority) that adds credentials nobody enrolled, "ghosts", can
vote with them, and every check of the record passes: each ghost ballot is signed by a listed
credential. What gives it away are the numbers the registry must publish: ``eligible`` (codes
on the roll), ``enrolled`` (credentials enrolled with a code) and whether registration is
closed (:class:`evote.record.registry.Registry`). The record alone does not hold them, so this
is an observer's check (named ``registration``), made with the counts read from the registry
(:meth:`evote.client.channels.RegistryClient.status`) and, when it is known, the official
number of eligible voters (the roll as the officials published it, out of band):

* the list holds exactly as many credentials as the registry enrolled (more: ghosts; fewer:
  enrolled voters left off, who cannot vote);
* nobody enrolled beyond the roll (``enrolled ≤ eligible``);
* the roll holds the official number of eligible voters (more codes than voters: the registry
  gave itself codes to enroll ghosts with);
* registration is closed once the list is on the board (the list is what closing publishes).

Ghosts enrolled with the codes of eligible voters who never enrolled keep every count right:
only those voters can tell (their code is already used), which is the roll audit of
``simulations/scenarios/stuffing.py``.
"""

from __future__ import annotations


def registration_problems(
    listed: int, eligible: int, enrolled: int, closed: bool, *, roll: int | None = None
) -> list[str]:
    """What is wrong between a credential list of ``listed`` credentials and the registry's
    counts (empty if nothing); ``roll`` is the official number of eligible voters, if known."""
    problems = []
    if listed > enrolled:
        problems.append(
            f"the credential list holds {listed} credentials but the registry enrolled "
            f"{enrolled}: {listed - enrolled} listed credentials were never enrolled with a code "
            "(ghost credentials, which can vote)"
        )
    elif listed < enrolled:
        problems.append(
            f"the credential list holds {listed} credentials but the registry enrolled "
            f"{enrolled}: {enrolled - listed} enrolled voters were left off the list and cannot "
            "vote"
        )
    if enrolled > eligible:
        problems.append(
            f"the registry enrolled {enrolled} credentials with only {eligible} codes on its roll"
        )
    if roll is not None and eligible != roll:
        problems.append(
            f"the registry's roll holds {eligible} enrollment codes but {roll} voters are "
            f"eligible: {'codes beyond the roll' if eligible > roll else 'eligible voters missing'}"
        )
    if not closed:
        problems.append(
            "the credential list is on the board but the registry says registration is still open"
        )
    return problems
