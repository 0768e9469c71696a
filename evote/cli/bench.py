"""``evote bench``: benchmarks that print figures."""

from __future__ import annotations

import dataclasses
import json

import click
from rich.console import Console
from rich.table import Table

from evote.bench import board as board_bench
from evote.bench import crypto as crypto_bench
from evote.cli import main


@main.group(invoke_without_command=True)
@click.option(
    "--ballots",
    type=click.IntRange(min=1),
    default=100,
    show_default=True,
    help="Ballots of the reference manifest to encrypt and verify.",
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead of tables.")
@click.pass_context
def bench(context: click.Context, ballots: int, as_json: bool) -> None:
    """Measure primitive costs and per-ballot encrypt/verify on the reference manifest.

    Figures are CPU time, best of interleaved rounds. The floor is the counted scalar
    multiplications of one verification times the cost of one, measured in the same run.
    `evote bench board` measures the bulletin board instead.
    """
    if context.invoked_subcommand is not None:
        return
    with Console(stderr=True).status(f"measuring primitives and {ballots} ballots ..."):
        result = crypto_bench.run(ballots)
    if as_json:
        click.echo(json.dumps(result.as_json_dict(), indent=2, sort_keys=True))
        return
    _print_bench(result)


@bench.command("board")
@click.option(
    "--entries",
    type=click.IntRange(min=64),
    default=2000,
    show_default=True,
    help="Entries of 4 KiB to append to a temporary SQLite board.",
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead of a table.")
def bench_board(entries: int, as_json: bool) -> None:
    """Measure durable appends per second and Merkle proofs per second (wall-clock time)."""
    with Console(stderr=True).status(f"appending {entries} entries durably ..."):
        figures = board_bench.run(entries)
    if as_json:
        click.echo(json.dumps(figures.as_json_dict(), indent=2, sort_keys=True))
        return
    table = Table(
        title=f"Bulletin board: SQLite (WAL, synchronous=FULL), {figures.entries} entries"
    )
    table.add_column("measure")
    table.add_column("value", justify="right")
    for field in dataclasses.fields(figures):
        value = getattr(figures, field.name)
        shown = f"{value:,.0f}" if isinstance(value, int) else f"{value:,.1f}"
        table.add_row(field.name.replace("_", " "), shown)
    Console().print(table)


def _print_bench(result: crypto_bench.CryptoBenchmark) -> None:
    console = Console()
    primitives = Table(title="Primitive costs (CPU µs per call)")
    primitives.add_column("operation")
    primitives.add_column("µs", justify="right")
    for field in dataclasses.fields(result.primitives):
        value = getattr(result.primitives, field.name)
        primitives.add_row(field.name.removesuffix("_us").replace("_", " "), f"{value:.1f}")
    console.print(primitives)

    figures = result.ballot
    ballot = Table(title=f"Reference manifest, {figures.ballots} ballots (17 options, 3 contests)")
    ballot.add_column("per ballot")
    ballot.add_column("measured", justify="right")
    ballot.add_column("floor", justify="right")
    ballot.add_column("× floor", justify="right")
    ballot.add_row("encrypt with proofs", f"{figures.encrypt_ms_per_ballot:.2f} ms", "", "")
    ballot.add_row(
        "verify proofs",
        f"{figures.verify_ms_per_ballot:.2f} ms",
        f"{figures.floor_verify_ms_per_ballot:.2f} ms",
        f"{figures.verify_over_floor:.2f}",
    )
    ballot.add_row("decode and validate", f"{figures.decode_ms_per_ballot:.2f} ms", "", "")
    ballot.add_row(
        "decode + verify",
        f"{figures.decode_ms_per_ballot + figures.verify_ms_per_ballot:.2f} ms",
        f"{figures.floor_decode_and_verify_ms_per_ballot:.2f} ms",
        f"{figures.decode_and_verify_over_floor:.2f}",
    )
    ballot.add_row("size", f"{figures.ballot_bytes} B", "", "")
    console.print(ballot)
    counts = figures.verify_counts
    console.print(
        f"verify performs {counts.fixed_base} fixed-base and {counts.variable_base} variable-base "
        f"multiplications; decoding validates {figures.decode_counts.validations} points."
    )
