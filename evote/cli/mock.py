"""``evote mock-election``: a whole simulated election, its results, and the verifier's verdict."""

from __future__ import annotations

import tempfile
from pathlib import Path

import click
import yaml
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)

from evote.cli import main
from evote.cli.results import print_tally_result
from evote.cli.verify import verify_with_progress
from evote.election.manifest import ELGAMAL, SCHEME_NAMES, SchemeName
from evote.mock.defaults import PRESETS, Preset
from evote.mock.election import (
    TRANSPORTS,
    MockOptions,
    MockResult,
    Transport,
    run_mock_election,
)


@main.command("mock-election")
@click.option("--voters", type=click.IntRange(min=1), default=200, show_default=True)
@click.option("--guardians", type=click.IntRange(min=1, max=100), default=5, show_default=True)
@click.option("--quorum", type=click.IntRange(min=1), default=3, show_default=True)
@click.option(
    "--absent",
    type=click.IntRange(min=0),
    default=0,
    show_default=True,
    help="Guardians who do not take part in decrypting the tally.",
)
@click.option(
    "--audit-rate",
    type=click.FloatRange(0, 1),
    default=0.05,
    show_default=True,
    help="Share of voters who challenge their device (Benaloh audit) first.",
)
@click.option(
    "--revote-rate",
    type=click.FloatRange(0, 1),
    default=0.05,
    show_default=True,
    help="Share of voters who vote a second time (the last ballot counts).",
)
@click.option(
    "--record",
    "record_dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Where to export the record (a new directory; a temporary one by default).",
)
@click.option(
    "--secrets",
    "secrets_dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Also write every simulated party's private key here (mock only).",
)
@click.option(
    "--preset",
    type=click.Choice(sorted(PRESETS)),
    default="reference",
    show_default=True,
    help="Embedded contests: the reference manifest, or a community with an open-list council.",
)
@click.option(
    "--contests",
    "contests_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="YAML or JSON file with `contests:` (and optional `ballot_styles:`) instead of a preset.",
)
@click.option("--seed", help="Make the voters' choices reproducible (keys and nonces stay random).")
@click.option("--workers", type=click.IntRange(min=1), help="Processes for voters and checks.")
@click.option(
    "--transport",
    type=click.Choice(TRANSPORTS),
    default="inprocess",
    show_default=True,
    help="inprocess: direct calls; grpc: the real services on loopback over TLS, voters "
    "enrolling and casting concurrently as clients.",
)
@click.option(
    "--scheme",
    type=click.Choice(SCHEME_NAMES),
    default=ELGAMAL,
    show_default=True,
    help="elgamal: scheme A, the guardians make the key together; paillier: scheme B, threshold "
    "Paillier with a 2048-bit key from one trusted dealer (who could decrypt every ballot; in "
    "process only).",
)
@click.option(
    "--verify/--no-verify",
    default=True,
    show_default=True,
    help="Run the independent verifier on the exported record at the end.",
)
def mock_election(
    voters: int,
    guardians: int,
    quorum: int,
    absent: int,
    audit_rate: float,
    revote_rate: float,
    record_dir: Path | None,
    secrets_dir: Path | None,
    preset: str,
    contests_file: Path | None,
    seed: str | None,
    workers: int | None,
    transport: Transport,
    scheme: SchemeName,
    verify: bool,
) -> None:
    """Run a complete mock election with simulated voters, guardians, officials and witnesses.

    Prints the results and where the record is, then the independent verifier's verdict on
    that record (exit status 1 if any check fails).
    """
    chosen = PRESETS[preset] if contests_file is None else _read_contests(contests_file)
    options = MockOptions(
        contests=chosen["contests"],
        ballot_styles=chosen.get("ballot_styles"),
        voters=voters,
        guardians=guardians,
        quorum=quorum,
        absent_guardians=absent,
        audit_rate=audit_rate,
        revote_rate=revote_rate,
        seed=None if seed is None else seed.encode(),
        workers=workers or MockOptions.default_workers(),
        transport=transport,
        scheme=scheme,
    )
    record = record_dir or Path(tempfile.mkdtemp(prefix="evote-record-")) / "record"
    console = Console(stderr=True)
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
    ) as progress:
        tasks: dict[str, TaskID] = {}

        def report(phase: str, done: int, total: int) -> None:
            if phase not in tasks:
                what = "voters (enroll)" if phase == "enroll" else f"ballots ({phase})"
                tasks[phase] = progress.add_task(what, total=total)
            progress.update(tasks[phase], completed=done)

        result = run_mock_election(options, record, report)
    if secrets_dir is not None:
        result.secrets.write(secrets_dir)
    _print_result(result)
    if verify:
        verdict = verify_with_progress(record, result.manifest.election_id, workers)
        verdict.render(Console())
        if not verdict.passed:
            raise SystemExit(1)


def _read_contests(path: Path) -> Preset:
    """Contests (and ballot styles) from an officials' YAML or JSON file."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as error:
        raise click.BadParameter(f"cannot read {path}: {error}") from error
    if not isinstance(data, dict) or not isinstance(data.get("contests"), list):
        raise click.BadParameter(f"{path} must hold a mapping with a `contests:` list")
    styles = data.get("ballot_styles")
    if styles is not None and not isinstance(styles, list):
        raise click.BadParameter(f"{path}: `ballot_styles:` must be a list")
    preset: Preset = {"contests": data["contests"]}
    if styles is not None:
        preset["ballot_styles"] = styles
    return preset


def _print_result(result: MockResult) -> None:
    console = Console()
    manifest = result.manifest
    print_tally_result(console, manifest, result.result)
    console.print(
        f"{result.ballots_cast} ballots cast ({result.revotes} second votes), "
        f"{result.ballots_counted} counted, {result.audits} audited devices; "
        f"guardians decrypting: {', '.join(map(str, result.result.guardians))}"
    )
    timings = ", ".join(f"{phase} {seconds:.1f} s" for phase, seconds in result.seconds.items())
    console.print(f"time: {timings}")
    console.print(f"election id {manifest.election_id.hex()}")
    console.print(f"record: {result.record}")
