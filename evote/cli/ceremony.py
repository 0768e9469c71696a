"""``evote ceremony``: scripted key ceremonies (rehearsals with simulated guardians).

``evote ceremony run SCRIPT`` rehearses a script from ``ceremonies/`` and prints its
transcript; ``evote ceremony verify-transcript FILE`` checks a transcript's digest and its
witnesses' signatures (and, with ``--record``, that it matches an exported record).
"""

from __future__ import annotations

from pathlib import Path

import click
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from evote.board.entry import Entry, merge_signatures
from evote.ceremony.script import ScriptError, parse_script
from evote.ceremony.transcript import (
    Json,
    StepRecord,
    Transcript,
    TranscriptError,
    check_against_record,
)
from evote.cli import main
from evote.crypto.signing import VerifyKey
from evote.errors import EvoteError
from evote.files import write_new
from evote.mock.ceremony_run import run_script
from evote.verify.load import load

_STATUS_STYLE = {"passed": "green", "failed": "bold red", "not run": "dim"}


@main.group("ceremony")
def ceremony_group() -> None:
    """Run and check scripted key ceremonies."""


@ceremony_group.command("run")
@click.argument("script", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--transcript",
    "transcript_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the signed transcript here (JSON).",
)
@click.option(
    "--record",
    "record_dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Export the rehearsal's board here (a new directory).",
)
def run(script: Path, transcript_file: Path | None, record_dir: Path | None) -> None:
    """Rehearse the ceremony SCRIPT with simulated participants and print its transcript.

    Every step runs on an in-memory board and is checked against the script's expected
    outputs; the first step that fails stops the run. The script's witnesses (simulated)
    sign the transcript's digest. Exits with status 1 if any step failed.
    """
    try:
        parsed = parse_script(script.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as error:
        raise click.ClickException(f"cannot read {script}: {error}") from error
    except ScriptError as error:
        raise click.ClickException(f"{script}: {error}") from error
    console = Console()
    err = Console(stderr=True)

    def report(step: StepRecord) -> None:
        style = _STATUS_STYLE[step.status]
        err.print(f"[{style}]{step.status}[/{style}] step {step.number}: {escape(step.title)}")

    try:
        result = run_script(parsed, script_file=script.name, record=record_dir, report=report)
    except EvoteError as error:
        raise click.ClickException(f"{script}: {error}") from error
    render_transcript(result.transcript, console)
    if transcript_file is not None:
        transcript_file.write_text(result.transcript.to_json_text(), encoding="utf-8")
        console.print(f"transcript written to {escape(str(transcript_file))}")
    if result.record is not None:
        console.print(f"record exported to {escape(str(result.record))}")
    if not result.passed:
        raise SystemExit(1)


@ceremony_group.command("verify-transcript")
@click.argument(
    "transcript_file", metavar="FILE", type=click.Path(exists=True, dir_okay=False, path_type=Path)
)
@click.option(
    "--witness-key",
    "witness_keys",
    multiple=True,
    metavar="ROLE=HEX",
    help="Require this witness to have signed with this Ed25519 public key (repeatable).",
)
@click.option(
    "--record",
    "record_dir",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="Also check that the transcript's entries and final checkpoint are this record's.",
)
def verify_transcript(
    transcript_file: Path, witness_keys: tuple[str, ...], record_dir: Path | None
) -> None:
    """Check the digest and every witness's signature of a ceremony transcript.

    Exits with status 0 only if the transcript is intact, every witness it lists signed it
    (with the key given by --witness-key, if any), it records a ceremony that passed, and,
    with --record, it matches that record.
    """
    pinned = _pinned(witness_keys)
    console = Console()
    try:
        transcript = Transcript.from_json_text(transcript_file.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as error:
        raise click.ClickException(f"cannot read {transcript_file}: {error}") from error
    except TranscriptError as error:
        raise click.ClickException(f"{transcript_file}: {error}") from error
    body = transcript.body
    problems = transcript.problems(pinned)
    if record_dir is not None:
        try:
            loaded = load(record_dir, bytes.fromhex(body.election_id))
        except (EvoteError, ValueError) as error:
            problems.append(f"the record does not load: {error}")
        else:
            problems.extend(check_against_record(transcript, loaded.record))
    console.print(f"[bold]{escape(body.script_title)}[/bold] ({escape(body.script_file)})")
    console.print(f"digest {transcript.digest}")
    if problems:
        for problem in problems:
            console.print(f"[bold red]FAILED[/bold red] {escape(problem)}")
        raise SystemExit(1)
    for signature in transcript.signatures:
        console.print(f"[green]signed[/green] by {escape(signature.role)} ({signature.key})")
    if record_dir is not None:
        console.print(f"[green]matches the record[/green] in {escape(str(record_dir))}")
    if not body.passed:
        console.print(
            f"[bold red]authentic, but the ceremony failed:[/bold red] {escape(body.failure or '')}"
        )
        raise SystemExit(1)
    console.print(
        f"[bold green]VERIFIED[/bold green]: intact, signed by {len(transcript.signatures)} "
        f"witness(es); the ceremony passed all {len(body.steps)} steps"
    )


@ceremony_group.command("merge-signatures")
@click.option(
    "--out",
    "out",
    type=click.Path(dir_okay=False, path_type=Path),
    required=True,
    help="Where to write the entry that carries every signature (must not exist).",
)
@click.argument(
    "copies", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path)
)
def merge(out: Path, copies: tuple[Path, ...]) -> None:
    """Merge separately signed copies of one entry into one (e.g. the joint key, signed by
    every guardian on their own machine and by the officials)."""
    merged = merge_signatures([Entry.decode(path.read_bytes()) for path in copies])
    write_new(out, merged.encoded)
    click.echo(f"{merged.kind} entry with {len(merged.signatures)} signatures written to {out}")


def _pinned(items: tuple[str, ...]) -> dict[str, VerifyKey]:
    pinned = {}
    for item in items:
        role, _, text = item.partition("=")
        try:
            pinned[role] = VerifyKey.decode(bytes.fromhex(text))
        except (ValueError, EvoteError) as error:
            raise click.BadParameter(
                f"{item!r}: expected ROLE=<64 hex digits of an Ed25519 public key>",
                param_hint="--witness-key",
            ) from error
    return pinned


def _show(value: Json) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        return ", ".join(_show(item) for item in value) or "none"
    return "-" if value is None else str(value)


def render_transcript(transcript: Transcript, console: Console) -> None:
    """Print a transcript for people: the steps, what was expected and seen, the signatures."""
    body = transcript.body
    console.print(f"[bold]{escape(body.script_title)}[/bold]")
    console.print(
        f"script {escape(body.script_file)} (SHA-256 {body.script_sha256}), run {body.date}"
    )
    console.print(f"election {escape(body.election_name)}, id {body.election_id}")
    table = Table(show_lines=True)
    table.add_column("#", justify="right")
    table.add_column("step")
    table.add_column("by")
    table.add_column("expected → observed")
    table.add_column("posted")
    table.add_column("status")
    for step in body.steps:
        title = escape(step.title) + f"\n[dim]{step.action}[/dim]"
        if step.rehearsal_only:
            title += " [dim](rehearsal only)[/dim]"
        lines = []
        for e in step.expectations:
            mark = "[green]✓[/green]" if e.met else "[bold red]✗[/bold red]"
            seen = "" if e.met else f" → {escape(_show(e.observed))}"
            lines.append(f"{mark} {e.name} {escape(_show(e.expected))}{seen}")
        posted = _posted(step)
        style = _STATUS_STYLE[step.status]
        table.add_row(
            str(step.number),
            title,
            escape(_compact(step.by)),
            "\n".join(lines),
            posted,
            f"[{style}]{step.status}[/{style}]",
        )
    console.print(table)
    for step in body.steps:
        if step.error:
            console.print(f"[bold red]{escape(step.error)}[/bold red]")
        for name in ("election-id", "joint-key", "extended-hash", "outcome", "problems", "reasons"):
            value = step.observed.get(name)
            if isinstance(value, list):
                console.print(f"step {step.number} {name}:")
                for item in value:
                    console.print(f"  {escape(_show(item))}")
            elif value is not None:
                console.print(f"step {step.number} {name}: {escape(_show(value))}")
    if body.final_checkpoint is not None:
        console.print("final checkpoint:")
        console.print(escape(body.final_checkpoint.rstrip("\n")), highlight=False)
    console.print(f"transcript digest (SHA-256) {transcript.digest}")
    console.print(f"signed off: {escape(body.statement)}")
    for signature in transcript.signatures:
        witness = next(w for w in body.witnesses if w.role == signature.role)
        console.print(f"  {escape(witness.name)} ({escape(signature.role)}) key {signature.key}")
    if body.passed:
        console.print(f"[bold green]CEREMONY PASSED[/bold green]: {len(body.steps)} steps")
    else:
        console.print(f"[bold red]CEREMONY FAILED[/bold red]: {escape(body.failure or '')}")


def _compact(roles: tuple[str, ...]) -> str:
    """``guardian-1, guardian-2, guardian-3`` as ``guardian 1–3``: numbered roles grouped."""
    groups: dict[str, list[int]] = {}
    for role in roles:
        prefix, _, number = role.rpartition("-")
        if prefix and number.isdigit():
            groups.setdefault(prefix, []).append(int(number))
        else:
            groups.setdefault(role, [])
    parts = []
    for prefix, numbers in groups.items():
        if not numbers:
            parts.append(prefix)
        elif len(numbers) > 2 and numbers == list(range(numbers[0], numbers[-1] + 1)):
            parts.append(f"{prefix} {numbers[0]}–{numbers[-1]}")
        else:
            parts.append(f"{prefix} {', '.join(map(str, numbers))}")
    return "; ".join(parts)


def _posted(step: StepRecord) -> str:
    if not step.entries:
        text = "nothing"
    else:
        first, last = step.entries[0], step.entries[-1]
        span = str(first.index) if first == last else f"{first.index}–{last.index}"
        text = f"{len(step.entries)} (entries {span})"
    if step.checkpoint_size is not None and step.checkpoint_root is not None:
        text += f"\ntree {step.checkpoint_size} {step.checkpoint_root[:16]}…"
    return text
