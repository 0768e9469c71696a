"""Hypothesis cross-checks of evote.board.merkle against the recursive RFC 9162 definitions.

Design doc board-services-storage.md §5 item 1 (reference-vs-optimised, CT/Trillian style): the
incremental ``MerkleTree`` and the iterative proof generators and verifiers are compared with
``Reference`` below, written straight from RFC 9162 §2.1.1 (MTH), §2.1.3.1 (PATH) and §2.1.4.1
(PROOF / SUBPROOF). It uses only hashlib and nothing from evote. Every pair (index, size) and
(old, new) is checked exhaustively for a small tree and for random trees of up to 64 leaves.
One-byte mutations of the leaf, the roots and every proof node must each fail with the specific
error. Truncating and re-appending must give back the same roots.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from evote.board.merkle import (
    EMPTY_ROOT,
    MerkleTree,
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    root_from_inclusion_proof,
    verify_consistency,
    verify_inclusion,
)
from evote.errors import ConsistencyError, InclusionProofError, InvalidInput

MAX_LEAVES = 64
EXHAUSTIVE_LEAVES = 32
MUTATION_LEAVES = 8

# --- the reference: RFC 9162 §2.1, recursive, over the entries D[0:n] -----------------------


def _sha256(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def _largest_power_of_two_below(n: int) -> int:
    """k in RFC 9162: the largest power of two smaller than n (for n > 1)."""
    k = 1
    while k * 2 < n:
        k *= 2
    return k


class Reference:
    """MTH, PATH and PROOF of RFC 9162 §2.1 for the list of entries ``D``.

    ``D[lo:hi]`` is passed as the pair ``lo, hi`` instead of a list slice. MTH values are
    memoised by that pair, so checking every proof of a 64-leaf tree stays cheap.
    """

    def __init__(self, entries: Sequence[bytes]) -> None:
        self.entries = tuple(entries)
        self._mth: dict[tuple[int, int], bytes] = {}

    def mth(self, lo: int, hi: int) -> bytes:
        """MTH(D[lo:hi]) (§2.1.1)."""
        cached = self._mth.get((lo, hi))
        if cached is not None:
            return cached
        n = hi - lo
        if n == 0:
            value = _sha256(b"")
        elif n == 1:
            value = _sha256(b"\x00" + self.entries[lo])
        else:
            k = _largest_power_of_two_below(n)
            value = _sha256(b"\x01" + self.mth(lo, lo + k) + self.mth(lo + k, hi))
        self._mth[lo, hi] = value
        return value

    def subtree(self, start: int, size: int) -> bytes:
        """The accessor shape that ``inclusion_proof`` / ``consistency_proof`` take."""
        return self.mth(start, start + size)

    def path(self, m: int, n: int) -> list[bytes]:
        """PATH(m, D[0:n]) (§2.1.3.1)."""
        return self._path(m, 0, n)

    def _path(self, m: int, lo: int, hi: int) -> list[bytes]:
        n = hi - lo
        if n == 1:
            return []
        k = _largest_power_of_two_below(n)
        if m < k:
            return [*self._path(m, lo, lo + k), self.mth(lo + k, hi)]
        return [*self._path(m - k, lo + k, hi), self.mth(lo, lo + k)]

    def proof(self, m: int, n: int) -> list[bytes]:
        """PROOF(m, D[0:n]) = SUBPROOF(m, D[0:n], true) (§2.1.4.1).

        The RFC defines it for 0 < m ≤ n. For m = 0 the empty tree is a prefix of every tree,
        so there is nothing to prove.
        """
        if m == 0:
            return []
        return self._subproof(m, 0, n, True)

    def _subproof(self, m: int, lo: int, hi: int, b: bool) -> list[bytes]:
        n = hi - lo
        if m == n:
            return [] if b else [self.mth(lo, hi)]
        k = _largest_power_of_two_below(n)
        if m <= k:
            return [*self._subproof(m, lo, lo + k, b), self.mth(lo + k, hi)]
        return [*self._subproof(m - k, lo + k, hi, False), self.mth(lo, lo + k)]


def _tree(entries: Sequence[bytes]) -> MerkleTree:
    return MerkleTree([leaf_hash(entry) for entry in entries])


def _flip(value: bytes, position: int, mask: int) -> bytes:
    out = bytearray(value)
    out[position] ^= mask
    return bytes(out)


def _entries(n: int) -> list[bytes]:
    return [b"entry %d" % i for i in range(n)]


# Draw the size first so that large trees are as likely as small ones (plain st.lists
# favours short lists).
entry_lists = st.integers(min_value=1, max_value=MAX_LEAVES).flatmap(
    lambda n: st.lists(st.binary(max_size=6), min_size=n, max_size=n)
)
byte_positions = st.integers(min_value=0, max_value=31)
masks = st.integers(min_value=1, max_value=255)


# --- the reference itself -------------------------------------------------------------------


def test_reference_reproduces_the_published_test_tree() -> None:
    """Anchor the reference to the RFC 6962 test tree, so it cannot share a bug with evote."""
    path = Path(__file__).resolve().parents[1] / "vectors/merkle/rfc6962_transparency_dev.json"
    tree = json.loads(path.read_text(encoding="utf-8"))["tree"]
    entries = [bytes.fromhex(e) for e in tree["leaf_inputs"]]
    reference = Reference(entries)
    roots = [reference.mth(0, n).hex() for n in range(len(entries) + 1)]
    assert roots == tree["roots_by_size"]
    assert len(roots) == 9


def test_reference_imports_nothing_from_evote() -> None:
    # Reference and helpers above the first strategy use only hashlib.
    source = Path(__file__).read_text(encoding="utf-8")
    reference_source = source[source.index("class Reference") : source.index("def _tree(")]
    assert "evote" not in reference_source
    assert "leaf_hash" not in reference_source
    assert "node_hash" not in reference_source


# --- exhaustive over a small tree -----------------------------------------------------------


def test_every_root_and_proof_of_a_small_tree_matches_the_reference() -> None:
    entries = _entries(EXHAUSTIVE_LEAVES)
    reference, tree = Reference(entries), _tree(entries)
    for size in range(EXHAUSTIVE_LEAVES + 1):
        root = reference.mth(0, size)
        assert tree.root(size) == root, size
        for index in range(size):
            path = reference.path(index, size)
            assert tree.inclusion_proof(index, size) == path, (index, size)
            verify_inclusion(index, size, tree.leaf(index), path, root)
        for old in range(size + 1):
            proof = reference.proof(old, size)
            assert tree.consistency_proof(old, size) == proof, (old, size)
            verify_consistency(old, size, reference.mth(0, old), root, proof)


def _inclusion_mutations(
    leaf: bytes, path: list[bytes], root: bytes, position: int, mask: int
) -> Iterator[tuple[str, bytes, list[bytes], bytes]]:
    yield "leaf", _flip(leaf, position, mask), path, root
    yield "root", leaf, path, _flip(root, position, mask)
    for i, node in enumerate(path):
        mutated = list(path)
        mutated[i] = _flip(node, position, mask)
        yield f"path[{i}]", leaf, mutated, root


def _consistency_mutations(
    old: int, old_root: bytes, new_root: bytes, proof: list[bytes], position: int, mask: int
) -> Iterator[tuple[str, bytes, bytes, list[bytes]]]:
    yield "old_root", _flip(old_root, position, mask), new_root, proof
    if old > 0:
        # From the empty tree nothing links the two roots: the new root is vouched for only
        # by its own checkpoint signature (see test_consistency_from_empty_tree).
        yield "new_root", old_root, _flip(new_root, position, mask), proof
    for i, node in enumerate(proof):
        mutated = list(proof)
        mutated[i] = _flip(node, position, mask)
        yield f"proof[{i}]", old_root, new_root, mutated


def _inclusion_error(
    index: int, size: int, leaf: bytes, path: list[bytes], root: bytes
) -> str | None:
    """The InclusionProofError message, or None if the proof verifies (other errors escape)."""
    try:
        verify_inclusion(index, size, leaf, path, root)
    except InclusionProofError as error:
        return str(error)
    return None


def _consistency_error(
    old: int, new: int, old_root: bytes, new_root: bytes, proof: list[bytes]
) -> str | None:
    """The ConsistencyError message, or None if the proof verifies (other errors escape)."""
    try:
        verify_consistency(old, new, old_root, new_root, proof)
    except ConsistencyError as error:
        return str(error)
    return None


def _assert_inclusion_mutations_fail(
    index: int, size: int, tree: MerkleTree, position: int, mask: int
) -> int:
    leaf, path, root = tree.leaf(index), tree.inclusion_proof(index, size), tree.root(size)
    count = 0
    for what, m_leaf, m_path, m_root in _inclusion_mutations(leaf, path, root, position, mask):
        message = _inclusion_error(index, size, m_leaf, m_path, m_root)
        assert message is not None, f"leaf {index} of {size} verified with a mutated {what}"
        # A one-byte change keeps every length: the failure must be the root mismatch.
        assert "is not in the tree" in message, what
        count += 1
    return count


def _assert_consistency_mutations_fail(
    old: int, new: int, tree: MerkleTree, position: int, mask: int
) -> int:
    old_root, new_root = tree.root(old), tree.root(new)
    proof = tree.consistency_proof(old, new)
    count = 0
    for what, m_old, m_new, m_proof in _consistency_mutations(
        old, old_root, new_root, proof, position, mask
    ):
        message = _consistency_error(old, new, m_old, m_new, m_proof)
        assert message is not None, f"{old} -> {new} verified with a mutated {what}"
        # A one-byte change keeps every length: the failure must be a hash mismatch.
        assert "32-byte" not in message, what
        count += 1
    return count


def test_every_one_byte_mutation_of_a_small_tree_fails() -> None:
    tree = _tree(_entries(MUTATION_LEAVES))
    checked = 0
    for position in range(32):
        for size in range(1, MUTATION_LEAVES + 1):
            for index in range(size):
                checked += _assert_inclusion_mutations_fail(index, size, tree, position, 0x01)
        for new in range(MUTATION_LEAVES + 1):
            for old in range(new + 1):
                checked += _assert_consistency_mutations_fail(old, new, tree, position, 0x80)
    assert checked > 5000


# --- random trees ---------------------------------------------------------------------------


@given(entry_lists)
def test_roots_match_the_reference(entries: list[bytes]) -> None:
    reference = Reference(entries)
    tree = _tree(entries)
    assert [tree.root(n) for n in range(len(entries) + 1)] == [
        reference.mth(0, n) for n in range(len(entries) + 1)
    ]
    growing = MerkleTree()
    assert growing.root() == EMPTY_ROOT
    for n, entry in enumerate(entries, start=1):
        growing.append(leaf_hash(entry))
        assert growing.size == n
        assert growing.root() == reference.mth(0, n)


@given(entry_lists)
def test_every_inclusion_proof_matches_the_reference_and_verifies(entries: list[bytes]) -> None:
    reference, tree = Reference(entries), _tree(entries)
    for size in range(1, len(entries) + 1):
        root = reference.mth(0, size)
        for index in range(size):
            path = reference.path(index, size)
            assert tree.inclusion_proof(index, size) == path, (index, size)
            assert inclusion_proof(index, size, reference.subtree) == path, (index, size)
            leaf = _sha256(b"\x00" + entries[index])
            assert root_from_inclusion_proof(index, size, leaf, path) == root
            verify_inclusion(index, size, leaf, path, root)


@given(entry_lists)
def test_every_consistency_proof_matches_the_reference_and_verifies(
    entries: list[bytes],
) -> None:
    reference, tree = Reference(entries), _tree(entries)
    for new in range(len(entries) + 1):
        new_root = reference.mth(0, new)
        for old in range(new + 1):
            proof = reference.proof(old, new)
            assert tree.consistency_proof(old, new) == proof, (old, new)
            assert consistency_proof(old, new, reference.subtree) == proof, (old, new)
            verify_consistency(old, new, reference.mth(0, old), new_root, proof)


@given(entry_lists, st.data(), byte_positions, masks)
def test_one_byte_mutations_fail_inclusion(
    entries: list[bytes], data: st.DataObject, position: int, mask: int
) -> None:
    tree = _tree(entries)
    size = data.draw(st.integers(min_value=1, max_value=len(entries)), label="size")
    index = data.draw(st.integers(min_value=0, max_value=size - 1), label="index")
    assert _assert_inclusion_mutations_fail(index, size, tree, position, mask) >= 2


@given(entry_lists, st.data(), byte_positions, masks)
def test_one_byte_mutations_fail_consistency(
    entries: list[bytes], data: st.DataObject, position: int, mask: int
) -> None:
    tree = _tree(entries)
    new = data.draw(st.integers(min_value=0, max_value=len(entries)), label="new")
    old = data.draw(st.integers(min_value=0, max_value=new), label="old")
    assert _assert_consistency_mutations_fail(old, new, tree, position, mask) >= 1


# --- truncate (undo of an uncommitted append) -----------------------------------------------


@given(entry_lists, st.data())
def test_truncate_then_reappend_gives_the_same_roots(
    entries: list[bytes], data: st.DataObject
) -> None:
    n = len(entries)
    cut = data.draw(st.integers(min_value=0, max_value=n), label="cut")
    tree = _tree(entries)
    before = [tree.root(size) for size in range(n + 1)]

    tree.truncate(cut)
    assert tree.size == cut
    assert [tree.root(size) for size in range(cut + 1)] == before[: cut + 1]
    if cut < n:
        with pytest.raises(InvalidInput):
            tree.root(cut + 1)

    for entry in entries[cut:]:
        tree.append(leaf_hash(entry))
    assert [tree.root(size) for size in range(n + 1)] == before
    reference = Reference(entries)
    for index in range(n):
        assert tree.inclusion_proof(index) == reference.path(index, n)
    for old in range(n + 1):
        assert tree.consistency_proof(old) == reference.proof(old, n)


@given(entry_lists, st.data())
def test_truncate_then_append_other_leaves_is_a_fork(
    entries: list[bytes], data: st.DataObject
) -> None:
    """The new history extends the truncated prefix but is inconsistent with the old history."""
    n = len(entries)
    cut = data.draw(st.integers(min_value=0, max_value=n - 1), label="cut")
    replacement = data.draw(
        st.lists(st.binary(max_size=6), min_size=n - cut, max_size=MAX_LEAVES), label="new"
    )
    # Ensure the first replaced leaf really differs.
    replacement[0] = entries[cut] + b"\xff"
    forked_entries = entries[:cut] + replacement
    m = len(forked_entries)
    original, forked = _tree(entries), _tree(entries)
    forked.truncate(cut)
    for entry in replacement:
        forked.append(leaf_hash(entry))

    reference = Reference(forked_entries)
    assert [forked.root(size) for size in range(m + 1)] == [
        reference.mth(0, size) for size in range(m + 1)
    ]
    # The kept prefix is still consistent with the new history...
    verify_consistency(cut, m, original.root(cut), forked.root(), forked.consistency_proof(cut))
    # ...but any old checkpoint that covered a replaced leaf is not.
    for old in range(cut + 1, n + 1):
        with pytest.raises(ConsistencyError):
            verify_consistency(
                old, m, original.root(old), forked.root(), forked.consistency_proof(old)
            )
