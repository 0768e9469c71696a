"""Negative fixtures and edge cases for evote.board.merkle (RFC 9162 §2.1).

Each test is named after what it breaks. Verifiers must fail with the specific error
(``InclusionProofError`` or ``ConsistencyError``), and proof generators must refuse arguments
outside their domain with ``InvalidInput``. Design doc board-services-storage.md §1.5 and §5.
"""

from __future__ import annotations

import hashlib

import pytest

from evote.board.merkle import (
    EMPTY_ROOT,
    HASH_BYTES,
    MerkleTree,
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    node_hash,
    root_from_inclusion_proof,
    verify_consistency,
    verify_inclusion,
)
from evote.errors import ConsistencyError, InclusionProofError, InvalidInput, VerificationError

ENTRIES = [b"ballot %d" % i for i in range(16)]


def _tree(n: int, entries: list[bytes] = ENTRIES) -> MerkleTree:
    return MerkleTree([leaf_hash(entry) for entry in entries[:n]])


TREE = _tree(16)
L = [TREE.leaf(i) for i in range(16)]
ZERO = bytes(HASH_BYTES)


def _root(n: int) -> bytes:
    return TREE.root(n)


def _proof(index: int, size: int) -> list[bytes]:
    return TREE.inclusion_proof(index, size)


def _consistency(old: int, new: int) -> list[bytes]:
    return TREE.consistency_proof(old, new)


# --- hashing --------------------------------------------------------------------------------


def test_empty_tree_root_is_sha256_of_nothing() -> None:
    assert hashlib.sha256(b"").digest() == EMPTY_ROOT
    assert MerkleTree().root() == EMPTY_ROOT
    assert TREE.root(0) == EMPTY_ROOT


def test_leaf_and_node_hashes_are_domain_separated() -> None:
    # Without the 0x00 / 0x01 prefixes an interior node could pass as a leaf: RFC 9162 §2.1.1.
    assert leaf_hash(L[0] + L[1]) != node_hash(L[0], L[1])
    assert leaf_hash(b"x") == hashlib.sha256(b"\x00x").digest()
    assert node_hash(L[0], L[1]) == hashlib.sha256(b"\x01" + L[0] + L[1]).digest()


def test_node_hash_depends_on_order() -> None:
    assert node_hash(L[0], L[1]) != node_hash(L[1], L[0])


def test_single_leaf_tree_root_is_the_leaf_hash() -> None:
    assert _root(1) == L[0]
    assert _proof(0, 1) == []
    verify_inclusion(0, 1, L[0], [], L[0])


# --- inclusion: index and size ------------------------------------------------------------


@pytest.mark.parametrize(("index", "size"), [(3, 3), (4, 3), (16, 16), (2**64 - 1, 8)])
def test_inclusion_rejects_index_past_size(index: int, size: int) -> None:
    with pytest.raises(InclusionProofError, match="outside a tree"):
        verify_inclusion(index, size, L[0], _proof(0, size), _root(size))
    with pytest.raises(InvalidInput):
        TREE.inclusion_proof(index, size)


def test_inclusion_rejects_negative_index() -> None:
    with pytest.raises(InclusionProofError, match="outside a tree"):
        verify_inclusion(-1, 4, L[3], _proof(3, 4), _root(4))
    with pytest.raises(InvalidInput):
        inclusion_proof(-1, 4, TREE.subtree)


def test_inclusion_rejects_empty_tree() -> None:
    with pytest.raises(InclusionProofError, match="outside a tree of size 0"):
        verify_inclusion(0, 0, L[0], [], EMPTY_ROOT)
    with pytest.raises(InvalidInput):
        MerkleTree().inclusion_proof(0)


def test_inclusion_rejects_wrong_index_with_right_path() -> None:
    # Leaf 5's path, claimed for its neighbours: every other index places it elsewhere.
    for claimed in (4, 6, 7, 1):
        with pytest.raises(InclusionProofError, match="is not in the tree"):
            verify_inclusion(claimed, 8, L[5], _proof(5, 8), _root(8))


def test_inclusion_rejects_wrong_size_of_different_depth() -> None:
    # Half and double size: the path length no longer fits (upstream "treeSize div/* 2").
    with pytest.raises(InclusionProofError, match="longer"):
        verify_inclusion(0, 4, L[0], _proof(0, 8), _root(8))
    with pytest.raises(InclusionProofError, match="shorter"):
        verify_inclusion(0, 16, L[0], _proof(0, 8), _root(8))


# --- inclusion: the path ------------------------------------------------------------------


def test_inclusion_rejects_path_too_long() -> None:
    for extra in (ZERO, _root(8), L[1]):
        with pytest.raises(InclusionProofError, match="longer than a tree of size 8"):
            verify_inclusion(2, 8, L[2], [*_proof(2, 8), extra], _root(8))
    with pytest.raises(InclusionProofError, match="longer than a tree of size 8"):
        verify_inclusion(2, 8, L[2], [_root(8), *_proof(2, 8)], _root(8))


def test_inclusion_rejects_any_path_in_a_single_leaf_tree() -> None:
    with pytest.raises(InclusionProofError, match="longer than a tree of size 1"):
        verify_inclusion(0, 1, L[0], [L[1]], node_hash(L[0], L[1]))


def test_inclusion_rejects_path_too_short() -> None:
    path = _proof(9, 13)
    for shorter in (path[:-1], path[1:], []):
        with pytest.raises(InclusionProofError, match="shorter than a tree of size 13"):
            verify_inclusion(9, 13, L[9], shorter, _root(13))


def test_inclusion_rejects_reordered_path() -> None:
    path = _proof(6, 11)
    assert len(path) >= 2
    with pytest.raises(InclusionProofError, match="is not in the tree"):
        verify_inclusion(6, 11, L[6], path[::-1], _root(11))


def test_inclusion_rejects_inserted_component() -> None:
    path = _proof(0, 8)
    with pytest.raises(InclusionProofError, match="longer"):
        verify_inclusion(0, 8, L[0], [path[0], ZERO, *path[1:]], _root(8))


def test_inclusion_rejects_wrong_leaf() -> None:
    with pytest.raises(InclusionProofError, match="is not in the tree"):
        verify_inclusion(3, 8, L[4], _proof(3, 8), _root(8))


def test_inclusion_rejects_unhashed_entry_as_leaf() -> None:
    entry = hashlib.sha256(b"a 32-byte entry").digest()  # right length, but not a leaf hash
    tree = MerkleTree([leaf_hash(entry), L[1]])
    verify_inclusion(0, 2, leaf_hash(entry), tree.inclusion_proof(0), tree.root())
    with pytest.raises(InclusionProofError, match="is not in the tree"):
        verify_inclusion(0, 2, entry, tree.inclusion_proof(0), tree.root())


def test_inclusion_rejects_interior_node_as_leaf_at_the_checkpoint_size() -> None:
    # node_hash(L0, L1) with sibling H(L2, L3) does reach the size-4 root. At the true size 4
    # the path is too short, because index 0 of 4 needs two siblings.
    interior = node_hash(L[0], L[1])
    sibling = TREE.subtree(2, 2)
    with pytest.raises(InclusionProofError, match="shorter"):
        verify_inclusion(0, 4, interior, [sibling], _root(4))


def test_inclusion_rejects_wrong_root() -> None:
    for root in (_root(7), _root(9), EMPTY_ROOT, ZERO):
        with pytest.raises(InclusionProofError, match="is not in the tree"):
            verify_inclusion(3, 8, L[3], _proof(3, 8), root)


@pytest.mark.parametrize(
    ("index", "size", "siblings"),
    [
        (7, 8, 3),  # rightmost leaf of a full tree
        (4, 5, 1),  # lone rightmost leaf: its only sibling is the left subtree of 4
        (5, 6, 2),  # rightmost, odd index, unbalanced
        (4, 6, 2),  # rightmost pair, even index
        (12, 13, 2),  # lone leaf skips two levels
        (14, 15, 3),
    ],
)
def test_inclusion_rightmost_leaves_of_unbalanced_trees(
    index: int, size: int, siblings: int
) -> None:
    # The verifier's "fn == sn" branch and its skip loop only run for the rightmost leaves.
    path = _proof(index, size)
    assert len(path) == siblings
    assert root_from_inclusion_proof(index, size, L[index], path) == _root(size)
    verify_inclusion(index, size, L[index], path, _root(size))
    with pytest.raises(InclusionProofError):
        verify_inclusion(index - 1, size, L[index], path, _root(size))


# --- hash lengths -------------------------------------------------------------------------

BAD_LENGTHS = [0, 1, HASH_BYTES - 1, HASH_BYTES + 1, 64]


@pytest.mark.parametrize("length", BAD_LENGTHS)
@pytest.mark.parametrize("field", ["leaf", "root", "path[0]", "path[last]"])
def test_wrong_hash_length_rejected_in_inclusion(field: str, length: int) -> None:
    leaf, path, root = L[5], _proof(5, 8), _root(8)
    bad = b"\xab" * length
    if field == "leaf":
        leaf = bad
    elif field == "root":
        root = bad
    elif field == "path[0]":
        path = [bad, *path[1:]]
    else:
        path = [*path[:-1], bad]
    with pytest.raises(InclusionProofError, match=f"32-byte SHA-256 hash, got {length} bytes"):
        verify_inclusion(5, 8, leaf, path, root)


@pytest.mark.parametrize("length", BAD_LENGTHS)
@pytest.mark.parametrize("field", ["old_root", "new_root", "proof[0]", "proof[last]"])
def test_wrong_hash_length_rejected_in_consistency(field: str, length: int) -> None:
    old_root, new_root, proof = _root(5), _root(11), _consistency(5, 11)
    bad = b"\xab" * length
    if field == "old_root":
        old_root = bad
    elif field == "new_root":
        new_root = bad
    elif field == "proof[0]":
        proof = [bad, *proof[1:]]
    else:
        proof = [*proof[:-1], bad]
    with pytest.raises(ConsistencyError, match=f"32-byte SHA-256 hash, got {length} bytes"):
        verify_consistency(5, 11, old_root, new_root, proof)


def test_wrong_hash_length_rejected_even_for_trivial_proofs() -> None:
    # transparency-dev accepts (0, 0, r, r, []) and (1, 1, r, r, []) for any r; evote does not.
    short = b"don't care"
    for old, new in ((0, 0), (1, 1), (3, 3)):
        with pytest.raises(ConsistencyError, match="32-byte"):
            verify_consistency(old, new, short, short, [])
    with pytest.raises(InclusionProofError, match="32-byte"):
        verify_inclusion(0, 1, short, [], short)


# --- consistency --------------------------------------------------------------------------


def test_consistency_rejects_shrinking_log() -> None:
    with pytest.raises(ConsistencyError, match="cannot shrink from size 8 to size 5"):
        verify_consistency(8, 5, _root(8), _root(5), _consistency(5, 8))
    with pytest.raises(ConsistencyError, match="cannot shrink"):
        verify_consistency(1, 0, L[0], EMPTY_ROOT, [])
    with pytest.raises(InvalidInput):
        consistency_proof(8, 5, TREE.subtree)
    with pytest.raises(InvalidInput):
        TREE.consistency_proof(9, 8)


def test_consistency_rejects_negative_old_size() -> None:
    with pytest.raises(ConsistencyError, match="cannot shrink"):
        verify_consistency(-1, 4, EMPTY_ROOT, _root(4), [])
    with pytest.raises(InvalidInput):
        TREE.consistency_proof(-1, 4)


def test_consistency_rejects_fork_same_size_different_root() -> None:
    forked = _tree(8, [*ENTRIES[:7], b"a different ballot 7"])
    assert forked.root() != _root(8)
    with pytest.raises(ConsistencyError, match="two different roots for the same size 8: a fork"):
        verify_consistency(8, 8, _root(8), forked.root(), [])


def test_consistency_same_size_same_root_needs_no_proof() -> None:
    for size in (0, 1, 5, 16):
        assert _consistency(size, size) == []
        verify_consistency(size, size, _root(size), _root(size), [])


def test_consistency_same_size_rejects_non_empty_proof() -> None:
    # The CT Python verifier ignores a bogus proof here; evote refuses it.
    with pytest.raises(ConsistencyError, match="same size must be empty"):
        verify_consistency(3, 3, _root(3), _root(3), [L[0]])


def test_consistency_from_empty_tree() -> None:
    # The empty tree is a prefix of every tree: the proof is empty and only the old root is
    # checked. The new root is vouched for by its own signed checkpoint alone.
    for new in (0, 1, 2, 7, 16):
        assert _consistency(0, new) == []
        verify_consistency(0, new, EMPTY_ROOT, _root(new), [])
    verify_consistency(0, 5, EMPTY_ROOT, ZERO, [])  # nothing links an empty tree to any root
    with pytest.raises(ConsistencyError, match="from the empty tree must be empty"):
        verify_consistency(0, 8, EMPTY_ROOT, _root(8), _consistency(1, 8))
    with pytest.raises(ConsistencyError, match="root of the empty tree"):
        verify_consistency(0, 8, L[0], _root(8), [])


def test_consistency_rejects_empty_proof_between_different_sizes() -> None:
    with pytest.raises(ConsistencyError, match="empty proof cannot link size 1 to size 2"):
        verify_consistency(1, 2, _root(1), _root(2), [])


def test_consistency_rejects_proof_too_long() -> None:
    proof = _consistency(6, 13)
    for bad in ([*proof, ZERO], [proof[0], *proof], [_root(6), *proof]):
        with pytest.raises(ConsistencyError, match="longer than the two sizes allow"):
            verify_consistency(6, 13, _root(6), _root(13), bad)


def test_consistency_rejects_proof_too_short() -> None:
    proof = _consistency(6, 13)
    assert len(proof) >= 3
    for bad in (proof[:-1], proof[1:]):
        with pytest.raises(ConsistencyError, match="shorter than the two sizes need"):
            verify_consistency(6, 13, _root(6), _root(13), bad)


def test_consistency_rejects_swapped_roots() -> None:
    with pytest.raises(ConsistencyError, match="does not lead to the"):
        verify_consistency(6, 13, _root(13), _root(6), _consistency(6, 13))


def test_consistency_rejects_wrong_new_root() -> None:
    # Old root and proof are honest; only the new checkpoint's root is not the tree they lead to.
    for new_root in (_root(12), _root(14), ZERO):
        with pytest.raises(ConsistencyError, match="does not lead to the new root of size 13"):
            verify_consistency(6, 13, _root(6), new_root, _consistency(6, 13))


def test_consistency_rejects_wrong_old_size() -> None:
    proof = _consistency(3, 7)
    for old in (2, 4, 5):
        with pytest.raises(ConsistencyError):
            verify_consistency(old, 7, _root(3), _root(7), proof)


def test_consistency_rejects_rewritten_history() -> None:
    # The log replaced ballot 2 and later extended the tree. Auditors hold the old root, and
    # every consistency proof the log can produce leads away from it.
    rewritten = _tree(11, [*ENTRIES[:2], b"substituted ballot", *ENTRIES[3:11]])
    with pytest.raises(ConsistencyError, match="does not lead to the old root of size 5"):
        verify_consistency(5, 11, _root(5), rewritten.root(), rewritten.consistency_proof(5))


def test_consistency_rejects_removed_leaf() -> None:
    # An "evil board" that dropped ballot 4 and kept appending.
    dropped = _tree(12, [*ENTRIES[:4], *ENTRIES[5:13]])
    with pytest.raises(ConsistencyError, match="old root of size 6"):
        verify_consistency(6, 12, _root(6), dropped.root(), dropped.consistency_proof(6))
    # Its proof from size 4, before the removed leaf, is still fine: a prefix was kept.
    verify_consistency(4, 12, _root(4), dropped.root(), dropped.consistency_proof(4))


# --- MerkleTree bookkeeping -----------------------------------------------------------------


def test_append_returns_the_new_leaf_index() -> None:
    tree = MerkleTree()
    assert [tree.append(leaf) for leaf in L[:5]] == [0, 1, 2, 3, 4]
    assert tree.size == 5
    assert [tree.leaf(i) for i in range(5)] == L[:5]


def test_tree_defaults_to_its_current_size() -> None:
    tree = _tree(11)
    assert tree.root() == tree.root(11) == _root(11)
    assert tree.inclusion_proof(3) == tree.inclusion_proof(3, 11) == _proof(3, 11)
    assert tree.consistency_proof(4) == tree.consistency_proof(4, 11) == _consistency(4, 11)


def test_tree_rejects_sizes_it_does_not_have() -> None:
    tree = _tree(5)
    for call in (
        lambda: tree.root(6),
        lambda: tree.root(-1),
        lambda: tree.inclusion_proof(0, 6),
        lambda: tree.inclusion_proof(5),
        lambda: tree.consistency_proof(2, 6),
        lambda: tree.consistency_proof(6),
    ):
        with pytest.raises(InvalidInput):
            call()


def test_truncate_rejects_growth_and_negative_size() -> None:
    tree = _tree(5)
    with pytest.raises(InvalidInput, match="cannot truncate a tree of 5 leaves to 6"):
        tree.truncate(6)
    with pytest.raises(InvalidInput):
        tree.truncate(-1)
    assert tree.size == 5
    assert tree.root() == _root(5)


def test_truncate_to_zero_and_rebuild() -> None:
    tree = _tree(13)
    tree.truncate(0)
    assert tree.size == 0
    assert tree.root() == EMPTY_ROOT
    for leaf in L[:13]:
        tree.append(leaf)
    assert tree.root() == _root(13)
    assert tree.inclusion_proof(12) == _proof(12, 13)


def test_truncate_then_append_other_leaves_matches_a_fresh_tree() -> None:
    # Every level must be cut back, not only the leaves: stale interior nodes would otherwise
    # survive the undo and end up in roots and proofs.
    other = [b"replacement %d" % i for i in range(10)]
    tree = _tree(13)
    tree.truncate(3)
    for entry in other:
        tree.append(leaf_hash(entry))
    fresh = _tree(13, [*ENTRIES[:3], *other])
    assert [tree.root(n) for n in range(14)] == [fresh.root(n) for n in range(14)]
    assert [tree.inclusion_proof(i) for i in range(13)] == [
        fresh.inclusion_proof(i) for i in range(13)
    ]
    assert tree.root(3) == _root(3)
    assert tree.root(4) != _root(4)


def test_merkle_errors_are_verification_errors() -> None:
    # Callers that catch VerificationError (the verifier CLI) see both proof failures.
    assert issubclass(InclusionProofError, VerificationError)
    assert issubclass(ConsistencyError, VerificationError)


# --- §1.5: size and root must come together from one signed checkpoint ----------------------


def test_inclusion_proof_is_not_bound_to_the_tree_size() -> None:
    """Regression test for the size-binding property (design doc §1.5).

    The audit path for leaf 0 in the tree of 3 leaves is [L1, L2]. A verifier that is told
    "size 4" walks the same two steps, H(H(L0, L1), L2), because in a tree of 4 the second
    sibling is the 2-leaf subtree H(L2, L3), and from the path alone a 2-leaf subtree cannot
    be told apart from the single leaf L2. So (index 0, size 4) verifies against the size-3
    root. This is expected RFC 9162 behaviour, not a bug.

    Consequence: a proof says nothing about which tree size it is for. Verifiers must take
    the size and the root together, as the signed pair from one checkpoint. They must never
    take the size from the proof message, the caller or any other source. If a verifier
    accepted "size 4" from an untrusted source, the board could make a checkpoint for 3
    leaves pass as one that covers 4.
    """
    tree = _tree(4)
    path_3 = tree.inclusion_proof(0, 3)
    root_3 = tree.root(3)
    assert path_3 == [L[1], L[2]]

    verify_inclusion(0, 3, L[0], path_3, root_3)  # the honest claim
    verify_inclusion(0, 4, L[0], path_3, root_3)  # the same path and root under a wrong size
    assert root_from_inclusion_proof(0, 4, L[0], path_3) == root_3

    # With the signed pair (4, root_4) the size-3 path fails, and the real size-4 path differs.
    with pytest.raises(InclusionProofError, match="is not in the tree of size 4"):
        verify_inclusion(0, 4, L[0], path_3, tree.root(4))
    assert tree.inclusion_proof(0, 4) == [L[1], tree.subtree(2, 2)] != path_3
    verify_inclusion(0, 4, L[0], tree.inclusion_proof(0, 4), tree.root(4))
