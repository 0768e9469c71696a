"""Running the ceremony's rounds over the board with every guardian present (rehearsals, mocks).

:func:`run_ceremony` plays each guardian's :class:`Trustee` round by round, posts every
message through ``post`` (which signs it with the guardian's identity key and appends it to
the board), has every guardian check the others and complain, lets the accused answer, judges
the outcome from the public messages alone, and finishes each guardian. A ``tamper`` hook lets
rehearsals and tests make one guardian cheat in a given round.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TypeVar

from evote.ceremony import messages
from evote.ceremony.messages import (
    Commit,
    Complaint,
    GuardianKey,
    KeyCheck,
    SealedShares,
    ShareReveal,
    TransportKey,
)
from evote.ceremony.outcome import CeremonyOutcome, judge
from evote.ceremony.trustee import Trustee
from evote.election.context import ElectionContext
from evote.election.manifest import Manifest

#: ``post(kind, body, guardian)``: sign ``body`` as ``guardian`` (1..n) and append it.
Post = Callable[[str, bytes, int], None]
Message = TransportKey | Commit | GuardianKey | SealedShares | Complaint | ShareReveal | KeyCheck
#: ``tamper(round_kind, guardian, message)``: what a cheating guardian posts instead, or
#: ``None`` for a guardian who posts nothing in that round.
Tamper = Callable[[str, int, Message], Message | None]


def _honest(kind: str, guardian: int, message: Message) -> Message | None:
    return message


@dataclass(frozen=True, slots=True)
class CeremonyRun:
    trustees: tuple[Trustee, ...]
    outcome: CeremonyOutcome
    complaints: tuple[Complaint, ...]


def run_ceremony(manifest: Manifest, post: Post, tamper: Tamper = _honest) -> CeremonyRun:
    """Rounds 0–4 and the judgement; each guardian finishes if everyone qualified."""
    trustees = tuple(Trustee(manifest, i) for i in range(1, len(manifest.guardians) + 1))

    def publish(kind: str, produce: Callable[[Trustee], Message]) -> dict[int, Message]:
        posted = {}
        for trustee in trustees:
            message = tamper(kind, trustee.index, produce(trustee))
            if message is None:
                continue
            post(kind, message.to_tlv(), trustee.index)
            posted[trustee.index] = message
        return posted

    transport = _typed(publish(messages.TRANSPORT, Trustee.transport_key), TransportKey)
    commits = _typed(publish(messages.COMMIT, Trustee.commit), Commit)
    reveals = _typed(publish(messages.REVEAL, Trustee.reveal), GuardianKey)
    sealed = _typed(
        publish(messages.SHARES, lambda trustee: trustee.seal_shares(transport)), SealedShares
    )
    complaints: list[Complaint] = []
    for trustee in trustees:
        for complaint in trustee.receive(transport, commits, reveals, sealed):
            post(messages.COMPLAINT, complaint.to_tlv(), trustee.index)
            complaints.append(complaint)
    answers: list[ShareReveal] = []
    for complaint in complaints:
        accused = trustees[complaint.accused - 1]
        answer = tamper(messages.SHARE_REVEAL, accused.index, accused.answer(complaint))
        if isinstance(answer, ShareReveal):
            post(messages.SHARE_REVEAL, answer.to_tlv(), accused.index)
            answers.append(answer)
    outcome = judge(manifest, transport, commits, reveals, sealed, complaints, answers)
    if outcome.context is not None:
        for trustee in trustees:
            trustee.finish(outcome)
    return CeremonyRun(trustees, outcome, tuple(complaints))


def post_key_checks(trustees: Sequence[Trustee], context: ElectionContext, post: Post) -> None:
    """Every guardian proves it can still decrypt, before the election opens."""
    for trustee in trustees:
        post(messages.KEY_CHECK, trustee.key_check(context).to_tlv(), trustee.index)


T = TypeVar("T")


def _typed(posted: dict[int, Message], kind: type[T]) -> dict[int, T]:
    return {index: message for index, message in posted.items() if isinstance(message, kind)}
