"""Reading a small tally off ``T = tally·B`` by baby-step giant-step (crypto spec §3.9.4).

The table ``{j·B: j}`` for ``j < m`` is built once per process and per size, and shared by
every option of every contest. Its size follows the bound: ``m`` is the smallest power of two
with ``m² > bound``, between 2^6 and 2^16 (2^16 entries take about 9 MiB). A tally outside
``[0, bound]`` raises :class:`TallyOutOfRange`: it is never clamped.

A verifier never needs this: it checks ``tally·B = T`` with one multiplication.
"""

from __future__ import annotations

import functools
from typing import Final

from evote.crypto.group import IDENTITY, Point, Scalar, base_mul, small_multiple
from evote.errors import InvalidInput, TallyOutOfRange

MIN_TABLE_BITS: Final = 6
MAX_TABLE_BITS: Final = 16
#: The largest bound a maximal table can search: 2^16 giant steps of 2^16.
MAX_BOUND: Final = (1 << (2 * MAX_TABLE_BITS)) - 1


@functools.lru_cache(maxsize=4)
def _baby_steps(bits: int) -> dict[bytes, int]:
    table: dict[bytes, int] = {}
    point = IDENTITY
    step = small_multiple(1)
    for j in range(1 << bits):
        table[point.encode()] = j
        point = point + step
    return table


def table_bits(bound: int) -> int:
    """The table size (in bits) used for tallies up to ``bound``."""
    if not 0 <= bound <= MAX_BOUND:
        raise InvalidInput(f"a tally bound must lie in [0, {MAX_BOUND}], got {bound}")
    # The smallest m = 2^bits with m² > bound, so that at most m giant steps are needed.
    wanted = (bound.bit_length() + 1) // 2
    return min(MAX_TABLE_BITS, max(MIN_TABLE_BITS, wanted))


def discrete_log(target: Point, bound: int) -> int:
    """The ``x ∈ [0, bound]`` with ``x·B = target``, or :class:`TallyOutOfRange`."""
    bits = table_bits(bound)
    table = _baby_steps(bits)
    giant = -base_mul(Scalar(1 << bits))
    point = target
    for giant_step in range(bound // (1 << bits) + 1):
        baby = table.get(point.encode())
        if baby is not None:
            value = (giant_step << bits) + baby
            if value <= bound:
                return value
            break
        point = point + giant
    raise TallyOutOfRange(
        f"the decrypted total is not in [0, {bound}]: the tally or its shares are wrong"
    )
