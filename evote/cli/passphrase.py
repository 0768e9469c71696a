"""The passphrase that seals a key kept on a person's own machine (a guardian's key file, a
voter's credential): asked for at the terminal, or read from ``EVOTE_PASSPHRASE``.

The variable is for scripts and tests: it is visible to the user's other processes, so the
commands that take it say so in their help. The text is NFC-normalized before it is encoded,
so that the same passphrase typed on another keyboard or system opens the same file.
"""

from __future__ import annotations

import os
import unicodedata
from typing import Final

import click

from evote.errors import InvalidInput

PASSPHRASE_ENV: Final = "EVOTE_PASSPHRASE"  # noqa: S105 - the variable's name, not a secret
#: A new passphrase has at least this many characters.
MIN_PASSPHRASE_CHARS: Final = 12


def read_passphrase(prompt: str, *, protects: str, new: bool = False) -> bytes:
    """The passphrase as UTF-8: ``EVOTE_PASSPHRASE``, or asked for with ``prompt`` (twice for
    a ``new`` one, which must have :data:`MIN_PASSPHRASE_CHARS` characters or more).

    ``protects`` completes "it is all that protects ..." in the refusal of a short one: say
    what someone who copies the file gets without it.
    """
    text = os.environ.get(PASSPHRASE_ENV)
    if text is None:
        text = click.prompt(prompt, hide_input=True, confirmation_prompt=new, err=True)
    text = unicodedata.normalize("NFC", text)
    if new and len(text) < MIN_PASSPHRASE_CHARS:
        raise InvalidInput(
            f"choose a passphrase of at least {MIN_PASSPHRASE_CHARS} characters: it is all that "
            f"protects {protects}"
        )
    if not text:
        raise InvalidInput("the passphrase is empty")
    return text.encode("utf-8")
