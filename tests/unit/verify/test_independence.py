"""The verifier never calls prover code: no name it references starts with ``prove_`` or
``encrypt`` (the import contract in pyproject.toml forbids the prover modules themselves)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import evote.verify

VERIFY = Path(evote.verify.__file__).parent
FORBIDDEN = ("prove_", "encrypt")


def referenced_names(tree: ast.AST) -> list[str]:
    names = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            names.append(node.id)
        elif isinstance(node, ast.Attribute):
            names.append(node.attr)
        elif isinstance(node, ast.alias):
            names.extend([node.name.rsplit(".", 1)[-1], *([node.asname] if node.asname else [])])
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.extend(node.module.split("."))
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.append(node.name)
    return names


def forbidden(source: str) -> list[str]:
    return [n for n in referenced_names(ast.parse(source)) if n.startswith(FORBIDDEN)]


def test_the_verifier_package_has_modules_to_check() -> None:
    modules = {path.name for path in VERIFY.glob("*.py")}
    assert {"load.py", "checks.py", "runner.py", "report.py"} <= modules


@pytest.mark.parametrize("path", sorted(VERIFY.glob("*.py")), ids=lambda p: p.name)
def test_no_prover_name_is_referenced(path: Path) -> None:
    assert forbidden(path.read_text(encoding="utf-8")) == []


@pytest.mark.parametrize(
    "source",
    [
        "from evote.crypto.proofs.schnorr import prove_coefficient",
        "from evote.election import encrypt",
        "import evote.election.encrypt as e",
        "x = schnorr.prove_coefficient(a, b, c, d)",
        "encrypt_ballot(p, c, k, 0)",
        "from evote.crypto.elgamal import encrypt as plain",
    ],
)
def test_the_walk_catches_prover_references(source: str) -> None:
    assert forbidden(source) != []
