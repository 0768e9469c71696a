"""``evote bench``: benchmarks that print figures."""

from __future__ import annotations

import dataclasses
import json

import click
from rich.console import Console
from rich.table import Table

from evote.bench import board as board_bench
from evote.bench import crypto as crypto_bench
from evote.bench import services as services_bench
from evote.cli import main
from evote.client.channels import CastClient
from evote.services.server import PROOF_WORKERS


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
    `evote bench board` measures the bulletin board instead, `evote bench services` the
    ballot box under load over gRPC.
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


@bench.command("services")
@click.option(
    "--ballots",
    type=click.IntRange(min=1),
    default=400,
    show_default=True,
    help="Ballots of the reference manifest to encrypt beforehand and then cast.",
)
@click.option(
    "--clients",
    type=click.IntRange(min=1),
    default=16,
    show_default=True,
    help="Concurrent client threads casting over gRPC, one channel each.",
)
@click.option(
    "--client-processes",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    help="Processes the client threads are spread over (none is the server's).",
)
@click.option(
    "--tls/--insecure",
    default=False,
    show_default=True,
    help="Serve as deployed (public port with TLS, clients trusting the election CA), or "
    "without TLS to see what TLS costs.",
)
@click.option(
    "--proof-workers",
    type=click.IntRange(min=0),
    default=PROOF_WORKERS,
    show_default=True,
    help="Server processes checking ballot proofs (0: in the server's handler threads).",
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead of a table.")
def bench_services(
    ballots: int,
    clients: int,
    client_processes: int,
    tls: bool,
    proof_workers: int,
    as_json: bool,
) -> None:
    """Measure sustained casts per second and p50/p99 cast latency against the ballot box.

    The real gRPC ballot box serves a temporary SQLite board from this process on loopback
    (with --tls as deployed: TLS on the public port, the election CA of the data dir); the
    clients run in other processes, connected before the clock starts; ballots are encrypted
    and signed before timing. The ceiling is proof verification alone (single-thread CPU
    time on a sample of the same ballots, times the CPU count), measured in the same run.
    Latencies and the rate are wall-clock time.
    """
    if client_processes > clients:
        raise click.BadParameter(
            f"{client_processes} client processes need at least as many clients ({clients})",
            param_hint="--client-processes",
        )
    with Console(stderr=True).status(f"casting {ballots} ballots from {clients} clients ..."):
        figures = services_bench.run(
            CastClient.connect,
            ballots,
            clients,
            tls=tls,
            proof_workers=proof_workers,
            client_processes=client_processes,
        )
    if as_json:
        click.echo(json.dumps(figures.as_json_dict(), indent=2, sort_keys=True))
        return
    table = Table(
        title=(
            f"Ballot box over gRPC {'with TLS' if figures.tls else 'without TLS'}: "
            f"{figures.receipts} of {figures.ballots} ballots cast by {figures.clients} "
            f"clients in {figures.client_processes} other process(es), "
            f"{figures.cpu_count} CPUs"
        )
    )
    table.add_column("measure")
    table.add_column("value", justify="right")
    rows = [
        ("casts per second (sustained)", f"{figures.casts_per_second:,.1f}"),
        ("latency p50", f"{figures.latency_p50_ms:,.1f} ms"),
        ("latency p99", f"{figures.latency_p99_ms:,.1f} ms"),
        ("failed casts", f"{figures.failed_casts:,}"),
        ("wall time", f"{figures.wall_seconds:,.2f} s"),
        ("server threads", f"{figures.server_workers:,}"),
        ("server proof workers", f"{figures.proof_workers:,}"),
        ("server process CPU per cast", f"{figures.server_process_cpu_ms_per_cast:,.2f} ms"),
        ("clients' CPU per cast", f"{figures.client_cpu_ms_per_cast:,.2f} ms"),
        (
            f"verify proofs (CPU, {figures.ceiling_sample} ballots)",
            f"{figures.verify_ms_per_ballot:,.2f} ms",
        ),
        ("ceiling per core", f"{figures.ceiling_per_core_per_second:,.1f} /s"),
        (
            f"ceiling, {figures.cpu_count} cores",
            f"{figures.ceiling_machine_per_second:,.1f} /s",
        ),
        ("casts ÷ ceiling", f"{figures.casts_over_ceiling:.2f}"),
    ]
    for measure, value in rows:
        table.add_row(measure, value)
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
