"""Known-answer tests for evote.board.merkle against published RFC 6962 / RFC 9162 vectors.

The vectors live in ``tests/vectors/merkle/`` (provenance in its README): the standard 8-leaf
test tree from transparency-dev/merkle and google/certificate-transparency with roots for every
size, audit paths, consistency proofs, upstream negative probes, proof shapes as node addresses,
and one audit path from a production CT log.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import TypedDict, cast

import pytest

from evote.board.merkle import (
    EMPTY_ROOT,
    MerkleTree,
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    node_hash,
    root_from_inclusion_proof,
    verify_consistency,
    verify_inclusion,
)
from evote.errors import ConsistencyError, InclusionProofError, InvalidInput

VECTOR_DIR = Path(__file__).resolve().parents[2] / "vectors" / "merkle"


# --- the JSON schema ------------------------------------------------------------------------


class LeafVector(TypedDict):
    entry: str
    hash: str


class NodeVector(TypedDict):
    left: str
    right: str
    hash: str


class Hasher(TypedDict):
    empty_root: str
    leaf: list[LeafVector]
    node: list[NodeVector]


class Tree(TypedDict):
    leaf_inputs: list[str]
    roots_by_size: list[str]


class FullTree(Tree):
    node_hashes_by_level: list[list[str]]


class InclusionCase(TypedDict):
    index: int
    size: int
    path: list[str]


class ConsistencyCase(TypedDict):
    old_size: int
    new_size: int
    proof: list[str]


class InclusionCases(TypedDict):
    cases: list[InclusionCase]


class ConsistencyCases(TypedDict):
    cases: list[ConsistencyCase]


class InclusionProbe(TypedDict):
    index: int
    size: int
    leaf_hash: str
    path: list[str]
    root: str


class ConsistencyProbe(TypedDict):
    old_size: int
    new_size: int
    old_root: str
    new_root: str
    proof: list[str]


class UpstreamInclusionProbe(InclusionProbe):
    source: str
    commit: str
    valid: bool


class UpstreamConsistencyProbe(ConsistencyProbe):
    source: str
    commit: str
    valid: bool


class NamedInclusionProbe(InclusionProbe):
    name: str


class NamedConsistencyProbe(ConsistencyProbe):
    name: str


class InclusionShape(TypedDict):
    size: int
    index: int
    nodes: list[list[int]]
    rehash: list[int] | None


class ConsistencyShape(TypedDict):
    old_size: int
    new_size: int
    nodes: list[list[int]]
    rehash: list[int] | None


class InclusionShapeError(TypedDict):
    size: int
    index: int


class ConsistencyShapeError(TypedDict):
    old_size: int
    new_size: int


class ProofShapes(TypedDict):
    inclusion: list[InclusionShape]
    inclusion_errors: list[InclusionShapeError]
    consistency: list[ConsistencyShape]
    consistency_errors: list[ConsistencyShapeError]


class TransparencyDevVectors(TypedDict):
    hasher: Hasher
    tree: FullTree
    inclusion_proofs: InclusionCases
    consistency_proofs: ConsistencyCases
    inclusion_probes: list[UpstreamInclusionProbe]
    consistency_probes: list[UpstreamConsistencyProbe]
    proof_shapes: ProofShapes


class CtVectors(TypedDict):
    hasher: Hasher
    tree: Tree
    consistency_proofs: list[ConsistencyProbe]
    consistency_probes: list[NamedConsistencyProbe]
    log_inclusion: InclusionProbe
    inclusion_probes: list[NamedInclusionProbe]


@cache
def _load(name: str) -> object:
    return json.loads((VECTOR_DIR / name).read_text(encoding="utf-8"))


TD = cast(TransparencyDevVectors, _load("rfc6962_transparency_dev.json"))
CT = cast(CtVectors, _load("certificate_transparency_python.json"))
HASHERS = {"transparency-dev": TD["hasher"], "certificate-transparency": CT["hasher"]}
TREES: dict[str, Tree] = {"transparency-dev": TD["tree"], "certificate-transparency": CT["tree"]}


def _h(value: str) -> bytes:
    return bytes.fromhex(value)


def _hs(values: list[str]) -> list[bytes]:
    return [bytes.fromhex(v) for v in values]


def _tree(vectors: Tree) -> MerkleTree:
    return MerkleTree([leaf_hash(_h(entry)) for entry in vectors["leaf_inputs"]])


def _probe_id(probe: UpstreamInclusionProbe | UpstreamConsistencyProbe) -> str:
    return probe["source"].removeprefix("testdata/")


STANDARD_TREE = _tree(TD["tree"])
ROOTS = _hs(TD["tree"]["roots_by_size"])


def test_vector_files_are_the_ones_described() -> None:
    """Guard against an empty or truncated transcription silently passing every test."""
    assert len(TD["tree"]["leaf_inputs"]) == 8
    assert len(TD["tree"]["roots_by_size"]) == 9
    assert [len(level) for level in TD["tree"]["node_hashes_by_level"]] == [8, 4, 2, 1]
    assert len(TD["inclusion_proofs"]["cases"]) == 5
    assert len(TD["consistency_proofs"]["cases"]) == 5
    assert len(TD["inclusion_probes"]) == 22
    assert len(TD["consistency_probes"]) == 25
    assert len(TD["proof_shapes"]["inclusion"]) == 18
    assert len(TD["proof_shapes"]["consistency"]) == 25
    assert len(CT["log_inclusion"]["path"]) == 22
    # The two independent publications of the 8-leaf test tree agree.
    assert CT["tree"]["leaf_inputs"] == TD["tree"]["leaf_inputs"]
    assert CT["tree"]["roots_by_size"] == TD["tree"]["roots_by_size"]


# --- hashing --------------------------------------------------------------------------------


@pytest.mark.parametrize("source", sorted(HASHERS))
def test_hasher_vectors(source: str) -> None:
    hasher = HASHERS[source]
    assert _h(hasher["empty_root"]) == EMPTY_ROOT
    assert MerkleTree().root() == EMPTY_ROOT
    for leaf in hasher["leaf"]:
        assert leaf_hash(_h(leaf["entry"])).hex() == leaf["hash"]
    for node in hasher["node"]:
        assert node_hash(_h(node["left"]), _h(node["right"])).hex() == node["hash"]


def test_empty_leaf_hash_differs_from_empty_tree_root() -> None:
    assert _h(TD["hasher"]["leaf"][0]["hash"]) != EMPTY_ROOT
    assert leaf_hash(b"") != EMPTY_ROOT


# --- the 8-leaf test tree -------------------------------------------------------------------


def test_every_complete_subtree_hash() -> None:
    for level, hashes in enumerate(TD["tree"]["node_hashes_by_level"]):
        for position, expected in enumerate(hashes):
            width = 1 << level
            assert STANDARD_TREE.subtree(position * width, width).hex() == expected, (
                level,
                position,
            )


@pytest.mark.parametrize("source", sorted(TREES))
def test_roots_for_every_size(source: str) -> None:
    vectors = TREES[source]
    tree = _tree(vectors)
    expected = _hs(vectors["roots_by_size"])
    assert [tree.root(size) for size in range(9)] == expected
    # The same roots when the tree grows one leaf at a time.
    growing = MerkleTree()
    assert growing.root() == expected[0]
    for size, entry in enumerate(vectors["leaf_inputs"], start=1):
        assert growing.append(leaf_hash(_h(entry))) == size - 1
        assert growing.root() == expected[size]


@pytest.mark.parametrize(
    "case", TD["inclusion_proofs"]["cases"], ids=lambda c: f"leaf{c['index']}-of-{c['size']}"
)
def test_inclusion_proofs(case: InclusionCase) -> None:
    index, size, expected = case["index"], case["size"], _hs(case["path"])
    assert STANDARD_TREE.inclusion_proof(index, size) == expected
    assert inclusion_proof(index, size, STANDARD_TREE.subtree) == expected
    leaf = STANDARD_TREE.leaf(index)
    assert root_from_inclusion_proof(index, size, leaf, expected) == ROOTS[size]
    verify_inclusion(index, size, leaf, expected, ROOTS[size])


@pytest.mark.parametrize(
    "case",
    TD["consistency_proofs"]["cases"],
    ids=lambda c: f"{c['old_size']}-to-{c['new_size']}",
)
def test_consistency_proofs(case: ConsistencyCase) -> None:
    old, new, expected = case["old_size"], case["new_size"], _hs(case["proof"])
    assert STANDARD_TREE.consistency_proof(old, new) == expected
    assert consistency_proof(old, new, STANDARD_TREE.subtree) == expected
    verify_consistency(old, new, ROOTS[old], ROOTS[new], expected)


@pytest.mark.parametrize(
    "case", CT["consistency_proofs"], ids=lambda c: f"{c['old_size']}-to-{c['new_size']}"
)
def test_ct_consistency_proofs(case: ConsistencyProbe) -> None:
    old, new, expected = case["old_size"], case["new_size"], _hs(case["proof"])
    assert STANDARD_TREE.consistency_proof(old, new) == expected
    assert (_h(case["old_root"]), _h(case["new_root"])) == (ROOTS[old], ROOTS[new])
    verify_consistency(old, new, _h(case["old_root"]), _h(case["new_root"]), expected)


# --- upstream probes: each happy path verifies, each corruption fails -------------------------


@pytest.mark.parametrize("probe", TD["inclusion_probes"], ids=_probe_id)
def test_upstream_inclusion_probe(probe: UpstreamInclusionProbe) -> None:
    args = (probe["index"], probe["size"], _h(probe["leaf_hash"]), _hs(probe["path"]))
    if probe["valid"]:
        verify_inclusion(*args, _h(probe["root"]))
        assert root_from_inclusion_proof(*args) == _h(probe["root"])
        # A happy path is also what we generate for that leaf of the standard tree.
        assert STANDARD_TREE.inclusion_proof(probe["index"], probe["size"]) == args[3]
    else:
        with pytest.raises(InclusionProofError):
            verify_inclusion(*args, _h(probe["root"]))


@pytest.mark.parametrize("probe", TD["consistency_probes"], ids=_probe_id)
def test_upstream_consistency_probe(probe: UpstreamConsistencyProbe) -> None:
    old, new = probe["old_size"], probe["new_size"]
    args = (old, new, _h(probe["old_root"]), _h(probe["new_root"]), _hs(probe["proof"]))
    if probe["valid"]:
        verify_consistency(*args)
        assert STANDARD_TREE.consistency_proof(old, new) == args[4]
    else:
        with pytest.raises(ConsistencyError):
            verify_consistency(*args)


@pytest.mark.parametrize("probe", CT["consistency_probes"], ids=lambda p: p["name"])
def test_ct_consistency_probe_fails(probe: NamedConsistencyProbe) -> None:
    with pytest.raises(ConsistencyError):
        verify_consistency(
            probe["old_size"],
            probe["new_size"],
            _h(probe["old_root"]),
            _h(probe["new_root"]),
            _hs(probe["proof"]),
        )


# --- a real CT log audit path ---------------------------------------------------------------


def test_ct_log_inclusion_proof() -> None:
    vector = CT["log_inclusion"]
    args = (vector["index"], vector["size"], _h(vector["leaf_hash"]), _hs(vector["path"]))
    assert root_from_inclusion_proof(*args).hex() == vector["root"]
    verify_inclusion(*args, _h(vector["root"]))


@pytest.mark.parametrize("probe", CT["inclusion_probes"], ids=lambda p: p["name"])
def test_ct_inclusion_probe_fails(probe: NamedInclusionProbe) -> None:
    with pytest.raises(InclusionProofError):
        verify_inclusion(
            probe["index"],
            probe["size"],
            _h(probe["leaf_hash"]),
            _hs(probe["path"]),
            _h(probe["root"]),
        )


# --- proof shapes as node addresses ---------------------------------------------------------

# Big enough for every shape vector (the largest size is 95); leaves are arbitrary.
SHAPE_TREE = MerkleTree([leaf_hash(i.to_bytes(2, "big")) for i in range(128)])


def _from_shape(tree: MerkleTree, nodes: list[list[int]], rehash: list[int] | None) -> list[bytes]:
    hashes = [tree.subtree(index << level, 1 << level) for level, index in nodes]
    if rehash is None:
        return hashes
    begin, end = rehash
    folded = hashes[begin]
    for sibling in hashes[begin + 1 : end]:
        folded = node_hash(sibling, folded)
    return [*hashes[:begin], folded, *hashes[end:]]


@pytest.mark.parametrize(
    "shape", TD["proof_shapes"]["inclusion"], ids=lambda s: f"leaf{s['index']}-of-{s['size']}"
)
def test_inclusion_proof_shape(shape: InclusionShape) -> None:
    index, size = shape["index"], shape["size"]
    expected = _from_shape(SHAPE_TREE, shape["nodes"], shape["rehash"])
    assert SHAPE_TREE.inclusion_proof(index, size) == expected
    verify_inclusion(index, size, SHAPE_TREE.leaf(index), expected, SHAPE_TREE.root(size))
    if size <= 8:  # inside the standard tree: the same proof in published hashes
        standard = _from_shape(STANDARD_TREE, shape["nodes"], shape["rehash"])
        assert STANDARD_TREE.inclusion_proof(index, size) == standard


@pytest.mark.parametrize(
    "shape",
    TD["proof_shapes"]["consistency"],
    ids=lambda s: f"{s['old_size']}-to-{s['new_size']}",
)
def test_consistency_proof_shape(shape: ConsistencyShape) -> None:
    old, new = shape["old_size"], shape["new_size"]
    expected = _from_shape(SHAPE_TREE, shape["nodes"], shape["rehash"])
    assert SHAPE_TREE.consistency_proof(old, new) == expected
    verify_consistency(old, new, SHAPE_TREE.root(old), SHAPE_TREE.root(new), expected)
    if new <= 8:
        standard = _from_shape(STANDARD_TREE, shape["nodes"], shape["rehash"])
        assert STANDARD_TREE.consistency_proof(old, new) == standard


@pytest.mark.parametrize(
    "case",
    TD["proof_shapes"]["inclusion_errors"],
    ids=lambda c: f"leaf{c['index']}-of-{c['size']}",
)
def test_inclusion_proof_refused(case: InclusionShapeError) -> None:
    with pytest.raises(InvalidInput):
        inclusion_proof(case["index"], case["size"], SHAPE_TREE.subtree)


@pytest.mark.parametrize(
    "case",
    TD["proof_shapes"]["consistency_errors"],
    ids=lambda c: f"{c['old_size']}-to-{c['new_size']}",
)
def test_consistency_proof_refused(case: ConsistencyShapeError) -> None:
    with pytest.raises(InvalidInput):
        consistency_proof(case["old_size"], case["new_size"], SHAPE_TREE.subtree)
