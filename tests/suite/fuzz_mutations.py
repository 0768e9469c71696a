"""Hostile variations of valid inputs, shared by the suite's fuzz tests.

A fuzzer that only sends random bytes rarely gets past the first length check; the inputs
that find bugs look valid almost everywhere. These strategies start from real bytes (a cast
ballot, a signed manifest entry, a key file) and break them in the ways that matter: one bit
flipped, cut short, grown, spliced with another valid value, or replaced by junk.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TypeVar

from hypothesis import strategies as st


@st.composite
def flipped(draw: st.DrawFn, data: bytes) -> bytes:
    """``data`` with one bit flipped somewhere (``data`` itself if it is empty)."""
    if not data:
        return data
    position = draw(st.integers(0, len(data) - 1))
    bit = draw(st.integers(0, 7))
    return data[:position] + bytes([data[position] ^ (1 << bit)]) + data[position + 1 :]


@st.composite
def truncated(draw: st.DrawFn, data: bytes) -> bytes:
    """A strict prefix of ``data`` (empty for empty ``data``)."""
    return data[: draw(st.integers(0, max(0, len(data) - 1)))]


@st.composite
def spliced(draw: st.DrawFn, data: bytes) -> bytes:
    """``data`` with a run of random bytes written over, inserted into or appended to it."""
    position = draw(st.integers(0, len(data)))
    junk = draw(st.binary(min_size=1, max_size=32))
    how = draw(st.sampled_from(("overwrite", "insert", "append")))
    if how == "overwrite":
        return data[:position] + junk + data[position + len(junk) :]
    if how == "insert":
        return data[:position] + junk + data[position:]
    return data + junk


T = TypeVar("T")


def pick(values: Sequence[T]) -> st.SearchStrategy[T]:
    """One of ``values`` (by index: the strategy's repr stays short when they are large)."""
    chosen = list(values)

    def at(index: int) -> T:
        return chosen[index]

    return st.integers(0, len(chosen) - 1).map(at)


def mutations(valid: Sequence[bytes]) -> st.SearchStrategy[bytes]:
    """Every kind of damage to one of ``valid``, plus random and empty bytes."""
    base = pick(valid)
    return st.one_of(
        base.flatmap(flipped),
        base.flatmap(truncated),
        base.flatmap(spliced),
        st.binary(max_size=256),
        st.just(b""),
    )


_BYTES_REPR = re.compile(r"""b(['"]).{100,}?\1""")
_HEX_RUN = re.compile(r"[0-9a-fA-F]{200,}")


def unreadable(message: str) -> str | None:
    """Why ``message`` is not a clear message for a person (``None`` when it is).

    Refused: an empty message, a Python traceback, the repr of a bytes blob longer than
    about 100 characters or a long hex dump, control characters, or a wall of text.
    """
    if not message.strip():
        return "it is empty"
    if "Traceback (most recent call last)" in message or re.search(r'File "[^"]+", line', message):
        return "it holds a Python traceback"
    if _BYTES_REPR.search(message):
        return "it holds the repr of a long bytes blob"
    if _HEX_RUN.search(message):
        return "it holds a long hex dump"
    if any(ord(c) < 32 and c not in "\n\t" for c in message):
        return "it holds control characters"
    if len(message) > 2000:
        return f"it is {len(message)} characters long"
    return None
