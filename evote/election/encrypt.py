"""The voter's device: encrypting a ballot with its proofs (the prover side).

Nonces derive from one 32-byte seed per encryption attempt (crypto spec §3.6.1), so a Benaloh
audit reveals the seed and anyone can recompute every ciphertext (:mod:`evote.election.audit`).
After an audit the device must encrypt again with a fresh ballot id and seed.

One code path for both schemes: the election context's scheme derives the nonces (scheme A
``ξ``, scheme B ``ρ``), encrypts, combines a contest's nonces for its total and proves.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from evote.crypto.elgamal import new_ballot_seed
from evote.crypto.rng import random_bytes
from evote.crypto.signing import VerifyKey
from evote.election.ballot import BALLOT_ID_BYTES, EncryptedBallot, ballot_binding, contest_index
from evote.election.contest import (
    ContestShape,
    EncryptedContest,
    EncryptedSelection,
    homomorphic_sum,
    range_statement,
)
from evote.election.context import ElectionContext
from evote.election.manifest import Manifest
from evote.election.schemes import AnyScheme
from evote.errors import InvalidInput


@dataclass(frozen=True, slots=True)
class PlaintextBallot:
    """A voter's choices for one ballot style: per part, one value per option (0 or 1)."""

    style: str
    votes: tuple[tuple[int, ...], ...]

    @classmethod
    def from_choices(
        cls, manifest: Manifest, style: str, choices: Mapping[str, Sequence[str]]
    ) -> PlaintextBallot:
        """Build from option ids chosen per part (a part left out is left blank)."""
        parts = manifest.style(style).parts
        unknown = set(choices) - set(parts)
        if unknown:
            raise InvalidInput(f"style {style} has no parts {sorted(unknown)}")
        votes = []
        for part in parts:
            contest, district = manifest.part(part)
            options = contest.options(district)
            chosen = list(choices.get(part, ()))
            missing = set(chosen) - set(options)
            if missing:
                raise InvalidInput(f"{part}: no options {sorted(missing)}")
            if len(set(chosen)) != len(chosen):
                raise InvalidInput(f"{part}: an option is chosen twice")
            votes.append(tuple(int(option in chosen) for option in options))
        return cls(style, tuple(votes))


@dataclass(frozen=True, slots=True)
class EncryptionResult:
    """The ballot and its seed: cast the ballot and forget the seed, or audit with the seed."""

    ballot: EncryptedBallot[Any, Any]
    seed: bytes


def encrypt_ballot(
    plaintext: PlaintextBallot,
    context: ElectionContext,
    credential: VerifyKey,
    sequence: int,
) -> EncryptionResult:
    """Encrypt and prove a ballot with a fresh ballot id and seed."""
    return encrypt_with_seed(
        plaintext, context, credential, sequence, random_bytes(BALLOT_ID_BYTES), new_ballot_seed()
    )


def encrypt_with_seed(
    plaintext: PlaintextBallot,
    context: ElectionContext,
    credential: VerifyKey,
    sequence: int,
    ballot_id: bytes,
    seed: bytes,
) -> EncryptionResult:
    """Encrypt with a given ``ballot_id`` and ``seed``: the ciphertexts follow from them."""
    manifest = context.manifest
    parts = manifest.style(plaintext.style).parts
    if len(plaintext.votes) != len(parts):
        raise InvalidInput(f"style {plaintext.style} has {len(parts)} parts")
    if sequence < 0:
        raise InvalidInput("a ballot sequence number is non-negative")
    binding = ballot_binding(
        context.extended_hash, ballot_id, credential, plaintext.style, sequence
    )
    contests = []
    for part, votes in zip(parts, plaintext.votes, strict=True):
        definition, district = manifest.part(part)
        contests.append(
            encrypt_contest(
                votes,
                definition.shape(district),
                contest_index(manifest, part),
                context.scheme,
                context.extended_hash,
                binding,
                seed,
            )
        )
    ballot = EncryptedBallot(
        ballot_id, credential, sequence, plaintext.style, tuple(contests), context.scheme
    )
    return EncryptionResult(ballot, seed)


def encrypt_contest(
    votes: Sequence[int],
    shape: ContestShape,
    contest_index: int,
    scheme: AnyScheme,
    election_hash: bytes,
    binding: bytes,
    seed: bytes,
) -> EncryptedContest[Any, Any]:
    """Encrypt and prove one contest of a ballot; nonces derive from ``seed``."""
    shape.check_votes(votes)
    selections = []
    nonces = []
    for option, (vote, limit) in enumerate(zip(votes, shape.option_limits, strict=True)):
        nonce = scheme.selection_nonce(election_hash, binding, seed, contest_index, option)
        nonces.append(nonce)
        ciphertext = scheme.encrypt(vote, nonce)
        statement = range_statement(election_hash, binding, contest_index, option)
        proof = scheme.prove_range(ciphertext, vote, nonce, 0, limit, statement)
        selections.append(EncryptedSelection(ciphertext, proof))
    total_proof = scheme.prove_range(
        homomorphic_sum((selection.ciphertext for selection in selections), scheme),
        sum(votes),
        scheme.contest_nonce(nonces),
        shape.min_total,
        shape.max_total,
        range_statement(election_hash, binding, contest_index, None),
    )
    return EncryptedContest(tuple(selections), total_proof)
