"""Scheme B: threshold Paillier with a trusted dealer (crypto spec §4), behind the scheme interface.

**Trust.** The dealer sees the factorization of ``n`` and could decrypt every ballot for ever;
a modulus with a small factor would also let a colluding voter prove an invalid vote (§4.1,
§4.6). Scheme B is therefore an experiment and a benchmark, never a default: privacy *and*
ballot-proof soundness rest on the dealer machine having been honest and having erased its
secrets. The dealer's ``p, q, p', q', m, d`` and polynomial never leave :func:`deal_from_primes`.

**Keys** (§4.2, Damgård–Jurik with s = 1, Shoup, Fouque–Poupard–Stern). Safe primes
``p = 2p'+1``, ``q = 2q'+1`` (a sieved search, not ``phe.generate_paillier_keypair``, whose
primes are not safe); ``n = pq``, ``m = p'q'``, ``d = m·(m⁻¹ mod n)``; Shamir shares
``s_i = f(i) mod nm`` of ``f(0) = d``; ``v`` a random square of ``Z*_{n²}``, ``Δ = N!`` for
``N`` guardians and verification keys ``v_i = v^{Δ·s_i}``. Published: ``(n, v, v_1..v_N, t)``.

**Encryption** (§4.3) goes through ``phe.PaillierPublicKey.raw_encrypt(σ, r_value=ρ)`` with our
own ``ρ ∈ Z*_n``, i.e. ``(1 + σn)·ρ^n mod n²``, and ``ρ`` is kept for the proof. Never
``pk.encrypt()`` (it encrypts with ``r = 1`` and re-randomizes internally, so nobody learns the
randomness and nothing can be proved) and never ``EncryptedNumber.ciphertext()`` with its
default ``be_secure=True`` (it silently multiplies in a fresh ``r^n``, and the value no longer
matches its proof). Ciphertexts are plain ints; they add as ``c1·c2 mod n²``.

**Range proof** ``σ ∈ [lo, hi]`` (§4.4, an OR of n-th-residuosity proofs, κ = 256 challenge
bits): with ``u_j = c·(1 − j·n) mod n²``, the proof is ``([A_j], [e_j], [z_j])`` with
``z_j^n ≡ A_j·u_j^{e_j} (mod n²)`` for every ``j`` and
``Σ e_j ≡ Hint("paillier/range", H_E, D_b, idx, lo, hi, n, c, [A_j]) (mod 2^κ)``.

**Decryption share** (§4.5): ``c_i = c^{2Δs_i}`` with a proof that
``log_{c⁴}(c_i²) = log_v(v_i)``: ``(a, b, z)`` with ``(c⁴)^z ≡ a·(c_i²)^e``, ``v^z ≡ b·v_i^e``
and ``e = Hint("paillier/decrypt-share", H_E, target_id, i, n, v, v_i, c, c_i, a, b)``.
**Combination** of any ``t`` shares: ``c' = Π c_i^{2λ_i}`` with ``λ_i = Δ·Π_{j≠i} j/(j−i)``
(an exact integer thanks to ``Δ``), and ``σ = L(c')·(4Δ²)⁻¹ mod n`` with ``L(x) = (x − 1)/n``.

**Encodings.** ``Hint(label, …)`` is ``H32(label, …)`` read as a 256-bit big-endian integer
(κ = 256 bits exactly). Residues are hashed and published as fixed-width big-endian ``bytes``
(the byte length of ``n²``, or of ``n`` for responses mod ``n``), the layout the TLV types
``0x06``/``0x07`` reserve for them; ``n`` itself and small integers are TLV integers.

**Sizes.** κ must stay below the bit length of the smallest prime factor (§4.4, §5.1 rule 7),
so the dealer refuses primes under :data:`MIN_PRIME_BITS` (κ + 32) bits; the smallest modulus
anything here accepts is :data:`MIN_MODULUS_BITS`, and a verifier's scheme lookup
(:func:`paillier_scheme_for`) accepts only production moduli of at least
:data:`PRODUCTION_MODULUS_BITS`. Exponentiation with a secret exponent uses
``gmpy2.powmod_sec`` (§6); nothing else here is claimed to be constant-time.

The only module of evote that imports ``phe``.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Final

import gmpy2
import phe

from evote.crypto.elgamal import SEED_BYTES
from evote.crypto.encoding import (
    Decoded,
    Value,
    expect_bytes,
    expect_int,
    expect_list,
    expect_text,
)
from evote.crypto.hashing import Label, hash32
from evote.crypto.proofs.statements import DecryptionTarget, RangeStatement
from evote.crypto.rng import hedged_below, random_below, random_unit
from evote.crypto.scheme import PROTOCOL_VERSION, HomomorphicScheme
from evote.errors import (
    DecodeError,
    InvalidInput,
    ProofError,
    ShareError,
    TallyOutOfRange,
    VerificationError,
)

#: Challenge bits of both proofs (§4.4, §5.1 rule 7): the bytes of one ``H32`` digest.
KAPPA: Final = 256
#: Key size of a real election: about 112-bit security (§4.2).
DEFAULT_MODULUS_BITS: Final = 2048
#: Each prime must exceed 2^κ for special soundness; 32 bits of margin above κ.
MIN_PRIME_BITS: Final = KAPPA + 32
#: The smallest modulus the dealer makes or a decoder accepts (test keys use this size).
MIN_MODULUS_BITS: Final = 2 * MIN_PRIME_BITS
#: A denial-of-service cap on the modulus of a decoded key.
MAX_MODULUS_BITS: Final = 4096
#: The smallest modulus a verifier's scheme lookup accepts (:func:`paillier_scheme_for`).
PRODUCTION_MODULUS_BITS: Final = 2048
#: ``Δ = N!`` enters every share exponent; 100 guardians make it a 525-bit number.
MAX_GUARDIANS: Final = 100
#: The largest number of branches a range proof may have (the same cap as scheme A's).
MAX_BRANCHES: Final = 64
#: Statistical hiding of the share-proof response ``z = r + e·Δ·s_i`` (§4.5).
_HIDING_BITS: Final = 128
#: Candidates for safe primes are sieved by every odd prime below this bound (§4.2).
_SIEVE_BOUND: Final = 1 << 17
#: Miller–Rabin rounds of the final primality tests of the dealer (§4.2).
_PRIME_ROUNDS: Final = 40
#: A public modulus must have no prime factor below this bound (a cheap sanity check).
_SMALL_FACTOR_BOUND: Final = 1 << 12

PUBLIC_KEY_TAG: Final = "evote/v1/paillier-key"
KEY_SHARE_TAG: Final = "evote/v1/paillier-key-share"

_RANGE = "paillier range"
_SHARE = "paillier decryption share"


# --- small helpers -------------------------------------------------------------------------------


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_unit(value: object, modulus: int, n: int) -> bool:
    """``value ∈ Z*_modulus`` for ``modulus ∈ {n, n²}``: ``0 < value < modulus``, coprime to n."""
    if not isinstance(value, int) or isinstance(value, bool):
        return False
    return 0 < value < modulus and math.gcd(value, n) == 1


def _fixed(value: int, width: int) -> bytes:
    """``value`` as exactly ``width`` big-endian bytes (the residue layout of §5.2)."""
    if not 0 <= value < 1 << (8 * width):
        raise InvalidInput(f"{value.bit_length()}-bit value does not fit {width} bytes")
    return value.to_bytes(width, "big")


def _powmod(base: int, exponent: int, modulus: int) -> int:
    """``base^exponent mod modulus`` for public exponents (negative ones invert the base)."""
    return int(gmpy2.powmod(base, exponent, modulus))


def _powmod_secret(base: int, exponent: int, modulus: int) -> int:
    """``base^exponent mod modulus`` for a secret ``exponent ≥ 0``, with ``gmpy2.powmod_sec``."""
    if exponent == 0:
        return 1 % modulus
    return int(gmpy2.powmod_sec(base, exponent, modulus))


def _check_roster(guardians: int, quorum: int) -> None:
    if not _is_int(guardians) or not 1 <= guardians <= MAX_GUARDIANS:
        raise InvalidInput(f"scheme B takes 1 to {MAX_GUARDIANS} guardians, got {guardians}")
    if not _is_int(quorum) or not 1 <= quorum <= guardians:
        raise InvalidInput(f"the quorum must lie in [1, {guardians}], got {quorum}")


@functools.cache
def _odd_primes_below(bound: int) -> tuple[int, ...]:
    sieve = bytearray([1]) * bound
    sieve[0:2] = b"\x00\x00"
    for i in range(2, math.isqrt(bound) + 1):
        if sieve[i]:
            sieve[i * i :: i] = bytes(len(range(i * i, bound, i)))
    return tuple(i for i in range(3, bound, 2) if sieve[i])


@functools.cache
def _small_primorial() -> int:
    return math.prod((2, *_odd_primes_below(_SMALL_FACTOR_BOUND)))


def _check_modulus(n: object) -> None:
    """What a public modulus must be, as far as anyone but the dealer can tell."""
    if not isinstance(n, int) or isinstance(n, bool):
        raise InvalidInput(f"the modulus n must be an integer, got {type(n).__name__}")
    bits = n.bit_length()
    if not MIN_MODULUS_BITS <= bits <= MAX_MODULUS_BITS:
        raise InvalidInput(
            f"the modulus n must have {MIN_MODULUS_BITS} to {MAX_MODULUS_BITS} bits, got {bits}"
        )
    if math.gcd(n, _small_primorial()) != 1:
        raise InvalidInput(f"the modulus n has a prime factor below {_SMALL_FACTOR_BOUND}")
    if gmpy2.is_square(n):
        raise InvalidInput("the modulus n is a perfect square (p = q)")
    if gmpy2.is_prime(n):
        raise InvalidInput("the modulus n is prime, not a product of two primes")


# --- keys ----------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PaillierPublicKey:
    """What the dealer publishes (§4.2 step 5): ``n``, ``v``, ``v_1..v_N`` and the quorum ``t``.

    The constructor validates everything that can be checked without the factorization: the
    modulus (size, no small factor, not a square, not prime), ``v`` and every ``v_i`` units of
    ``Z*_{n²}`` of order above 2, and ``1 ≤ t ≤ N ≤`` :data:`MAX_GUARDIANS`.
    """

    n: int
    v: int
    verification_keys: tuple[int, ...]
    quorum: int

    def __post_init__(self) -> None:
        _check_modulus(self.n)
        if not isinstance(self.verification_keys, tuple):
            raise InvalidInput("the verification keys are a tuple, one per guardian")
        _check_roster(len(self.verification_keys), self.quorum)
        n_squared = self.n * self.n
        for what, value in [("v", self.v)] + [
            (f"v_{i}", key) for i, key in enumerate(self.verification_keys, start=1)
        ]:
            if not _is_unit(value, n_squared, self.n):
                raise InvalidInput(f"{what} must be a unit of Z*_(n²)")
            if value * value % n_squared == 1:
                raise InvalidInput(f"{what} has order 1 or 2: it would make every proof trivial")

    @property
    def guardians(self) -> int:
        """``N``, the number of guardians the key was dealt to."""
        return len(self.verification_keys)

    @property
    def n_squared(self) -> int:
        return self.n * self.n

    @property
    def delta(self) -> int:
        """``Δ = N!``: makes the Lagrange coefficients integers without knowing ``nm``."""
        return math.factorial(self.guardians)

    @property
    def residue_bytes(self) -> int:
        """The fixed width of an element mod ``n²``."""
        return (self.n_squared.bit_length() + 7) // 8

    @property
    def unit_bytes(self) -> int:
        """The fixed width of an element mod ``n``."""
        return (self.n.bit_length() + 7) // 8

    @property
    def response_bits(self) -> int:
        """Share-proof responses ``z`` lie below ``2^response_bits`` (§4.5).

        The guardian does not know ``nm`` either, so ``|n²|`` bounds ``|nm|`` for both sides:
        ``r < 2^(|Δ| + |n²| + κ + 128)`` and ``z = r + e·Δ·s_i`` stays below twice that.
        """
        return self.delta.bit_length() + self.n_squared.bit_length() + KAPPA + _HIDING_BITS + 1

    def verification_key(self, guardian: int) -> int:
        """``v_i``; guardians are numbered ``1..N``."""
        if not _is_int(guardian) or not 1 <= guardian <= self.guardians:
            raise InvalidInput(f"guardians are numbered 1 to {self.guardians}, got {guardian}")
        return self.verification_keys[guardian - 1]

    def is_ciphertext(self, value: object) -> bool:
        """Whether ``value ∈ Z*_{n²}`` (§4.3: ``0 < c < n²`` and ``gcd(c, n) = 1``)."""
        return _is_unit(value, self.n_squared, self.n)

    def residue(self, value: int) -> bytes:
        """``value`` mod ``n²`` in its fixed-width form."""
        return _fixed(value, self.residue_bytes)

    def to_value(self) -> Value:
        """``[tag, n, t, v, [v_1..v_N]]``, residues fixed-width."""
        return [
            PUBLIC_KEY_TAG,
            self.n,
            self.quorum,
            self.residue(self.v),
            [self.residue(key) for key in self.verification_keys],
        ]

    @classmethod
    def from_value(cls, value: Decoded) -> PaillierPublicKey:
        """Parse and validate a published key; anything malformed raises :class:`DecodeError`."""
        fields = expect_list(value, 5, what="paillier key")
        if expect_text(fields[0], what="paillier key.tag") != PUBLIC_KEY_TAG:
            raise DecodeError(f"paillier key: the tag is not {PUBLIC_KEY_TAG!r}")
        n = expect_int(fields[1], what="paillier key.n")
        try:
            _check_modulus(n)
        except InvalidInput as error:
            raise DecodeError(f"paillier key.n: {error}") from error
        width = ((n * n).bit_length() + 7) // 8
        quorum = expect_int(fields[2], what="paillier key.quorum")
        v = int.from_bytes(expect_bytes(fields[3], width, what="paillier key.v"), "big")
        items = expect_list(fields[4], what="paillier key.verification_keys")
        if not 1 <= len(items) <= MAX_GUARDIANS:
            raise DecodeError(
                f"paillier key: 1 to {MAX_GUARDIANS} verification keys, got {len(items)}"
            )
        keys = tuple(
            int.from_bytes(expect_bytes(item, width, what=f"paillier key.v_{i}"), "big")
            for i, item in enumerate(items, start=1)
        )
        try:
            return cls(n, v, keys, quorum)
        except InvalidInput as error:
            raise DecodeError(f"paillier key: {error}") from error


@dataclass(frozen=True, slots=True)
class PaillierKeyShare:
    """Guardian ``guardian``'s secret ``s_i = f(i) mod nm``; never printed (``repr`` hides it)."""

    guardian: int
    secret: int = field(repr=False)

    def __post_init__(self) -> None:
        if not _is_int(self.guardian) or not 1 <= self.guardian <= MAX_GUARDIANS:
            raise InvalidInput(f"guardians are numbered 1 to {MAX_GUARDIANS}, got {self.guardian}")
        if not _is_int(self.secret) or self.secret < 0:
            raise InvalidInput("a key share is a non-negative integer")

    def to_value(self) -> Value:
        """``[tag, i, s_i]``: what the dealer seals to guardian ``i`` (with its context)."""
        return [KEY_SHARE_TAG, self.guardian, self.secret]

    @classmethod
    def from_value(cls, value: Decoded, key: PaillierPublicKey) -> PaillierKeyShare:
        """Parse a share of ``key``: a guardian of the key, ``0 ≤ s_i < n²``.

        This does not prove the share right: :func:`check_key_share` does.
        """
        fields = expect_list(value, 3, what="paillier key share")
        if expect_text(fields[0], what="paillier key share.tag") != KEY_SHARE_TAG:
            raise DecodeError(f"paillier key share: the tag is not {KEY_SHARE_TAG!r}")
        guardian = expect_int(fields[1], what="paillier key share.guardian")
        if not 1 <= guardian <= key.guardians:
            raise DecodeError(
                f"paillier key share: guardians are numbered 1 to {key.guardians}, got {guardian}"
            )
        secret = expect_int(fields[2], what="paillier key share.secret")
        if secret >= key.n_squared:
            raise DecodeError("paillier key share: the secret is not below n²")
        return cls(guardian, secret)


@dataclass(frozen=True, slots=True)
class DealerOutput:
    """The dealer's whole output: the public key and one share per guardian (index ``i − 1``).

    Nothing else leaves the dealer: not ``p, q``, ``m``, ``d`` nor the polynomial.
    """

    public_key: PaillierPublicKey
    shares: tuple[PaillierKeyShare, ...] = field(repr=False)

    def share_for(self, guardian: int) -> PaillierKeyShare:
        self.public_key.verification_key(guardian)  # validates the index
        return self.shares[guardian - 1]


def check_key_share(share: PaillierKeyShare, key: PaillierPublicKey) -> None:
    """The guardian's check of its share (§4.2 step 5): ``v^{Δ·s_i} = v_i``, else ShareError."""
    expected = key.verification_key(share.guardian)
    if share.secret >= key.n_squared or (
        _powmod_secret(key.v, key.delta * share.secret, key.n_squared) != expected
    ):
        raise ShareError(
            f"the key share for guardian {share.guardian} does not match its verification key "
            "v_i: it was dealt for another key or another guardian, or it was altered"
        )


def safe_prime(bits: int) -> int:
    """A random safe prime ``p = 2p'+1`` of exactly ``bits`` bits, its top two bits set.

    The top two bits make a product of two such primes exactly ``2·bits`` bits long. The
    search (§4.2) sieves a window of candidates ``p'`` by every odd prime below 2^17 for both
    ``p'`` and ``2p'+1``, then runs a base-2 Fermat test on ``p`` and 40 Miller–Rabin rounds on
    both ``p'`` and ``p``.
    """
    if not _is_int(bits) or not MIN_PRIME_BITS <= bits <= MAX_MODULUS_BITS // 2:
        raise InvalidInput(
            f"safe primes here have {MIN_PRIME_BITS} to {MAX_MODULUS_BITS // 2} bits, got {bits}"
        )
    window = 8 * bits
    primes = _odd_primes_below(_SIEVE_BOUND)
    while True:
        # p' has bits − 1 bits with its top two set, and is odd.
        start = random_below(1 << (bits - 3)) | (0b11 << (bits - 3)) | 1
        alive = bytearray([1]) * window
        for r in primes:
            # Candidate k is p' = start + 2k; strike p' ≡ 0 and p' ≡ (r − 1)/2 (then r | 2p'+1).
            half = (r + 1) >> 1  # the inverse of 2 mod r
            for bad in (0, (r - 1) >> 1):
                first = (bad - start) * half % r
                if first < window:
                    alive[first::r] = bytes(len(range(first, window, r)))
        for k in range(window):
            if not alive[k]:
                continue
            sophie = start + 2 * k
            prime = 2 * sophie + 1
            if prime.bit_length() != bits:
                break
            if gmpy2.powmod(2, prime - 1, prime) != 1:
                continue
            if gmpy2.is_prime(sophie, _PRIME_ROUNDS) and gmpy2.is_prime(prime, _PRIME_ROUNDS):
                return prime


def _is_safe_prime(value: int) -> bool:
    return (
        value > 5
        and value % 2 == 1
        and bool(gmpy2.is_prime(value, _PRIME_ROUNDS))
        and bool(gmpy2.is_prime((value - 1) // 2, _PRIME_ROUNDS))
    )


def deal(guardians: int, quorum: int, modulus_bits: int = DEFAULT_MODULUS_BITS) -> DealerOutput:
    """The dealer (§4.2): fresh safe primes, then :func:`deal_from_primes`.

    ``modulus_bits`` is even, at least :data:`MIN_MODULUS_BITS`. A 1024-bit safe prime took
    0.66 s of CPU on average here (0.05 to 1.35 s), so a 2048-bit key takes one or two seconds.
    """
    if (
        not _is_int(modulus_bits)
        or modulus_bits % 2
        or not (MIN_MODULUS_BITS <= modulus_bits <= MAX_MODULUS_BITS)
    ):
        raise InvalidInput(
            f"the modulus size must be even, {MIN_MODULUS_BITS} to {MAX_MODULUS_BITS} bits, "
            f"got {modulus_bits}"
        )
    _check_roster(guardians, quorum)
    first = safe_prime(modulus_bits // 2)
    while True:
        second = safe_prime(modulus_bits // 2)
        if second != first:
            return deal_from_primes(first, second, guardians, quorum)


def deal_from_primes(p: int, q: int, guardians: int, quorum: int) -> DealerOutput:
    """Deal a key for ``N = guardians`` with quorum ``t`` from two given safe primes.

    :func:`deal` is the dealer's entry point; this lower level exists so that tests can build
    ``phe.PaillierPrivateKey(pk, p, q)`` as a known-answer oracle. It refuses anything but two
    distinct safe primes of the same size, each of at least :data:`MIN_PRIME_BITS` bits
    (so that ``2^κ`` stays below both). Every secret stays in this function's locals.
    """
    _check_roster(guardians, quorum)
    if not (_is_int(p) and _is_int(q)):
        raise InvalidInput("the primes must be integers")
    if p == q:
        raise InvalidInput("the two primes must differ")
    if p.bit_length() != q.bit_length():
        raise InvalidInput("the two primes must have the same size")
    if min(p, q).bit_length() < MIN_PRIME_BITS:
        raise InvalidInput(
            f"each prime needs at least {MIN_PRIME_BITS} bits so that 2^{KAPPA} stays below it"
        )
    if not MIN_MODULUS_BITS <= (p * q).bit_length() <= MAX_MODULUS_BITS:
        raise InvalidInput(
            f"the modulus must have {MIN_MODULUS_BITS} to {MAX_MODULUS_BITS} bits, "
            f"got {(p * q).bit_length()}"
        )
    if not (_is_safe_prime(p) and _is_safe_prime(q)):
        raise InvalidInput("p and q must both be safe primes (p = 2p' + 1 with p' prime)")
    n = p * q
    n_squared = n * n
    m = ((p - 1) // 2) * ((q - 1) // 2)
    d = m * pow(m, -1, n)  # d ≡ 0 (mod m), d ≡ 1 (mod n)
    nm = n * m
    coefficients = [d] + [random_below(nm) for _ in range(quorum - 1)]
    key_shares = []
    for index in range(1, guardians + 1):
        value = 0
        for coefficient in reversed(coefficients):
            value = (value * index + coefficient) % nm
        key_shares.append(value)
    while True:
        root = random_unit(n_squared)
        v = root * root % n_squared
        if v * v % n_squared != 1:
            break
    delta = math.factorial(guardians)
    verification_keys = tuple(_powmod_secret(v, delta * s, n_squared) for s in key_shares)
    public_key = PaillierPublicKey(n, v, verification_keys, quorum)
    shares = tuple(PaillierKeyShare(i, s) for i, s in enumerate(key_shares, start=1))
    return DealerOutput(public_key, shares)


# --- ciphertexts -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PaillierCiphertext:
    """``c = (1 + σn)·ρ^n mod n²``; decoded ones are units of ``Z*_{n²}``."""

    value: int

    def to_value(self, key: PaillierPublicKey) -> Value:
        """The fixed-width bytes of ``c`` mod ``n²``."""
        return key.residue(self.value)

    @classmethod
    def from_value(
        cls, value: Decoded, key: PaillierPublicKey, *, what: str = "ciphertext"
    ) -> PaillierCiphertext:
        """Parse ``c``: exactly the width of ``n²``, ``0 < c < n²``, ``gcd(c, n) = 1``."""
        number = int.from_bytes(expect_bytes(value, key.residue_bytes, what=what), "big")
        if not key.is_ciphertext(number):
            raise DecodeError(f"{what}: not an element of Z*_(n²) (0 < c < n², gcd(c, n) = 1)")
        return cls(number)


#: The encryption of 0 with ``ρ = 1``: the neutral element of homomorphic addition.
ZERO_CIPHERTEXT: Final = PaillierCiphertext(1)


def encrypt(value: int, nonce: int, key: PaillierPublicKey) -> PaillierCiphertext:
    """``pk.raw_encrypt(σ, r_value=ρ)`` = ``(1 + σn)·ρ^n mod n²`` (§4.3); keep ``ρ`` to prove.

    ``ρ`` must be a unit mod ``n`` (phe itself would silently replace ``ρ = 0`` by randomness
    of its own).
    """
    if not _is_int(value) or not 0 <= value < key.n:
        raise InvalidInput("a Paillier plaintext is an integer in [0, n)")
    if not _is_unit(nonce, key.n, key.n):
        raise InvalidInput("an encryption nonce ρ must be an element of Z*_n: draw it with rng")
    return PaillierCiphertext(int(phe.PaillierPublicKey(key.n).raw_encrypt(value, r_value=nonce)))


def add(a: PaillierCiphertext, b: PaillierCiphertext, key: PaillierPublicKey) -> PaillierCiphertext:
    """The homomorphic sum ``a·b mod n²``."""
    return PaillierCiphertext(a.value * b.value % key.n_squared)


def sum_ciphertexts(
    ciphertexts: Sequence[PaillierCiphertext], key: PaillierPublicKey
) -> PaillierCiphertext:
    """The homomorphic sum of all; :data:`ZERO_CIPHERTEXT` for none."""
    total = ZERO_CIPHERTEXT.value
    for ciphertext in ciphertexts:
        total = total * ciphertext.value % key.n_squared
    return PaillierCiphertext(total)


# --- nonces derived from public or seeded values (§3.6.1 for scheme B) ----------------------------


def _derived_unit(label: Label, items: Sequence[Value], n: int) -> int:
    """A deterministic element of ``Z*_n`` from ``items``.

    Blocks ``H32(label, items…, attempt, block)`` are concatenated to 128 bits beyond ``|n|``
    and reduced mod ``n`` (bias below 2^-128); a value that is not a unit (probability about
    2^-1023 for a dealer's modulus: it would reveal a factor) moves on to the next attempt.
    """
    blocks = (n.bit_length() + 128 + 255) // 256
    attempt = 0
    while True:
        stream = b"".join(hash32(label, *items, attempt, block) for block in range(blocks))
        value = int.from_bytes(stream, "big") % n
        if _is_unit(value, n, n):
            return value
        attempt += 1


def selection_nonce(
    election_hash: bytes,
    binding: bytes,
    seed: bytes,
    contest_index: int,
    selection_index: int,
    key: PaillierPublicKey,
) -> int:
    """``ρ_{c,s} ∈ Z*_n`` from the ballot seed (scheme B's :func:`elgamal.selection_nonce`).

    ``ρ = Hunit("paillier/selection-nonce", H_E, D_b, ξ_B, c, s)`` (:func:`_derived_unit`), so a
    Benaloh audit that reveals the seed lets anyone recompute every ciphertext of the ballot.
    """
    if len(seed) != SEED_BYTES:
        raise InvalidInput(f"a ballot seed is {SEED_BYTES} bytes, got {len(seed)}")
    return _derived_unit(
        "paillier/selection-nonce",
        [election_hash, binding, seed, contest_index, selection_index],
        key.n,
    )


def made_with_nonce(ciphertext: PaillierCiphertext, nonce: int, key: PaillierPublicKey) -> bool:
    """Whether ``ciphertext = (1 + σn)·ρ^n mod n²`` for this ``ρ`` and some ``σ``.

    ``c·ρ^{−n} ≡ 1 (mod n)`` exactly then: one full exponentiation, without knowing ``σ``.
    This is how a ballot is caught reusing the seed an audit revealed.
    """
    if not key.is_ciphertext(ciphertext.value) or not _is_unit(nonce, key.n, key.n):
        return False
    n, n_squared = key.n, key.n_squared
    unpadded = ciphertext.value * _powmod(nonce, -n, n_squared) % n_squared
    return (unpadded - 1) % n == 0


def key_check_ciphertext(election_hash: bytes, key: PaillierPublicKey) -> PaillierCiphertext:
    """The public test ciphertext of scheme B's key checks: ``ρ^n mod n²``, an encryption of 0.

    ``ρ = Hunit("paillier/key-check", H_E)``: anyone computes it, so a guardian's proved share
    of it shows the guardian holds a share matching ``v_i`` and reveals nothing.
    """
    nonce = _derived_unit("paillier/key-check", [election_hash], key.n)
    return PaillierCiphertext(_powmod(nonce, key.n, key.n_squared))


# --- range proof (§4.4) --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PaillierRangeProof:
    """Commitments ``A_j``, challenges ``e_j``, responses ``z_j``: one each per ``j ∈ [lo, hi]``."""

    commitments: tuple[int, ...]
    challenges: tuple[int, ...]
    responses: tuple[int, ...]

    def to_value(self, key: PaillierPublicKey) -> Value:
        """``[[A_j], [e_j], [z_j]]``: residues mod ``n²``, 32-byte challenges, residues mod n."""
        return [
            [key.residue(a) for a in self.commitments],
            [_fixed(e, KAPPA // 8) for e in self.challenges],
            [_fixed(z, key.unit_bytes) for z in self.responses],
        ]

    @classmethod
    def from_value(
        cls, value: Decoded, key: PaillierPublicKey, branches: int
    ) -> PaillierRangeProof:
        """Parse a proof of exactly ``branches`` branches, every element in its range (§4.4)."""
        if not 1 <= branches <= MAX_BRANCHES:
            raise DecodeError(f"a range proof has 1 to {MAX_BRANCHES} branches, not {branches}")
        lists = expect_list(value, 3, what="paillier range proof")
        parts = [
            expect_list(item, branches, what=f"paillier range proof.{name}")
            for item, name in zip(lists, ("commitments", "challenges", "responses"), strict=True)
        ]
        commitments = []
        for i, item in enumerate(parts[0]):
            number = int.from_bytes(
                expect_bytes(item, key.residue_bytes, what=f"range proof.commitment[{i}]"), "big"
            )
            if not key.is_ciphertext(number):
                raise DecodeError(f"range proof.commitment[{i}]: not an element of Z*_(n²)")
            commitments.append(number)
        challenges = [
            int.from_bytes(
                expect_bytes(item, KAPPA // 8, what=f"range proof.challenge[{i}]"), "big"
            )
            for i, item in enumerate(parts[1])
        ]
        responses = []
        for i, item in enumerate(parts[2]):
            number = int.from_bytes(
                expect_bytes(item, key.unit_bytes, what=f"range proof.response[{i}]"), "big"
            )
            if not _is_unit(number, key.n, key.n):
                raise DecodeError(f"range proof.response[{i}]: not an element of Z*_n")
            responses.append(number)
        return cls(tuple(commitments), tuple(challenges), tuple(responses))


def _check_bounds(lo: int, hi: int, key: PaillierPublicKey) -> None:
    if not (_is_int(lo) and _is_int(hi)) or lo < 0 or hi < lo or hi >= key.n:
        raise InvalidInput(f"a range needs 0 ≤ lo ≤ hi < n, got [{lo}, {hi}]")
    if hi - lo + 1 > MAX_BRANCHES:
        raise InvalidInput(f"a range may span at most {MAX_BRANCHES} values, got [{lo}, {hi}]")


def _shifted(ciphertext: int, j: int, key: PaillierPublicKey) -> int:
    """``u_j = c·(1+n)^{−j} = c·(1 − j·n) mod n²``: an n-th residue iff ``c`` encrypts ``j``."""
    n_squared = key.n_squared
    return ciphertext * ((1 - j * key.n) % n_squared) % n_squared


def _range_challenge(
    statement: RangeStatement,
    lo: int,
    hi: int,
    key: PaillierPublicKey,
    ciphertext: int,
    commitments: Sequence[int],
) -> int:
    """``Hint("paillier/range", H_E, D_b, idx, lo, hi, n, c, [A_j])`` (§4.4, §5.4).

    ``idx`` is the pair (contest index, option index or the text ``"contest"``), as scheme A
    hashes it; the TLV type of the second item keeps selection and contest proofs apart.
    """
    digest = hash32(
        "paillier/range",
        statement.election_hash,
        statement.binding,
        statement.contest_index,
        statement.position,
        lo,
        hi,
        key.n,
        key.residue(ciphertext),
        [key.residue(a) for a in commitments],
    )
    return int.from_bytes(digest, "big")


def _hedged_unit(n: int, witness: Value, statement: Value, branch: int) -> int:
    while True:
        value = hedged_below(n, witness, statement, branch)
        if value and math.gcd(value, n) == 1:
            return value


def prove_range(
    ciphertext: PaillierCiphertext,
    value: int,
    nonce: int,
    lo: int,
    hi: int,
    key: PaillierPublicKey,
    statement: RangeStatement,
) -> PaillierRangeProof:
    """Prove that ``ciphertext = encrypt(value, nonce, key)`` with ``lo ≤ value ≤ hi`` (§4.4).

    Costs, per branch, one full ``x^n`` exponentiation mod ``n²`` plus, for simulated
    branches, one κ-bit one; and one κ-bit exponentiation mod ``n`` for the real branch. A
    ciphertext that is not the encryption of ``value`` with ``nonce`` gives a proof that does
    not verify.
    """
    _check_bounds(lo, hi, key)
    if not _is_int(value) or not lo <= value <= hi:
        raise InvalidInput(f"cannot prove {value} ∈ [{lo}, {hi}]: the value is outside the range")
    if not key.is_ciphertext(ciphertext.value):
        raise InvalidInput("the ciphertext is not an element of Z*_(n²)")
    if not _is_unit(nonce, key.n, key.n):
        raise InvalidInput("the encryption nonce ρ is not an element of Z*_n")
    n, n_squared = key.n, key.n_squared
    modulus = 1 << KAPPA
    hedge: list[Value] = [
        statement.election_hash,
        statement.binding,
        statement.contest_index,
        statement.position,
        lo,
        hi,
        n,
        key.residue(ciphertext.value),
    ]
    commitments: list[int] = []
    challenges: list[int] = []
    responses: list[int] = []
    omega = 0
    for branch, j in enumerate(range(lo, hi + 1)):
        if j == value:
            omega = _hedged_unit(n, nonce, hedge, 3 * branch)
            commitments.append(_powmod(omega, n, n_squared))
            challenges.append(0)  # filled in once the total challenge is known
            responses.append(0)
        else:
            e_j = hedged_below(modulus, nonce, hedge, 3 * branch + 1)
            z_j = _hedged_unit(n, nonce, hedge, 3 * branch + 2)
            u_j = _shifted(ciphertext.value, j, key)
            commitments.append(
                _powmod(z_j, n, n_squared) * _powmod(u_j, -e_j, n_squared) % n_squared
            )
            challenges.append(e_j)
            responses.append(z_j)
    total = _range_challenge(statement, lo, hi, key, ciphertext.value, commitments)
    real = value - lo
    challenges[real] = (total - sum(challenges)) % modulus
    responses[real] = omega * _powmod(nonce, challenges[real], n) % n
    return PaillierRangeProof(tuple(commitments), tuple(challenges), tuple(responses))


def verify_range(
    ciphertext: PaillierCiphertext,
    proof: PaillierRangeProof,
    lo: int,
    hi: int,
    key: PaillierPublicKey,
    statement: RangeStatement,
) -> None:
    """Check the proof; raise :class:`ProofError` naming the failing field (§4.4).

    Every range condition is checked before any exponentiation: ``c`` and each ``A_j`` in
    ``Z*_{n²}``, each ``z_j`` in ``Z*_n``, each ``0 ≤ e_j < 2^κ``, one of each per branch. Then
    the challenge sum (a hash: cheap), then ``z_j^n ≡ A_j·u_j^{e_j} (mod n²)`` for every ``j``.
    """
    _check_bounds(lo, hi, key)
    branches = hi - lo + 1
    counts = (len(proof.commitments), len(proof.challenges), len(proof.responses))
    if counts != (branches, branches, branches):
        raise ProofError(
            _RANGE,
            "branch_count",
            f"expected {branches} branches for [{lo}, {hi}], got {counts[0]} commitments, "
            f"{counts[1]} challenges and {counts[2]} responses",
        )
    if not key.is_ciphertext(ciphertext.value):
        raise ProofError(_RANGE, "ciphertext", "not an element of Z*_(n²)")
    n, n_squared = key.n, key.n_squared
    modulus = 1 << KAPPA
    for i in range(branches):
        if not key.is_ciphertext(proof.commitments[i]):
            raise ProofError(_RANGE, f"commitment[{i}]", "not an element of Z*_(n²)")
        if not _is_int(proof.challenges[i]) or not 0 <= proof.challenges[i] < modulus:
            raise ProofError(_RANGE, f"challenge[{i}]", f"not an integer in [0, 2^{KAPPA})")
        if not _is_unit(proof.responses[i], n, n):
            raise ProofError(_RANGE, f"response[{i}]", "not an element of Z*_n")
    expected = _range_challenge(statement, lo, hi, key, ciphertext.value, proof.commitments)
    if sum(proof.challenges) % modulus != expected:
        raise ProofError(_RANGE, "challenge", "the challenges do not sum to the statement's hash")
    for i, j in enumerate(range(lo, hi + 1)):
        u_j = _shifted(ciphertext.value, j, key)
        left = _powmod(proof.responses[i], n, n_squared)
        right = proof.commitments[i] * _powmod(u_j, proof.challenges[i], n_squared) % n_squared
        if left != right:
            raise ProofError(_RANGE, f"branch[{i}]", f"z^n ≢ A·u^e (mod n²) for the value {j}")


# --- decryption shares (§4.5) --------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PaillierDecryptionShare:
    """Guardian ``guardian``'s share ``c_i = c^{2Δs_i}`` with its proof ``(a, b, z)``."""

    guardian: int
    share: int
    commitment_a: int
    commitment_b: int
    response: int

    def to_value(self, key: PaillierPublicKey) -> Value:
        """``[i, c_i, a, b, z]``: residues fixed-width, ``z`` a TLV integer."""
        return [
            self.guardian,
            key.residue(self.share),
            key.residue(self.commitment_a),
            key.residue(self.commitment_b),
            self.response,
        ]

    @classmethod
    def from_value(cls, value: Decoded, key: PaillierPublicKey) -> PaillierDecryptionShare:
        """Parse a share: a guardian of the key, ``c_i, a, b ∈ Z*_{n²}``, ``z`` bounded (§4.5).

        ``z`` is length-checked before anything else touches it (§6: giant integers).
        """
        fields = expect_list(value, 5, what="paillier decryption share")
        guardian = expect_int(fields[0], what="decryption share.guardian")
        if not 1 <= guardian <= key.guardians:
            raise DecodeError(
                f"decryption share.guardian: guardians are numbered 1 to {key.guardians}"
            )
        numbers = []
        for item, name in zip(fields[1:4], ("share", "commitment_a", "commitment_b"), strict=True):
            number = int.from_bytes(
                expect_bytes(item, key.residue_bytes, what=f"decryption share.{name}"), "big"
            )
            if not key.is_ciphertext(number):
                raise DecodeError(f"decryption share.{name}: not an element of Z*_(n²)")
            numbers.append(number)
        response = expect_int(fields[4], what="decryption share.response")
        if response.bit_length() > key.response_bits:
            raise DecodeError(f"decryption share.response: more than {key.response_bits} bits")
        return cls(guardian, numbers[0], numbers[1], numbers[2], response)


def _share_challenge(
    target: DecryptionTarget,
    guardian: int,
    key: PaillierPublicKey,
    ciphertext: int,
    share: int,
    commitment_a: int,
    commitment_b: int,
) -> int:
    """``Hint("paillier/decrypt-share", H_E, target_id, i, n, v, v_i, c, c_i, a, b)`` (§5.4)."""
    digest = hash32(
        "paillier/decrypt-share",
        target.election_hash,
        target.target_id,
        guardian,
        key.n,
        key.residue(key.v),
        key.residue(key.verification_key(guardian)),
        key.residue(ciphertext),
        key.residue(share),
        key.residue(commitment_a),
        key.residue(commitment_b),
    )
    return int.from_bytes(digest, "big")


def partial_decrypt(
    ciphertext: PaillierCiphertext,
    key_share: PaillierKeyShare,
    key: PaillierPublicKey,
    target: DecryptionTarget,
) -> PaillierDecryptionShare:
    """``c_i = c^{2Δs_i}`` and its proof (§4.5), every secret exponent through ``powmod_sec``.

    The share is not checked against ``v_i`` here (a full exponentiation): guardians run
    :func:`check_key_share` once, when they receive it.
    """
    if not key.is_ciphertext(ciphertext.value):
        raise InvalidInput("the ciphertext is not an element of Z*_(n²)")
    guardian = key_share.guardian
    key.verification_key(guardian)  # the guardian is one of the key's
    n_squared = key.n_squared
    exponent = key.delta * key_share.secret
    share = _powmod_secret(ciphertext.value, 2 * exponent, n_squared)
    base = _powmod(ciphertext.value, 4, n_squared)
    hedge: list[Value] = [
        target.election_hash,
        target.target_id,
        guardian,
        key.residue(ciphertext.value),
    ]
    nonce = hedged_below(1 << (key.response_bits - 1), key_share.secret, hedge, 0)
    commitment_a = _powmod_secret(base, nonce, n_squared)
    commitment_b = _powmod_secret(key.v, nonce, n_squared)
    challenge = _share_challenge(
        target, guardian, key, ciphertext.value, share, commitment_a, commitment_b
    )
    return PaillierDecryptionShare(
        guardian, share, commitment_a, commitment_b, nonce + challenge * exponent
    )


def verify_partial(
    ciphertext: PaillierCiphertext,
    share: PaillierDecryptionShare,
    key: PaillierPublicKey,
    target: DecryptionTarget,
) -> None:
    """Raise :class:`ProofError` unless ``share`` is guardian ``i``'s ``c^{2Δs_i}`` (§4.5).

    Ranges first (``c, c_i, a, b ∈ Z*_{n²}``, ``0 ≤ z < 2^response_bits``), so that no
    oversized ``z`` reaches an exponentiation; then ``(c⁴)^z ≡ a·(c_i²)^e`` and
    ``v^z ≡ b·v_i^e (mod n²)`` with the recomputed challenge ``e``.
    """
    guardian = share.guardian
    if not _is_int(guardian) or not 1 <= guardian <= key.guardians:
        raise ProofError(_SHARE, "guardian", f"guardians are numbered 1 to {key.guardians}")
    if not key.is_ciphertext(ciphertext.value):
        raise ProofError(_SHARE, "ciphertext", "not an element of Z*_(n²)")
    for name, number in (
        ("share", share.share),
        ("commitment_a", share.commitment_a),
        ("commitment_b", share.commitment_b),
    ):
        if not key.is_ciphertext(number):
            raise ProofError(_SHARE, name, "not an element of Z*_(n²)")
    if not _is_int(share.response) or not 0 <= share.response < 1 << key.response_bits:
        raise ProofError(_SHARE, "response", f"not an integer in [0, 2^{key.response_bits})")
    n_squared = key.n_squared
    challenge = _share_challenge(
        target,
        guardian,
        key,
        ciphertext.value,
        share.share,
        share.commitment_a,
        share.commitment_b,
    )
    base = _powmod(ciphertext.value, 4, n_squared)
    squared_share = share.share * share.share % n_squared
    if _powmod(base, share.response, n_squared) != (
        share.commitment_a * _powmod(squared_share, challenge, n_squared) % n_squared
    ):
        raise ProofError(
            _SHARE, "share_equation", f"guardian {guardian}'s share does not match its proof"
        )
    if _powmod(key.v, share.response, n_squared) != (
        share.commitment_b
        * _powmod(key.verification_key(guardian), challenge, n_squared)
        % n_squared
    ):
        raise ProofError(
            _SHARE,
            "key_equation",
            f"guardian {guardian}'s proof does not match its verification key",
        )


def _lagrange_times_delta(index: int, indices: Sequence[int], delta: int) -> int:
    """``λ_i = Δ·Π_{j∈S∖{i}} j/(j − i)``, an exact integer for indices in ``1..N`` (Shoup)."""
    numerator, denominator = delta, 1
    for other in indices:
        if other != index:
            numerator *= other
            denominator *= other - index
    quotient, remainder = divmod(numerator, denominator)
    if remainder:
        raise InvalidInput(f"guardian indices {list(indices)} are not all within 1..N")
    return quotient


def combine(
    ciphertext: PaillierCiphertext,
    shares: Mapping[int, PaillierDecryptionShare],
    key: PaillierPublicKey,
    bound: int,
) -> int:
    """The plaintext from at least ``t`` verified shares (§4.5), or :class:`TallyOutOfRange`.

    A total outside ``[0, bound]``, or shares that do not combine to a Paillier plaintext at
    all (a wrong share), is an integrity alarm: never clamped.
    """
    if not _is_int(bound) or not 0 <= bound < key.n:
        raise InvalidInput(f"a tally bound must lie in [0, n), got {bound}")
    if not key.is_ciphertext(ciphertext.value):
        raise InvalidInput("the ciphertext is not an element of Z*_(n²)")
    for index, share in shares.items():
        if share.guardian != index:
            raise InvalidInput(f"share filed under guardian {index} is guardian {share.guardian}'s")
        key.verification_key(index)
        if not key.is_ciphertext(share.share):
            raise InvalidInput(f"guardian {index}'s share is not an element of Z*_(n²)")
    if len(shares) < key.quorum:
        raise InvalidInput(
            f"decryption needs shares from at least {key.quorum} guardians, got {len(shares)}"
        )
    n, n_squared, delta = key.n, key.n_squared, key.delta
    indices = sorted(shares)
    combined = 1
    for index in indices:
        weight = _lagrange_times_delta(index, indices, delta)
        combined = combined * _powmod(shares[index].share, 2 * weight, n_squared) % n_squared
    if (combined - 1) % n:
        raise TallyOutOfRange(
            "the decryption shares do not combine to a Paillier plaintext: a share is wrong"
        )
    total = (combined - 1) // n * pow(4 * delta * delta, -1, n) % n
    if total > bound:
        raise TallyOutOfRange(
            f"the decrypted total is not in [0, {bound}]: the tally or its shares are wrong"
        )
    return total


# --- the scheme interface ------------------------------------------------------------------------


class ThresholdPaillier:
    """Scheme B behind :class:`~evote.crypto.scheme.HomomorphicScheme`, bound to one public key.

    Unlike scheme A, the parameter set is the dealer's key itself: ``H_P`` binds ``n`` and
    ``v``, so one instance serves one election and refuses any other key it is handed.
    ``verify_partial`` takes the whole published key as the "verification key": it carries
    every ``v_i``, and the share names its guardian.
    """

    name: Final = "threshold-paillier"

    def __init__(self, public_key: PaillierPublicKey) -> None:
        self._key = public_key
        self._params_hash = hash32(
            "params",
            "paillier",
            public_key.n,
            public_key.residue(public_key.v),
            KAPPA,
            "sha512-tlv",
            PROTOCOL_VERSION,
        )

    @property
    def public_key(self) -> PaillierPublicKey:
        return self._key

    @property
    def params_hash(self) -> bytes:
        """``H32("params", "paillier", n, v, κ, "sha512-tlv", protocol version)``."""
        return self._params_hash

    def _same_key(self, key: PaillierPublicKey) -> None:
        if key != self._key:
            raise InvalidInput(
                "this scheme B instance is bound to another public key (its H_P differs)"
            )

    def random_nonce(self) -> int:
        return random_unit(self._key.n)

    def encrypt(self, value: int, nonce: int, key: PaillierPublicKey) -> PaillierCiphertext:
        self._same_key(key)
        return encrypt(value, nonce, key)

    def add(self, a: PaillierCiphertext, b: PaillierCiphertext) -> PaillierCiphertext:
        return add(a, b, self._key)

    def prove_range(
        self,
        ciphertext: PaillierCiphertext,
        value: int,
        nonce: int,
        lo: int,
        hi: int,
        key: PaillierPublicKey,
        statement: RangeStatement,
    ) -> PaillierRangeProof:
        self._same_key(key)
        return prove_range(ciphertext, value, nonce, lo, hi, key, statement)

    def verify_range(
        self,
        ciphertext: PaillierCiphertext,
        proof: PaillierRangeProof,
        lo: int,
        hi: int,
        key: PaillierPublicKey,
        statement: RangeStatement,
    ) -> None:
        self._same_key(key)
        verify_range(ciphertext, proof, lo, hi, key, statement)

    def partial_decrypt(
        self,
        ciphertext: PaillierCiphertext,
        key_share: PaillierKeyShare,
        guardian: int,
        target: DecryptionTarget,
    ) -> PaillierDecryptionShare:
        if key_share.guardian != guardian:
            raise InvalidInput(
                f"the key share is guardian {key_share.guardian}'s, not {guardian}'s"
            )
        return partial_decrypt(ciphertext, key_share, self._key, target)

    def verify_partial(
        self,
        ciphertext: PaillierCiphertext,
        share: PaillierDecryptionShare,
        verification_key: PaillierPublicKey,
        target: DecryptionTarget,
    ) -> None:
        self._same_key(verification_key)
        verify_partial(ciphertext, share, verification_key, target)

    def combine(
        self,
        ciphertext: PaillierCiphertext,
        shares: Mapping[int, PaillierDecryptionShare],
        quorum: int,
        bound: int,
    ) -> int:
        if quorum < self._key.quorum:
            raise InvalidInput(
                f"the key was dealt for a quorum of {self._key.quorum}, not {quorum}"
            )
        if len(shares) < quorum:
            raise InvalidInput(
                f"decryption needs shares from at least {quorum} guardians, got {len(shares)}"
            )
        return combine(ciphertext, shares, self._key, bound)


def _is_a_scheme(
    scheme: ThresholdPaillier,
) -> HomomorphicScheme[
    PaillierCiphertext,
    int,
    PaillierPublicKey,
    PaillierKeyShare,
    PaillierRangeProof,
    PaillierDecryptionShare,
]:
    """A static check that scheme B implements the interface: mypy rejects this otherwise."""
    return scheme


#: The modulus size a manifest's scheme B family names; the dealer's key has exactly this size.
FAMILY_MODULUS_BITS: Final = PRODUCTION_MODULUS_BITS


def family_hash(modulus_bits: int = FAMILY_MODULUS_BITS) -> bytes:
    """What a manifest names for scheme B: ``H32("paillier/family", "threshold-paillier", bits,
    κ, "sha512-tlv", protocol version)``.

    The officials sign the manifest before the dealer runs, so it cannot carry the key-dependent
    ``H_P`` of :class:`ThresholdPaillier`: it names the family (sizes, hash, version) instead,
    and the election's ``H_E`` binds the key the dealer then publishes.
    """
    if not _is_int(modulus_bits) or not (
        PRODUCTION_MODULUS_BITS <= modulus_bits <= MAX_MODULUS_BITS
    ):
        raise InvalidInput(
            f"a scheme B family has a modulus of {PRODUCTION_MODULUS_BITS} to {MAX_MODULUS_BITS} "
            f"bits, got {modulus_bits}"
        )
    return hash32(
        "paillier/family",
        "threshold-paillier",
        modulus_bits,
        KAPPA,
        "sha512-tlv",
        PROTOCOL_VERSION,
    )


#: The one scheme B family a manifest may name today: 2048-bit ``n``, κ = 256.
FAMILY_HASH: Final = family_hash()


def paillier_scheme_for(params_hash: bytes, public_key: PaillierPublicKey) -> ThresholdPaillier:
    """Scheme B for a published key, if ``params_hash`` names exactly that key.

    Scheme A's ``H_P`` is a constant, so :func:`evote.crypto.scheme.scheme_for` looks it up in
    a fixed table. Scheme B's binds the dealer's ``n`` and ``v``, which exist only once the
    dealer has run: a verifier rebuilds the scheme from the published key and compares. Toy
    moduli (below :data:`PRODUCTION_MODULUS_BITS` bits) are refused here.
    """
    if public_key.n.bit_length() < PRODUCTION_MODULUS_BITS:
        raise VerificationError(
            f"a {public_key.n.bit_length()}-bit Paillier modulus is a test key: this verifier "
            f"accepts only moduli of at least {PRODUCTION_MODULUS_BITS} bits"
        )
    scheme = ThresholdPaillier(public_key)
    if scheme.params_hash != params_hash:
        raise VerificationError(
            f"unknown parameter set {params_hash.hex()}: it is not the published Paillier key's "
            f"({scheme.params_hash.hex()})"
        )
    return scheme
