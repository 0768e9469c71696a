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
from evote.election.manifest import ELGAMAL, PAILLIER, SCHEME_NAMES, SchemeName
from evote.services.server import PROOF_WORKERS

_DEALING = "dealing a 2048-bit Paillier key (two fresh safe primes) takes a few seconds"


@main.group(invoke_without_command=True)
@click.option(
    "--scheme",
    type=click.Choice(SCHEME_NAMES),
    default=None,
    help="elgamal (scheme A, the default) or paillier (scheme B: threshold Paillier, 2048 bits).",
)
@click.option(
    "--compare",
    is_flag=True,
    help="Measure both schemes in one run and print them side by side with ratios.",
)
@click.option(
    "--ballots",
    type=click.IntRange(min=1),
    default=None,
    help=(
        "Ballots of the reference manifest to encrypt, verify, tally and decrypt, per scheme "
        f"[default: {crypto_bench.DEFAULT_BALLOTS[ELGAMAL]} for elgamal, "
        f"{crypto_bench.DEFAULT_BALLOTS[PAILLIER]} for paillier]."
    ),
)
@click.option(
    "--rounds",
    type=click.IntRange(min=1),
    default=None,
    help=(
        "Interleaved measuring rounds; the best counts "
        f"[default: {crypto_bench.DEFAULT_ROUNDS[ELGAMAL]} for elgamal, "
        f"{crypto_bench.DEFAULT_ROUNDS[PAILLIER]} for paillier and --compare]."
    ),
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead of tables.")
@click.pass_context
def bench(
    context: click.Context,
    scheme: SchemeName | None,
    compare: bool,
    ballots: int | None,
    rounds: int | None,
    as_json: bool,
) -> None:
    """Measure per-ballot and per-election costs of a scheme on the reference manifest.

    Per ballot: encrypt with proofs, decode and validate, verify the proofs, the signed
    entry's size. Per election (5 guardians, quorum 3, the tally of the measured ballots):
    one guardian's decryption shares with proofs of every aggregate, verifying them, combining
    3 guardians' shares. Figures are CPU time, best of interleaved rounds. For scheme A also
    the primitive costs and the floor: the counted scalar multiplications of one verification
    times the cost of one, measured in the same run. --compare measures both schemes in one
    run. `evote bench board` measures the bulletin board instead, `evote bench services` the
    ballot box under load over gRPC.
    """
    if context.invoked_subcommand is not None:
        return
    if compare and scheme is not None:
        raise click.BadParameter(
            "--compare measures both schemes: leave out --scheme", param_hint="--scheme"
        )
    status = Console(stderr=True).status
    if compare:
        with status(f"{_DEALING}; then measuring both schemes (a minute or two) ..."):
            comparison = crypto_bench.compare(ballots, rounds)
        if as_json:
            click.echo(json.dumps(comparison.as_json_dict(), indent=2, sort_keys=True))
            return
        _print_comparison(comparison)
        return
    chosen: SchemeName = scheme or ELGAMAL
    count = ballots or crypto_bench.DEFAULT_BALLOTS[chosen]
    doing = f"measuring {count} {chosen} ballots and their decryption ..."
    with status(f"{_DEALING}; then {doing}" if chosen == PAILLIER else doing):
        result = crypto_bench.run(chosen, ballots, rounds)
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
    default=None,
    help=(
        "Ballots of the reference manifest to encrypt beforehand and then cast "
        f"[default: {services_bench.DEFAULT_BALLOTS}; with --seconds, what lasts at the proof "
        f"ceiling's rate, at most {services_bench.MAX_POOL:,}]."
    ),
)
@click.option(
    "--seconds",
    type=click.FloatRange(min=0, min_open=True),
    default=None,
    help="Cast until this many seconds have passed (sustained load bounded in time) instead "
    "of until the ballots are cast; calls in flight then finish.",
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
    ballots: int | None,
    seconds: float | None,
    clients: int,
    client_processes: int,
    tls: bool,
    proof_workers: int,
    as_json: bool,
) -> None:
    """Measure sustained casts per second and cast latency (p50, p95, p99, max) against the
    ballot box.

    The real gRPC ballot box serves a temporary SQLite board from this process on loopback
    (with --tls as deployed: TLS on the public port, the election CA of the data dir); the
    clients run in other processes, connected before the clock starts; ballots are encrypted
    and signed before timing. They cast every ballot, or with --seconds until that time has
    passed. The ceiling is proof verification alone (single-thread CPU time on a sample of the
    same ballots, times the CPU count), measured in the same run. Latencies and the rate are
    wall-clock time.
    """
    if client_processes > clients:
        raise click.BadParameter(
            f"{client_processes} client processes need at least as many clients ({clients})",
            param_hint="--client-processes",
        )
    casting = (
        f"casting for {seconds:g} s from {clients} clients"
        if seconds is not None
        else f"casting {ballots or services_bench.DEFAULT_BALLOTS} ballots from {clients} clients"
    )
    with Console(stderr=True).status(f"encrypting, then {casting} ..."):
        figures = services_bench.run(
            CastClient.connect,
            ballots,
            clients,
            seconds=seconds,
            tls=tls,
            proof_workers=proof_workers,
            client_processes=client_processes,
        )
    if as_json:
        click.echo(json.dumps(figures.as_json_dict(), indent=2, sort_keys=True))
        return
    bounded = "" if figures.seconds is None else f" in {figures.seconds:g} s"
    table = Table(
        title=(
            f"Ballot box over gRPC {'with TLS' if figures.tls else 'without TLS'}: "
            f"{figures.receipts} of {figures.ballots} ballots cast{bounded} by "
            f"{figures.clients} clients in {figures.client_processes} other process(es), "
            f"{figures.cpu_count} CPUs"
        )
    )
    table.add_column("measure")
    table.add_column("value", justify="right")
    rows = [
        ("casts per second (sustained)", f"{figures.casts_per_second:,.1f}"),
        ("latency p50", f"{figures.latency_p50_ms:,.1f} ms"),
        ("latency p95", f"{figures.latency_p95_ms:,.1f} ms"),
        ("latency p99", f"{figures.latency_p99_ms:,.1f} ms"),
        ("latency max", f"{figures.latency_max_ms:,.1f} ms"),
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
    if figures.pool_exhausted:
        Console().print(
            f"The {figures.ballots} ballots were all cast before {figures.seconds:g} s had "
            "passed: the load ended early. Give more with --ballots."
        )


def _print_bench(result: crypto_bench.SchemeBenchmark) -> None:
    console = Console()
    if result.primitives is not None:
        primitives = Table(title="Primitive costs (CPU µs per call)")
        primitives.add_column("operation")
        primitives.add_column("µs", justify="right")
        for field in dataclasses.fields(result.primitives):
            value = getattr(result.primitives, field.name)
            primitives.add_row(field.name.removesuffix("_us").replace("_", " "), f"{value:.1f}")
        console.print(primitives)

    figures = result.ballot
    ballot = Table(
        title=(
            f"Scheme {_letter(result.scheme)} ({result.scheme}, {result.key_bits}-bit key): "
            f"reference manifest, {figures.ballots} ballots (17 options, 3 contests)"
        )
    )
    ballot.add_column("per ballot")
    ballot.add_column("measured", justify="right")
    ballot.add_column("floor", justify="right")
    ballot.add_column("× floor", justify="right")
    ballot.add_row("encrypt with proofs", f"{figures.encrypt_ms_per_ballot:.2f} ms", "", "")
    ballot.add_row(
        "verify proofs",
        f"{figures.verify_ms_per_ballot:.2f} ms",
        _ms(figures.floor_verify_ms_per_ballot),
        _times(figures.verify_over_floor),
    )
    ballot.add_row("decode and validate", f"{figures.decode_ms_per_ballot:.2f} ms", "", "")
    ballot.add_row(
        "decode + verify",
        f"{figures.decode_ms_per_ballot + figures.verify_ms_per_ballot:.2f} ms",
        _ms(figures.floor_decode_and_verify_ms_per_ballot),
        _times(figures.decode_and_verify_over_floor),
    )
    ballot.add_row("size (signed board entry)", f"{figures.ballot_bytes:,} B", "", "")
    console.print(ballot)
    counts = figures.verify_counts
    if counts is not None and figures.decode_counts is not None:
        console.print(
            f"verify performs {counts.fixed_base} fixed-base and {counts.variable_base} "
            f"variable-base multiplications; decoding validates "
            f"{figures.decode_counts.validations} points."
        )

    decryption = result.decryption
    table = Table(
        title=(
            f"Decryption: {decryption.guardians} guardians, quorum {decryption.quorum}, "
            f"{decryption.aggregates} aggregates of {decryption.tally_ballots} ballots"
        )
    )
    table.add_column("per election")
    table.add_column("measured", justify="right")
    table.add_row("one guardian's shares with proofs", f"{decryption.share_ms:.2f} ms")
    table.add_row("verify one guardian's shares", f"{decryption.verify_shares_ms:.2f} ms")
    table.add_row(
        f"combine {decryption.quorum} guardians' shares", f"{decryption.combine_ms:.2f} ms"
    )
    table.add_row("one guardian's share entry", f"{decryption.shares_entry_bytes:,} B")
    console.print(table)
    console.print(f"making the key took {result.key_seconds:.2f} s of CPU{_key_note(result)}.")


def _print_comparison(comparison: crypto_bench.Comparison) -> None:
    a, b = comparison.elgamal, comparison.paillier
    decryption = a.decryption
    table = Table(
        title=(
            f"Reference manifest (17 options, 3 contests): scheme A ({a.ballot.ballots} ballots) "
            f"and scheme B ({b.ballot.ballots} ballots); decryption with {decryption.guardians} "
            f"guardians, quorum {decryption.quorum}, {decryption.aggregates} aggregates"
        )
    )
    table.add_column("measure")
    table.add_column("A: elgamal (Ed25519)", justify="right")
    table.add_column(f"B: paillier ({b.key_bits}-bit n)", justify="right")
    table.add_column("B ÷ A", justify="right")
    for label, unit, value_a, value_b, ratio in comparison.rows():
        table.add_row(label, _figure(value_a, unit), _figure(value_b, unit), f"{ratio:,.1f}×")
    Console().print(table)
    Console().print(
        f"CPU time, best of interleaved rounds. Making the keys: scheme A's polynomials and "
        f"commitments {a.key_seconds:.2f} s, scheme B's dealing {b.key_seconds:.2f} s "
        f"(random: safe primes)."
    )


def _letter(scheme: str) -> str:
    return "A" if scheme == ELGAMAL else "B"


def _key_note(result: crypto_bench.SchemeBenchmark) -> str:
    if result.scheme == PAILLIER:
        return " (the dealer's two safe primes: random, one to several seconds)"
    return " (the guardians' polynomials and commitments, without the ceremony's messages)"


def _figure(value: float, unit: str) -> str:
    return f"{value:,.0f} B" if unit == "B" else f"{value:,.2f} {unit}"


def _ms(value: float | None) -> str:
    return "" if value is None else f"{value:.2f} ms"


def _times(value: float | None) -> str:
    return "" if value is None else f"{value:.2f}"
