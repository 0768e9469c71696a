"""Scheme B test keys: a 2048-bit threshold Paillier key from two fixed safe primes.

The dealer's own :func:`~evote.crypto.paillier.deal` draws fresh safe primes (one to three
seconds); tests take these two 1024-bit safe primes instead, generated once with
:func:`~evote.crypto.paillier.safe_prime`, and deal from them with
:func:`~evote.crypto.paillier.deal_from_primes` (which checks that both are safe primes). The
modulus has the production size, so the verifier's refusal of test-sized moduli never needs
relaxing. ``phe.PaillierPrivateKey`` can use them as a known-answer oracle.
"""

from __future__ import annotations

import functools
from typing import Final

import phe

from evote.crypto.paillier import DealerOutput, PaillierCiphertext, deal_from_primes

P: Final = int(
    "ef2c3d947a10c65d0d63cddf11ebd75cc503cffe3d44ac3c26e615539c1431f5f3f87bc479c802504dc72892"
    "53e80cf2be4f4fbc53183fafe79f2e19b6f2730b5cc9068fa155f8bb784393990309dc6c6bf4fda7ec7da524"
    "c286275b9f3c3e2c2fee9e644b0c49ade713114f7a1832239200a2567d480039fa995da4648b32d3",
    16,
)
Q: Final = int(
    "c90d3551a7b9d58ce73e9ab5819961d726552037cba4a69df06bf47075996cd7bae82fe02f3d827ac1234a2d"
    "360252ef2a4568b6972d18fe01ab05e61c41904a8ba8c91a8f3d549beca794ae5d7114489337b48f42beee87"
    "6a312119a30134b99e8cb57d88c4fa50f5e3dda7d2455e8dc8da1573e3378dbfa842401c8c5f8833",
    16,
)

#: Two more, for "another election's key" (another modulus).
OTHER_P: Final = int(
    "d52195a844f8782f9125da1fde550b5819115a202e870f49e086cba5f3adb3344a93687e5ae874e1e3656d06"
    "6a17a38a86fa23188fec43d237223673fdd46b81da3408bfec2873716a54ff97cfd2ee85a8418cae723a37f9"
    "7c38ce59ce0cd05e716b745dd91764ccc5ada2cc09dfc440336f46b11c855f08ff7def69a26812df",
    16,
)
OTHER_Q: Final = int(
    "f8daa3a993d0835be6471918d79478854d57e6d3d685215109b44647a6a591c0c72301786971e00d83b576b5"
    "92613ca78017e9705540b30ec5c504e70776c5e031f9b0bbaa04ee31604297c437dcfb8f85485a8534a279fe"
    "29ec7ee852ab87635665801fa5d748d583bc62053a166c4f86dfb35e8e9f6166eaf44f587b36b493",
    16,
)


@functools.cache
def dealt(guardians: int, quorum: int) -> DealerOutput:
    """One dealing per roster (its shares and ``v`` are random): cached for the test run."""
    return deal_from_primes(P, Q, guardians, quorum)


@functools.cache
def other_dealt(guardians: int, quorum: int) -> DealerOutput:
    """A key with another modulus."""
    return deal_from_primes(OTHER_P, OTHER_Q, guardians, quorum)


def plaintext_of(ciphertext: PaillierCiphertext) -> int:
    """The test oracle: what ``ciphertext`` decrypts to under the key of :data:`P` and :data:`Q`
    (phe's private key; only the dealer, and tests, know the primes)."""
    private = phe.PaillierPrivateKey(phe.PaillierPublicKey(P * Q), P, Q)
    return int(private.raw_decrypt(ciphertext.value))
