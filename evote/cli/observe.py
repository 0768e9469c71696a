"""``evote observe``: follow an election's board live, verify as entries arrive, cosign.

A typical run, for an observer and for a witness::

    evote observe --server vote.example.org:50051 --ca ca.pem --election-id 3f1c...e9 \\
        --mirror ~/observed --until result --roll 1200 --compare receipt.json
    evote observe --server vote.example.org:50051 --ca ca.pem --election-id 3f1c...e9 \\
        --mirror ~/witnessed --witness-key witness.key --role-dir ~/witness-role \\
        --control vote.example.org:50052

One line per poll goes to standard error; the mirror is a record directory that
``evote verify`` reads as it is. See :mod:`evote.client.observer` for what is checked.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Final

import click
import grpc
from rich.console import Console
from rich.markup import escape

from evote.cli import main
from evote.cli.setup import read_seed
from evote.cli.verify import election_id_option
from evote.client.channels import (
    BoardClient,
    ControlClient,
    RegistryClient,
    load_role,
    secure_channel,
)
from evote.client.observer.following import Observer
from evote.client.observer.gossip import (
    ShownCheckpoint,
    ShownCheckpointRefused,
    read_shown_checkpoint,
)
from evote.client.observer.reports import PollReport, SplitView

#: Findings printed at the end, at most (the live lines counted every one).
SHOWN: Final = 20


def _live_line(report: PollReport, witness: bool) -> str:
    """One poll: size, new entries, ballots so far, failures, and what happened."""
    failures = f"[bold red]{report.failures}[/]" if report.failures else "0"
    parts = [
        f"poll {report.poll}",
        f"size {report.size} (+{report.new_entries})",
        f"ballots {report.ballots}",
        f"failures {failures}",
    ]
    if witness and report.cosigned is not None:
        parts.append(f"[green]cosigned {report.cosigned}[/]")
    if report.verification is not None:
        checked = len(report.verification.applicable)
        if report.verification.passed:
            parts.append(f"[green]{checked} record checks pass[/]")
        elif report.verification.waiting_for_witnesses:
            parts.append("[yellow]waiting for the witnesses' closing quorum[/]")
        else:
            failing = ", ".join(report.verification.failing())
            parts.append(f"[bold red]record checks fail: {escape(failing)}[/]")
    if report.unavailable is not None:
        parts.append(f"[yellow]board unavailable ({escape(report.unavailable)})[/]")
    if report.warning is not None:
        parts.append(f"[yellow]{escape(report.warning)}[/]")
    return "  ".join(parts)


@main.command("observe")
@click.option("--server", required=True, metavar="HOST:PORT", help="The board's public port.")
@click.option(
    "--ca",
    "ca_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    required=True,
    help="The election CA's certificate (PEM): the only root trusted for TLS.",
)
@click.option(
    "--election-id",
    "election_id",
    required=True,
    metavar="HEX",
    callback=election_id_option,
    help="The election id the officials published (64 hex digits): the observer pins it.",
)
@click.option(
    "--mirror",
    type=click.Path(file_okay=False, path_type=Path),
    required=True,
    help="Directory of the mirror (a record directory; created, or resumed from).",
)
@click.option(
    "--interval",
    type=click.FloatRange(min=0),
    default=5.0,
    show_default=True,
    help="Seconds between polls.",
)
@click.option(
    "--until",
    type=click.Choice(["result"]),
    default=None,
    help="Stop once the result is on the board and the whole record verified.",
)
@click.option("--polls", type=click.IntRange(min=1), default=None, help="Stop after N polls.")
@click.option(
    "--witness-key",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Cosign as a witness: file with the witness's signing-key seed (hex), a key the "
    "manifest names.",
)
@click.option(
    "--role-dir",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="The witness's role certificate directory (from `evote ca issue`).",
)
@click.option("--control", metavar="HOST:PORT", help="The control port, to hand in cosignatures.")
@click.option(
    "--roll",
    type=click.IntRange(min=0),
    default=None,
    metavar="N",
    help="The official number of eligible voters (the election officials publish it): the "
    "registry's roll must hold exactly that many enrollment codes.",
)
@click.option(
    "--compare",
    "compare_files",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    multiple=True,
    metavar="FILE",
    help="A checkpoint to compare with the mirror: a voter's receipt file, or a signed "
    "checkpoint note another observer or a witness kept (repeatable).",
)
@click.option(
    "--workers",
    type=click.IntRange(min=1),
    default=None,
    help="Processes that verify ballot proofs [default: one per CPU].",
)
@click.pass_context
def observe(
    context: click.Context,
    server: str,
    ca_file: Path,
    election_id: bytes,
    mirror: Path,
    interval: float,
    until: str | None,
    polls: int | None,
    witness_key: Path | None,
    role_dir: Path | None,
    control: str | None,
    roll: int | None,
    compare_files: tuple[Path, ...],
    workers: int | None,
) -> None:
    """Follow the board of the pinned election live and verify it as entries arrive.

    Each poll checks the latest checkpoint's signature and cosignatures, fetches the new
    entries, recomputes the Merkle root over every entry mirrored so far, checks each entry's
    signatures and each ballot's proofs, and runs the verifier's whole-record checks when the
    close, the tally and the result arrive. A board that rewrites its history (a checkpoint
    smaller than one seen, another root for the same entries, a changed entry) is reported
    with both checkpoints as evidence, and the observer stops.

    Once the credential list is on the board, each poll also reads the registry's public
    counts and compares them with the list (finding `registration`): more credentials listed
    than enrolled are ghosts, fewer are voters left off the list, and with --roll a roll
    holding another number of codes than the official number of eligible voters.

    Each --compare file (a voter's receipt, another observer's checkpoint note) is compared
    with the mirror as soon as the mirror reaches its size: a checkpoint its entries do not
    lead to is a split view (the log signed two histories), reported with both checkpoints.

    With --witness-key, --role-dir and --control the observer also cosigns, as a witness,
    each checkpoint it verified (a statement that the log only grew; a finding about an
    entry's content does not stop it), and hands the cosignature to the board.

    Exits with status 0 only if everything checked passed; Ctrl-C stops after the poll in
    progress.
    """
    witness_options = (witness_key, role_dir, control)
    if any(option is not None for option in witness_options) and None in witness_options:
        raise click.UsageError("a witness needs --witness-key, --role-dir and --control together")
    witness = (
        None
        if witness_key is None or role_dir is None or control is None
        else (witness_key, role_dir, control)
    )
    shown = []
    for path in compare_files:
        try:
            shown.append(read_shown_checkpoint(path))
        except ShownCheckpointRefused as error:
            raise click.BadParameter(str(error), param_hint="--compare") from None
    ca_pem = ca_file.read_bytes()
    fresh = not mirror.exists()
    following = _Following(interval, until, polls, workers, roll, shown)
    try:
        passed = _observe(server, ca_pem, election_id, mirror, following, witness)
    except BaseException:
        if fresh:
            _remove_if_empty(mirror)
        raise
    if not passed:
        if fresh:
            _remove_if_empty(mirror)
        context.exit(1)


def _remove_if_empty(mirror: Path) -> None:
    """A mirror this run created and never wrote into is removed: a command that failed
    before it observed anything leaves nothing behind (findings and evidence are kept)."""
    with contextlib.suppress(OSError):
        if mirror.is_dir() and not any(mirror.iterdir()):
            mirror.rmdir()


@dataclass(frozen=True, slots=True)
class _Following:
    """How to follow: the polling options, the official roll and the checkpoints shown."""

    interval: float
    until: str | None
    polls: int | None
    workers: int | None
    roll: int | None
    shown: list[ShownCheckpoint]


def _observe(
    server: str,
    ca_pem: bytes,
    election_id: bytes,
    mirror: Path,
    following: _Following,
    witness: tuple[Path, Path, str] | None,
) -> bool:
    """Follow the board (as a witness too, given its key, role dir and control port);
    whether everything checked passed."""
    err = Console(stderr=True)
    board = BoardClient(secure_channel(server, ca_pem))
    registry = RegistryClient(secure_channel(server, ca_pem))
    controller: ControlClient | None = None
    try:
        if witness is not None:
            witness_key, role_dir, control = witness
            key = read_seed(witness_key)
            controller = ControlClient(secure_channel(control, ca_pem, load_role(role_dir)))
            observer = Observer(
                board,
                election_id,
                mirror,
                witness_key=key,
                send_cosignature=controller.add_cosignature,
                workers=following.workers,
                registry=registry,
                roll=following.roll,
            )
        else:
            observer = Observer(
                board,
                election_id,
                mirror,
                workers=following.workers,
                registry=registry,
                roll=following.roll,
            )
        return _follow(observer, err, server, following)
    finally:
        board.close()
        registry.close()
        if controller is not None:
            controller.close()


def _follow(observer: Observer, err: Console, server: str, following: _Following) -> bool:
    stop = threading.Event()

    def interrupted(signum: int, frame: FrameType | None) -> None:
        stop.set()

    try:
        observer.start()
    except grpc.RpcError as error:
        raise click.ClickException(
            f"cannot read the board at {server}: {error.code().name}: {error.details()}"
        ) from None
    for shown in following.shown:
        try:
            observer.expect_checkpoint(shown)
        except ShownCheckpointRefused as error:
            raise click.ClickException(str(error)) from None
    manifest = observer.manifest
    err.print(
        f"observing [bold]{escape(manifest.name)}[/] ({observer.election_id.hex()}) "
        f"into {escape(str(observer.mirror))}"
        + (f" as witness {escape(observer.witness_name)}" if observer.witness_name else "")
    )
    witness = observer.witness_name is not None
    previous = {
        number: signal.signal(number, interrupted) for number in (signal.SIGINT, signal.SIGTERM)
    }
    try:
        passed = observer.follow(
            following.interval,
            until_result=following.until == "result",
            polls=following.polls,
            on_poll=lambda report: err.print(
                _live_line(report, witness), highlight=False, soft_wrap=True
            ),
            stop=stop,
        )
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
    _summary(observer, err)
    return passed


def _summary(observer: Observer, err: Console) -> None:
    rewrite = observer.rewrite
    if rewrite is not None:
        # Unwrapped, so that the signed checkpoints can be copied out as evidence.
        err.print("[bold red]" + "=" * 72 + "[/]")
        err.print(escape(rewrite.diagnostics()), highlight=False, soft_wrap=True)
        err.print("[bold red]" + "=" * 72 + "[/]")
        if isinstance(rewrite, SplitView):
            err.print(
                "[bold red]FAILED[/]: the log signed two histories (a split view). Keep both "
                f"checkpoints above (each is signed by the log), the mirror and "
                f"{escape(rewrite.source)}: together they prove it.",
                soft_wrap=True,
            )
            return
        err.print(
            "[bold red]FAILED[/]: the board rewrote its history. Keep both checkpoints above "
            "(each is signed by the log) and the mirror: together they prove it."
        )
        return
    for finding in observer.findings[:SHOWN]:
        err.print(f"[red]-[/] {escape(str(finding))}", soft_wrap=True)
    if len(observer.findings) > SHOWN:
        err.print(f"  … and {len(observer.findings) - SHOWN} more")
    verification = observer.verification
    if verification is not None:
        for line in verification.problems()[:SHOWN]:
            err.print(f"[red]-[/] {escape(line)}", soft_wrap=True)
    for shown in observer.shown_waiting:
        err.print(
            f"[yellow]not compared yet[/]: {escape(shown.source)} is beyond the mirror's "
            f"{observer.size} entries",
            soft_wrap=True,
        )
    if observer.registration_unchecked is not None and not observer.registration_checked:
        err.print(
            "[yellow]registration not checked[/]: the registry's counts could not be read "
            f"({escape(observer.registration_unchecked)})",
            soft_wrap=True,
        )
    mirror = escape(str(observer.mirror))
    err.print(
        f"mirror {mirror}: {observer.size} entries, {observer.ballots} ballots; "
        f"check it with `evote verify {mirror} --election-id {observer.election_id.hex()}`"
    )
    if observer.passed:
        err.print("[bold green]OBSERVED[/]: everything checked passed.")
    else:
        err.print(f"[bold red]FAILED[/]: {observer.failures} failure(s).")
