"""RFC 9162 Merkle trees: hashing, inclusion and consistency proofs, pure functions.

* leaf hash ``SHA-256(0x00 ‖ entry)``, node hash ``SHA-256(0x01 ‖ left ‖ right)``, empty tree
  ``SHA-256("")`` (RFC 9162 §2.1.1);
* proofs are generated from any accessor of complete-subtree hashes (§2.1.3.1, §2.1.4.1) and
  verified from plain values (§2.1.3.2, §2.1.4.2).

A verifier must take the tree size and root together from one signed checkpoint: the same
path can verify under a wrong size (an inclusion proof for index 0 in a tree of 3 also
verifies as index 0 in a tree of 4 against the size-3 root), so a size from anywhere else
proves nothing.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from typing import Final

from evote.errors import ConsistencyError, InclusionProofError, InvalidInput

HASH_BYTES: Final = 32
EMPTY_ROOT: Final = hashlib.sha256(b"").digest()

#: ``subtree(start, size)``: the hash of the complete subtree of ``size`` leaves (a power of
#: two) that starts at leaf ``start`` (a multiple of ``size``).
SubtreeHash = Callable[[int, int], bytes]


def leaf_hash(entry: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + entry).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def _split(size: int) -> int:
    """The largest power of two strictly below ``size`` (for ``size`` ≥ 2)."""
    return 1 << ((size - 1).bit_length() - 1)


def range_hash(start: int, end: int, subtree: SubtreeHash) -> bytes:
    """MTH of the leaves ``[start, end)`` for a range the tree's recursion produces."""
    size = end - start
    if size == 0:
        return EMPTY_ROOT
    if size & (size - 1) == 0 and start % size == 0:
        return subtree(start, size)
    k = _split(size)
    return node_hash(range_hash(start, start + k, subtree), range_hash(start + k, end, subtree))


def inclusion_proof(index: int, size: int, subtree: SubtreeHash) -> list[bytes]:
    """The audit path of leaf ``index`` in the tree of the first ``size`` leaves (§2.1.3.1)."""
    if not 0 <= index < size:
        raise InvalidInput(f"leaf {index} is not in a tree of {size} leaves")
    path: list[bytes] = []
    start, end = 0, size
    while end - start > 1:
        k = _split(end - start)
        if index < start + k:
            path.append(range_hash(start + k, end, subtree))
            end = start + k
        else:
            path.append(range_hash(start, start + k, subtree))
            start += k
    path.reverse()
    return path


def consistency_proof(old_size: int, new_size: int, subtree: SubtreeHash) -> list[bytes]:
    """The proof that the first ``old_size`` leaves are a prefix of ``new_size`` (§2.1.4.1)."""
    if not 0 <= old_size <= new_size:
        raise InvalidInput(f"no consistency proof from size {old_size} to size {new_size}")
    if old_size in (0, new_size):
        return []
    proof: list[bytes] = []
    start, end, m, complete = 0, new_size, old_size, True
    while True:
        size = end - start
        if m == size:
            if not complete:
                proof.append(range_hash(start, end, subtree))
            break
        k = _split(size)
        if m <= k:
            proof.append(range_hash(start + k, end, subtree))
            end = start + k
        else:
            proof.append(range_hash(start, start + k, subtree))
            start, m, complete = start + k, m - k, False
    proof.reverse()
    return proof


def _check_hash(
    value: bytes, what: str, error: type[InclusionProofError | ConsistencyError]
) -> None:
    if len(value) != HASH_BYTES:
        raise error(f"{what} must be a {HASH_BYTES}-byte SHA-256 hash, got {len(value)} bytes")


def root_from_inclusion_proof(index: int, size: int, leaf: bytes, path: Sequence[bytes]) -> bytes:
    """Recompute the root that ``path`` proves ``leaf`` is under (§2.1.3.2), or raise."""
    if not 0 <= index < size:
        raise InclusionProofError(f"leaf index {index} is outside a tree of size {size}")
    _check_hash(leaf, "the leaf hash", InclusionProofError)
    fn, sn, result = index, size - 1, leaf
    for position, sibling in enumerate(path):
        _check_hash(sibling, f"path[{position}]", InclusionProofError)
        if sn == 0:
            raise InclusionProofError(f"the path is longer than a tree of size {size} allows")
        if fn & 1 or fn == sn:
            result = node_hash(sibling, result)
            if not fn & 1:
                while not fn & 1 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            result = node_hash(result, sibling)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise InclusionProofError(f"the path is shorter than a tree of size {size} needs")
    return result


def verify_inclusion(
    index: int, size: int, leaf: bytes, path: Sequence[bytes], root: bytes
) -> None:
    """Raise :class:`InclusionProofError` unless ``leaf`` is leaf ``index`` under ``root``.

    ``size`` and ``root`` must come together from one verified checkpoint.
    """
    _check_hash(root, "the root", InclusionProofError)
    if root_from_inclusion_proof(index, size, leaf, path) != root:
        raise InclusionProofError(f"leaf {index} is not in the tree of size {size} with this root")


def verify_consistency(
    old_size: int, new_size: int, old_root: bytes, new_root: bytes, proof: Sequence[bytes]
) -> None:
    """Raise :class:`ConsistencyError` unless tree ``old`` is a prefix of tree ``new`` (§2.1.4.2).

    Each (size, root) pair must come from one verified checkpoint.
    """
    _check_hash(old_root, "the old root", ConsistencyError)
    _check_hash(new_root, "the new root", ConsistencyError)
    for position, node in enumerate(proof):
        _check_hash(node, f"proof[{position}]", ConsistencyError)
    if not 0 <= old_size <= new_size:
        raise ConsistencyError(f"a log cannot shrink from size {old_size} to size {new_size}")
    if old_size == 0:
        if proof:
            raise ConsistencyError("the proof from the empty tree must be empty")
        if old_root != EMPTY_ROOT:
            raise ConsistencyError("the root of the empty tree is SHA-256 of nothing")
        if new_size == 0 and new_root != EMPTY_ROOT:
            raise ConsistencyError("the root of the empty tree is SHA-256 of nothing")
        return
    if old_size == new_size:
        if proof:
            raise ConsistencyError("the proof between two trees of the same size must be empty")
        if old_root != new_root:
            raise ConsistencyError(f"two different roots for the same size {new_size}: a fork")
        return
    if not proof:
        raise ConsistencyError(f"an empty proof cannot link size {old_size} to size {new_size}")
    path = list(proof)
    if old_size & (old_size - 1) == 0:
        path.insert(0, old_root)
    fn, sn = old_size - 1, new_size - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    old_result = new_result = path[0]
    for node in path[1:]:
        if sn == 0:
            raise ConsistencyError("the proof is longer than the two sizes allow")
        if fn & 1 or fn == sn:
            old_result = node_hash(node, old_result)
            new_result = node_hash(node, new_result)
            if not fn & 1:
                while not fn & 1 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            new_result = node_hash(new_result, node)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise ConsistencyError("the proof is shorter than the two sizes need")
    if old_result != old_root:
        raise ConsistencyError(f"the proof does not lead to the old root of size {old_size}")
    if new_result != new_root:
        raise ConsistencyError(f"the proof does not lead to the new root of size {new_size}")


class MerkleTree:
    """An append-only tree that keeps every complete-subtree hash, for O(log n) proofs.

    ``_levels[h][i]`` is the hash of the complete subtree of ``2^h`` leaves starting at leaf
    ``i·2^h``. Rebuilding from leaf hashes costs one node hash per leaf.
    """

    __slots__ = ("_levels",)

    def __init__(self, leaf_hashes: Sequence[bytes] = ()) -> None:
        self._levels: list[list[bytes]] = [[]]
        for leaf in leaf_hashes:
            self.append(leaf)

    @property
    def size(self) -> int:
        return len(self._levels[0])

    def append(self, leaf: bytes) -> int:
        """Add a leaf hash; returns its index."""
        index = len(self._levels[0])
        self._levels[0].append(leaf)
        height, position = 0, index
        while position & 1:
            left = self._levels[height][position - 1]
            right = self._levels[height][position]
            height += 1
            position >>= 1
            if height == len(self._levels):
                self._levels.append([])
            self._levels[height].append(node_hash(left, right))
        return index

    def truncate(self, size: int) -> None:
        """Drop every leaf from ``size`` on (to undo appends whose commit failed)."""
        if not 0 <= size <= self.size:
            raise InvalidInput(f"cannot truncate a tree of {self.size} leaves to {size}")
        for height, level in enumerate(self._levels):
            del level[size >> height :]

    def leaf(self, index: int) -> bytes:
        return self._levels[0][index]

    def subtree(self, start: int, size: int) -> bytes:
        height = size.bit_length() - 1
        return self._levels[height][start >> height]

    def root(self, size: int | None = None) -> bytes:
        """The root of the first ``size`` leaves (all of them by default)."""
        size = self.size if size is None else size
        if not 0 <= size <= self.size:
            raise InvalidInput(f"no root for size {size} in a tree of {self.size} leaves")
        return range_hash(0, size, self.subtree)

    def inclusion_proof(self, index: int, size: int | None = None) -> list[bytes]:
        size = self.size if size is None else size
        if size > self.size:
            raise InvalidInput(f"the tree has only {self.size} leaves, not {size}")
        return inclusion_proof(index, size, self.subtree)

    def consistency_proof(self, old_size: int, new_size: int | None = None) -> list[bytes]:
        new_size = self.size if new_size is None else new_size
        if new_size > self.size:
            raise InvalidInput(f"the tree has only {self.size} leaves, not {new_size}")
        return consistency_proof(old_size, new_size, self.subtree)
