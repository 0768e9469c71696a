"""Baby-step giant-step decoding of small tallies (crypto spec §3.9.4)."""

from __future__ import annotations

import pytest

from evote.crypto import dlog
from evote.crypto.dlog import MAX_BOUND, MAX_TABLE_BITS, MIN_TABLE_BITS, discrete_log, table_bits
from evote.crypto.group import IDENTITY, L, Scalar, base_mul, small_multiple
from evote.crypto.rng import random_scalar
from evote.errors import InvalidInput, TallyOutOfRange


def test_identity_decodes_to_zero() -> None:
    # A selection tally of 0: T = I.
    assert discrete_log(IDENTITY, 0) == 0
    assert discrete_log(IDENTITY, 10**6) == 0


@pytest.mark.parametrize("bound", [0, 1, 63, 64, 65, 1000, 4095, 4096, 10**4, 10**6])
def test_decodes_values_around_the_table_size(bound: int) -> None:
    size = 1 << table_bits(bound)
    candidates = {0, 1, size - 1, size, size + 1, 2 * size - 1, 2 * size, bound - 1, bound}
    for value in sorted(v for v in candidates if 0 <= v <= bound):
        assert discrete_log(base_mul(Scalar(value)), bound) == value


def test_decodes_the_bound_itself_and_rejects_one_more() -> None:
    for bound in [0, 5, 64, 1023, 1024, 9999]:
        assert discrete_log(base_mul(Scalar(bound)), bound) == bound
        with pytest.raises(TallyOutOfRange):
            discrete_log(base_mul(Scalar(bound + 1)), bound)


def test_value_above_the_bound_in_the_last_giant_step_is_rejected() -> None:
    # bound 100 → table of 64 entries, 2 giant steps: 101..127 is found in the table but is
    # above the bound, so it must raise rather than return.
    assert table_bits(100) == MIN_TABLE_BITS
    for value in [101, 120, 127]:
        with pytest.raises(TallyOutOfRange, match=r"\[0, 100\]"):
            discrete_log(small_multiple(value), 100)


def test_value_far_above_the_bound_is_rejected() -> None:
    with pytest.raises(TallyOutOfRange):
        discrete_log(small_multiple(5000), 100)


def test_negative_tally_is_rejected_not_clamped() -> None:
    with pytest.raises(TallyOutOfRange):
        discrete_log(-small_multiple(1), 10**4)
    with pytest.raises(TallyOutOfRange):
        discrete_log(base_mul(Scalar(L - 1)), 10**4)


def test_random_point_is_rejected() -> None:
    with pytest.raises(TallyOutOfRange):
        discrete_log(base_mul(random_scalar()), 10**4)


@pytest.mark.parametrize(
    ("bound", "bits"),
    [(0, 6), (1, 6), (10**4, 7), (10**6, 10), (2**30, 16), (MAX_BOUND, 16)],
)
def test_table_bits(bound: int, bits: int) -> None:
    assert table_bits(bound) == bits


def test_table_covers_the_bound() -> None:
    for bound in [0, 1, 100, 4096, 10**4, 10**6, 2**28, 2**31, MAX_BOUND]:
        bits = table_bits(bound)
        assert MIN_TABLE_BITS <= bits <= MAX_TABLE_BITS
        if bits < MAX_TABLE_BITS:
            assert (1 << bits) ** 2 > bound


@pytest.mark.parametrize("bound", [-1, MAX_BOUND + 1, 2**40])
def test_bound_outside_domain_is_invalid_input(bound: int) -> None:
    with pytest.raises(InvalidInput):
        table_bits(bound)
    with pytest.raises(InvalidInput):
        discrete_log(IDENTITY, bound)


def test_baby_step_table_contents() -> None:
    table = dlog._baby_steps(MIN_TABLE_BITS)
    assert len(table) == 1 << MIN_TABLE_BITS
    for j in [0, 1, 2, 63]:
        assert table[small_multiple(j).encode()] == j
