"""Durable file writes: a reader (or a restart after a crash) sees the old file or the new one.

Everything evote keeps outside SQLite (keys, certificates, records, a witness's state, a
voter's receipts, a guardian's state) goes through here: the bytes go to a new temporary file
beside the target (mode 0600 from the start, so a private key is never readable by others, not
even for a moment), are flushed to disk, get their final mode, and take the target's name in one
step whose directory entry is flushed too. Failures raise :class:`FileWriteError`, whose
message names the file; nothing is left behind.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

from evote.errors import EvoteError


class FileWriteError(EvoteError):
    """A file could not be written (or exists and must not be replaced); it was left as is."""


def write_atomically(path: Path, data: bytes, mode: int = 0o644) -> None:
    """Replace ``path`` by ``data`` (with ``mode``), durably and all at once."""
    temporary = _temporary(path, data, mode)
    try:
        os.replace(temporary, path)
    except OSError as error:
        raise FileWriteError(f"cannot write {path}: {error.strerror or error}") from error
    finally:
        temporary.unlink(missing_ok=True)
    sync_directory(path.parent)


def write_new(path: Path, data: bytes, mode: int = 0o644) -> None:
    """Create ``path`` holding ``data``, whole or not at all; never replace an existing file."""
    temporary = _temporary(path, data, mode)
    try:
        try:
            os.link(temporary, path)  # atomic, and fails if the name is taken
        except FileExistsError:
            raise FileWriteError(f"{path} exists; it was left as it is") from None
        except OSError:  # no hard links (FAT on a USB stick): check, then rename
            if path.exists():
                raise FileWriteError(f"{path} exists; it was left as it is") from None
            os.replace(temporary, path)
    except OSError as error:
        raise FileWriteError(f"cannot write {path}: {error.strerror or error}") from error
    finally:
        temporary.unlink(missing_ok=True)
    sync_directory(path.parent)


def sync_directory(directory: Path) -> None:
    """Flush ``directory``'s entries (a rename or a new file in it) to disk, where the
    platform allows it."""
    with contextlib.suppress(OSError):
        descriptor = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(descriptor)
        finally:
            os.close(descriptor)


def _temporary(path: Path, data: bytes, mode: int) -> Path:
    """``data`` in a new file beside ``path``, flushed to disk, with ``mode``."""
    try:
        handle, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".partial", dir=path.parent)
    except OSError as error:
        raise FileWriteError(f"cannot write {path}: {error.strerror or error}") from error
    temporary = Path(name)
    try:
        with os.fdopen(handle, "wb") as file:
            file.write(data)
            file.flush()
            os.fchmod(file.fileno(), mode)
            os.fsync(file.fileno())
    except OSError as error:
        temporary.unlink(missing_ok=True)
        raise FileWriteError(f"cannot write {path}: {error.strerror or error}") from error
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    return temporary
