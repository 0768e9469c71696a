"""The ``evote`` command line. Thin: parse arguments, call the library, print.

Each group of commands lives in its own module and registers itself on :data:`main`.
"""

from __future__ import annotations

import sys

import click

from evote import __version__
from evote.errors import EvoteError


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="evote")
def main() -> None:
    """evote: verifiable electronic voting for local elections and referendums."""


def run() -> None:
    """Entry point that turns evote errors into a message and exit status 1."""
    try:
        main(standalone_mode=True)
    except EvoteError as error:
        click.echo(f"error: {error.diagnostics()}", err=True)
        sys.exit(1)


# Command modules register themselves on `main` when imported.
from evote.cli import (  # noqa: E402, F401
    bench,
    ceremony,
    dealer,
    guardian,
    manifest,
    mock,
    observe,
    official,
    serve,
    setup,
    simulate,
    verify,
    vote,
)
