"""Durable file writes: a reader (or a restart after a crash) sees the old file or the new one.

Everything evote keeps outside SQLite (keys, certificates, records, a witness's state, a
voter's receipts) goes through :func:`write_atomically`: the bytes go to a temporary file in the
same directory, are flushed to disk, and replace the target by one rename, whose directory entry
is flushed too. A file that holds a private key is created with its final mode from the start,
so it is never readable by others, not even for a moment.
"""

from __future__ import annotations

import os
from pathlib import Path


def write_atomically(path: Path, data: bytes, mode: int = 0o644) -> None:
    """Replace ``path`` by ``data`` (created with ``mode``), durably and all at once."""
    temporary = path.with_name(f".{path.name}.partial")
    temporary.unlink(missing_ok=True)
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    try:
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(descriptor, view) :]
            os.fsync(descriptor)
        finally:
            os.close(descriptor)
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)
    sync_directory(path.parent)


def sync_directory(directory: Path) -> None:
    """Flush ``directory``'s entries (a rename or a new file in it) to disk."""
    descriptor = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
