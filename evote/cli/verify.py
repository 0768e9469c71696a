"""``evote verify`` and ``evote record show``: the independent verifier and a record reader."""

from __future__ import annotations

import json
from pathlib import Path

import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn

from evote.ceremony.offline import CEREMONY_KINDS, ENTRY_SUFFIX, LATER_KINDS
from evote.cli import main
from evote.client.voter.errors import VoterError
from evote.client.voter.setup import parse_election_id
from evote.errors import EvoteError
from evote.files import write_new
from evote.record import kinds
from evote.verify.load import load
from evote.verify.report import VerificationReport, describe_entry
from evote.verify.runner import verify_record

#: What `evote record entries --guardians` writes: every kind a guardian signs alone.
GUARDIAN_KINDS = (*CEREMONY_KINDS, *LATER_KINDS)

_PHASES = {
    "record": "loading the record",
    "proofs": "verifying ballot and audit proofs",
    "checks": "running the checks",
}


def election_id_option(
    context: click.Context, parameter: click.Parameter, value: str | None
) -> bytes | None:
    """Parse an ``--election-id`` option (click callback): a malformed id is a usage error."""
    if value is None:
        return None
    try:
        return parse_election_id(value)
    except VoterError as error:
        raise click.BadParameter(str(error), context, parameter) from None


def verify_with_progress(
    record: Path, election_id: bytes | None, workers: int | None
) -> VerificationReport:
    """Run the verifier with a progress bar on standard error."""
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn())
    with Progress(*columns, console=Console(stderr=True), transient=True) as bar:
        tasks: dict[str, TaskID] = {}

        def progress(phase: str, done: int, total: int) -> None:
            if phase not in tasks:
                tasks[phase] = bar.add_task(_PHASES.get(phase, phase), total=total)
            bar.update(tasks[phase], completed=done, total=total)

        return verify_record(record, election_id=election_id, workers=workers, progress=progress)


@main.command("verify")
@click.argument("record", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option(
    "--election-id",
    "election_id",
    metavar="HEX",
    callback=election_id_option,
    help="The election id published by the electoral authority (64 hex digits). Without it, "
    "the record's own manifest is trusted and its id is printed for you to compare.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the report as one JSON object.")
@click.option(
    "--workers",
    type=click.IntRange(min=1),
    default=None,
    help="Processes that verify ballot proofs [default: one per CPU].",
)
@click.pass_context
def verify(
    context: click.Context,
    record: Path,
    election_id: bytes | None,
    as_json: bool,
    workers: int | None,
) -> None:
    """Run every check of the election record in RECORD and report each one.

    Exits with status 0 if every check passes and 1 otherwise. A progress bar goes to standard
    error; the report (a table, or JSON with --json) to standard output.
    """
    report = verify_with_progress(record, election_id, workers)
    if as_json:
        click.echo(report.to_json_text())
    else:
        report.render(Console())
    if not report.passed:
        context.exit(1)


@main.group("record")
def record_group() -> None:
    """Read an exported election record."""


@record_group.command("show")
@click.argument("record", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.argument("index", type=click.IntRange(min=0), required=False)
def show(record: Path, index: int | None) -> None:
    """Print the entries of RECORD (or only entry INDEX) as JSON.

    Each entry shows its kind, signers (hex) and decoded body, with points and bytes in hex.
    The record is loaded with every signature and checkpoint checked (check 1 of
    `evote verify`); a record that does not load is refused.
    """
    try:
        loaded = load(record)
    except EvoteError as error:
        raise click.ClickException(str(error)) from error
    entries, manifest = loaded.record.entries, loaded.manifest
    if index is None:
        click.echo(
            json.dumps(
                [describe_entry(i, entry, manifest) for i, entry in enumerate(entries)],
                indent=2,
                ensure_ascii=False,
            )
        )
        return
    if index >= len(entries):
        raise click.BadParameter(
            f"the record has {len(entries)} entries (0 to {len(entries) - 1})",
            param_hint="INDEX",
        )
    click.echo(
        json.dumps(describe_entry(index, entries[index], manifest), indent=2, ensure_ascii=False)
    )


@record_group.command("entries")
@click.argument("record", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option(
    "--out",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Directory to write the entry files into (created if missing).",
)
@click.option(
    "--kind",
    "wanted",
    multiple=True,
    metavar="KIND",
    type=click.Choice(sorted({*kinds.ALL_KINDS, *kinds.PAILLIER_KINDS})),
    help="Only entries of this kind (manifest, ceremony-commit, ballot, ...); repeat for "
    "several kinds.",
)
@click.option(
    "--guardians",
    is_flag=True,
    help="Only the entries guardians sign (key ceremony, key checks, decryption shares): what "
    "`evote guardian round --inbox` reads.",
)
def entries_command(record: Path, out: Path, wanted: tuple[str, ...], guardians: bool) -> None:
    """Write the entries of RECORD as files, one entry each (every entry, or those of the
    kinds asked for).

    Each file, INDEX-KIND.entry, holds the entry's stored bytes: what the commands that take
    entry files read. This is how a guardian gets the other guardians' ceremony entries from
    the board: from an observer's mirror (`evote observe --mirror`) into the inbox of
    `evote guardian round`. The record is loaded with every signature and checkpoint checked
    first. A file already in OUT is left as it is if it holds the same entry; nothing is
    written if one holds another.
    """
    try:
        loaded = load(record)
    except EvoteError as error:
        raise click.ClickException(str(error)) from error
    selected = set(wanted) | (set(GUARDIAN_KINDS) if guardians else set())
    chosen = [
        (out / f"{index:06d}-{entry.kind}{ENTRY_SUFFIX}", entry.encoded)
        for index, entry in enumerate(loaded.record.entries)
        if not selected or entry.kind in selected
    ]
    for path, data in chosen:
        if path.exists() and path.read_bytes() != data:
            raise click.ClickException(
                f"{path} exists and holds another entry (from another election's board?); "
                "nothing was written: use an empty directory"
            )
    written = 0
    try:
        out.mkdir(parents=True, exist_ok=True)
        for path, data in chosen:
            if not path.exists():
                write_new(path, data)
                written += 1
    except OSError as error:
        raise click.ClickException(f"cannot write into {out}: {error.strerror}") from error
    except EvoteError as error:
        raise click.ClickException(str(error)) from error
    click.echo(
        f"{len(chosen)} of the record's {len(loaded.record.entries)} entries are in {out} "
        f"({written} written now)"
    )
