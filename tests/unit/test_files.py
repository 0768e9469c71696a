"""Files are written all or nothing (keys private from the start), and a new file never
replaces another (a guardian's outbox)."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from evote.files import FileWriteError, write_atomically, write_new


def leftovers(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir() if p.name.endswith(".partial"))


def test_a_new_file_is_private_and_never_replaces_another(tmp_path: Path) -> None:
    target = tmp_path / "g1.key"
    write_new(target, b"first", 0o600)
    assert target.read_bytes() == b"first"
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    with pytest.raises(FileWriteError, match="exists; it was left as it is"):
        write_new(target, b"second")
    assert target.read_bytes() == b"first"
    assert leftovers(tmp_path) == []


def test_without_hard_links_a_new_file_is_still_never_replaced(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_links(source: object, target: object) -> None:
        raise PermissionError(1, "Operation not permitted")  # FAT on a USB stick

    monkeypatch.setattr(os, "link", no_links)
    target = tmp_path / "ceremony-commit-g1.entry"
    write_new(target, b"entry")
    assert target.read_bytes() == b"entry"
    with pytest.raises(FileWriteError, match="exists"):
        write_new(target, b"other")
    assert target.read_bytes() == b"entry"
    assert leftovers(tmp_path) == []


def test_replacing_is_all_or_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "g1.key"
    write_new(target, b"old state")
    write_atomically(target, b"new state")
    assert target.read_bytes() == b"new state"

    def broken(source: object, target: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", broken)
    with pytest.raises(FileWriteError, match="No space left on device"):
        write_atomically(target, b"newer state")
    assert target.read_bytes() == b"new state"
    assert leftovers(tmp_path) == []


def test_a_write_that_fails_leaves_nothing(tmp_path: Path) -> None:
    missing = tmp_path / "no such directory" / "g1.key"
    with pytest.raises(FileWriteError, match="cannot write"):
        write_new(missing, b"data")
    assert not missing.exists()
