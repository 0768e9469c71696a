"""``evote guardian``: the commands a guardian runs on their own, possibly offline, machine.

A guardian keeps everything in one **key file**: its Ed25519 identity key and, once it has
joined an election, its side of the key ceremony (secrets, the step it reached, and every
entry it posted or accepted). The file is sealed under a passphrase (Argon2id, then
XSalsa20-Poly1305: :mod:`evote.crypto.keystore`) and decrypted in memory for one command at a
time. The passphrase is asked for at the terminal, or read from the environment variable
``EVOTE_PASSPHRASE`` (for scripts and tests; it is visible to the user's other processes).

Guardians exchange signed board entries as files, ``<kind>-g<i>.entry``: each writes its own to
an outbox (a USB stick), a coordinator gathers every guardian's files, and each guardian reads
them all from its inbox before its next round. A typical run, for guardian 2::

    evote guardian identity --key-file g2.key          # prints the public key for the manifest
    evote guardian join --key-file g2.key --manifest manifest.yaml
    evote guardian round --key-file g2.key --manifest manifest.yaml --outbox /media/usb/out
    #  ... seven rounds in all, each with --inbox holding everyone's files of the round before
    evote guardian key-check --key-file g2.key --outbox /media/usb/out
    #  ... after the close, with the exported record:
    evote guardian decrypt --key-file g2.key --record record/ --outbox /media/usb/out
    evote guardian check-result --record record/ --manifest manifest.yaml

For a scheme B manifest (threshold Paillier, a trusted dealer) there are two rounds: the first
writes the guardian's transport key; the second, with the dealer's ``paillier-key`` entry and
the ``paillier-share`` sealed to this guardian in the inbox, checks the share against the key
and keeps it (a bad share is refused: nothing changes and nothing is written). Then
``key-check`` writes the ``paillier-key-check`` entry, and ``decrypt`` answers the tally as for
scheme A.

Files are written all or nothing: to a temporary file in the same directory, flushed to disk,
then renamed into place. The key file is replaced only after a command has succeeded (a wrong
passphrase, a refused entry or an out-of-order step leaves it byte for byte as it was), and an
outbox file is never overwritten.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final, ParamSpec, TypeVar

import click
import yaml
from rich.console import Console

from evote.board.record import Record, load_record
from evote.ceremony.guardian_file import KEY_HELD, GuardianState
from evote.ceremony.offline import (
    ENTRY_SUFFIX,
    Posted,
    Transcript,
    advance,
    key_check,
    next_round,
)
from evote.cli import main
from evote.cli.passphrase import read_passphrase
from evote.crypto.keystore import (
    PRESETS,
    KdfLimits,
    limits_of,
    open_with_passphrase,
    seal_with_passphrase,
)
from evote.crypto.signing import SigningKey
from evote.election.manifest import Manifest
from evote.errors import DecodeError, EvoteError, InvalidInput
from evote.files import write_atomically, write_new
from evote.record import kinds
from evote.record.guardian_tally import answer_tally
from evote.verify.runner import verify_record

#: Inbox files larger than this are refused unread (an entry body is at most 1 MiB).
MAX_ENTRY_FILE_BYTES: Final = 2 << 20

P = ParamSpec("P")
R = TypeVar("R")


@main.group("guardian")
def guardian_group() -> None:
    """A guardian's own tools: identity key, ceremony rounds, decryption shares."""


def _clear_errors(command: Callable[P, R]) -> Callable[P, R]:
    """Turn evote's errors into a one-line message and exit status 1."""

    @functools.wraps(command)
    def run(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return command(*args, **kwargs)
        except EvoteError as error:
            raise click.ClickException(error.diagnostics()) from error

    return run


# --- files, all or nothing ---------------------------------------------------------------------


def _read(path: Path, what: str, limit: int | None = None) -> bytes:
    try:
        if limit is not None and path.stat().st_size > limit:
            raise click.ClickException(f"{path} is larger than any {what} ({limit} bytes)")
        return path.read_bytes()
    except OSError as error:
        raise click.ClickException(f"cannot read {what} {path}: {error.strerror}") from error


# --- the key file ------------------------------------------------------------------------------


def _passphrase(key_file: Path, *, new: bool = False) -> bytes:
    return read_passphrase(
        f"Passphrase for {key_file}",
        protects="your key share if the key file is copied",
        new=new,
    )


@dataclass(frozen=True, slots=True)
class _Opened:
    """A key file opened for one command: the state, and what saving it again needs."""

    path: Path
    state: GuardianState
    passphrase: bytes
    limits: KdfLimits
    sealed: bytes

    def save(self, state: GuardianState) -> None:
        """Seal ``state`` under the same passphrase and cost (fresh salt and nonce) and
        replace the key file, unless it changed since it was opened."""
        if _read(self.path, "key file") != self.sealed:
            raise click.ClickException(
                f"{self.path} changed while this command ran (another evote command?); "
                "nothing was saved: run this command again"
            )
        write_atomically(
            self.path, seal_with_passphrase(self.passphrase, state.to_tlv(), self.limits), 0o600
        )


def _open(key_file: Path) -> _Opened:
    sealed = _read(key_file, "key file")
    passphrase = _passphrase(key_file)
    plaintext = open_with_passphrase(passphrase, sealed)  # KeystoreError: wrong passphrase
    try:
        state = GuardianState.from_tlv(plaintext)
    except DecodeError as error:
        raise click.ClickException(
            f"{key_file} opens, but does not hold a guardian's state: {error}"
        ) from error
    return _Opened(key_file, state, passphrase, limits_of(sealed), sealed)


def read_manifest(path: Path) -> Manifest:
    """The officials' manifest from YAML or JSON (a usage error names what is wrong)."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as error:
        raise click.ClickException(f"cannot read the manifest {path}: {error}") from error
    if not isinstance(data, dict):
        raise click.ClickException(f"{path} is not a manifest (a YAML or JSON mapping)")
    try:
        return Manifest.from_mapping(data)
    except InvalidInput as error:
        raise click.ClickException(f"{path} is not a valid manifest: {error}") from error


def _same_election(state: GuardianState, manifest: Manifest, path: Path) -> None:
    joined = state.require_manifest()
    if manifest.election_id != joined.election_id:
        raise click.ClickException(
            f"{path} is the manifest of election {manifest.election_id.hex()} "
            f"({manifest.name!r}), but this key file joined election "
            f"{joined.election_id.hex()} ({joined.name!r}); nothing was changed"
        )


# --- inbox and outbox --------------------------------------------------------------------------


def read_inbox(directory: Path | None) -> list[tuple[str, bytes]]:
    """Every ``*.entry`` file of ``directory`` (by name), as ``(path, bytes)`` pairs."""
    if directory is None:
        return []
    files = sorted(
        path
        for path in directory.iterdir()
        if path.name.endswith(ENTRY_SUFFIX) and not path.name.startswith(".") and path.is_file()
    )
    return [(str(path), _read(path, "entry file", MAX_ENTRY_FILE_BYTES)) for path in files]


def check_outbox(outbox: Path, posted: Sequence[Posted]) -> None:
    """Refuse, before anything is saved, to put a file where a different one already is."""
    for item in posted:
        target = outbox / item.name
        if target.exists() and _read(target, "outbox file") != item.data:
            raise click.ClickException(
                f"{target} exists and holds another entry; nothing was changed (use an empty "
                "outbox, or `evote guardian export` to write all your entries again)"
            )


def write_outbox(outbox: Path, posted: Sequence[Posted]) -> list[Path]:
    """Write each entry file; an identical file already there is left as it is."""
    try:
        outbox.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise click.ClickException(f"cannot create {outbox}: {error.strerror}") from error
    written = []
    for item in posted:
        target = outbox / item.name
        if not (target.exists() and _read(target, "outbox file") == item.data):
            write_new(target, item.data, 0o600)
        written.append(target)
    return written


def _post(opened: _Opened, state: GuardianState, outbox: Path, posted: Sequence[Posted]) -> None:
    """Save the new state first (so the entries are never lost), then write the outbox."""
    check_outbox(outbox, posted)
    if state != opened.state:
        opened.save(state)
    for path in write_outbox(outbox, posted):
        click.echo(f"wrote {path}")


_KEY_FILE = click.option(
    "--key-file",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="Your passphrase-sealed key file.",
)
_OUTBOX = click.option(
    "--outbox",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Directory for the entry files you hand to the coordinator (created if missing).",
)
_MANIFEST = click.option(
    "--manifest",
    "manifest_path",
    required=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="The officials' manifest (YAML or JSON).",
)
_RECORD = click.option(
    "--record",
    required=True,
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="The exported election record (a directory).",
)


# --- commands ----------------------------------------------------------------------------------


@guardian_group.command("identity")
@_KEY_FILE
@click.option(
    "--kdf",
    type=click.Choice(sorted(PRESETS)),
    default="moderate",
    show_default=True,
    help="Argon2id cost for the key file: moderate takes about 0.5 s and 256 MiB per opening.",
)
@_clear_errors
def identity(key_file: Path, kdf: str) -> None:
    """Create a new key file holding a new Ed25519 identity key; print its public key.

    Give the public key to the officials for the manifest's guardian list. A key file serves
    one election; it is never overwritten.
    """
    if key_file.exists():
        raise click.ClickException(f"{key_file} exists; a key file is never overwritten")
    passphrase = _passphrase(key_file, new=True)
    key = SigningKey.generate()
    sealed = seal_with_passphrase(passphrase, GuardianState.new(key).to_tlv(), PRESETS[kdf])
    write_new(key_file, sealed, 0o600)
    click.echo(f"identity key {key.verify_key.encode().hex()}")
    click.echo(
        f"Give this public key to the officials for the manifest; keep {key_file} and its "
        "passphrase to yourself."
    )


@guardian_group.command("join")
@_KEY_FILE
@_MANIFEST
@_clear_errors
def join(key_file: Path, manifest_path: Path) -> None:
    """Join the election of a manifest that lists your identity key; start your ceremony."""
    opened = _open(key_file)
    manifest = read_manifest(manifest_path)
    state = opened.state
    if state.manifest is not None:
        raise click.ClickException(
            f"{key_file} already joined election {state.manifest.election_id.hex()} "
            f"({state.manifest.name!r}); a key file serves one election"
        )
    key = state.identity.verify_key.encode().hex()
    if state.identity.verify_key not in manifest.guardians:
        raise click.ClickException(
            f"your identity key {key} is not among the guardians of {manifest_path} (election "
            f"{manifest.election_id.hex()}); nothing was changed"
        )
    joined = state.join(manifest)
    opened.save(joined)
    click.echo(
        f"joined election {manifest.election_id.hex()} ({manifest.name!r}) as guardian "
        f"{joined.index} of {len(manifest.guardians)} (quorum {manifest.guardian_quorum})"
    )
    click.echo(f"next: evote guardian round, {next_round(joined.step, scheme_b=joined.scheme_b)}")


@guardian_group.command("round")
@_KEY_FILE
@_MANIFEST
@click.option(
    "--inbox",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="Directory holding the other guardians' entry files (*.entry).",
)
@_OUTBOX
@_clear_errors
def round_command(key_file: Path, manifest_path: Path, inbox: Path | None, outbox: Path) -> None:
    """Check the others' entries in the inbox, then run your next ceremony round.

    The rounds: transport key, commit, reveal, sealed shares, complaints, answers, finish.
    Each refuses to run until every entry it needs is in the inbox, and every entry is checked
    first (this election; signed by exactly the guardian it speaks for; no second, different
    entry for a round). Nothing changes when a round is refused.

    Scheme B (a dealer): the transport key, then accepting the dealer's key and the share it
    sealed to you (both from the inbox); a share that does not check is refused.
    """
    opened = _open(key_file)
    state = opened.state
    if state.manifest is None:
        raise click.ClickException(
            f"{key_file} has joined no election yet: run `evote guardian join` first"
        )
    _same_election(state, read_manifest(manifest_path), manifest_path)
    result = advance(state, read_inbox(inbox))
    click.echo(f"inbox: {result.accepted} new entries checked and accepted")
    for note in result.notes:
        click.echo(note)
    _post(opened, result.state, outbox, result.posted)
    if not result.posted:
        click.echo("nothing to post this round")
    step = result.state.step
    if step in KEY_HELD and result.state.scheme_b:
        click.echo(
            "your Paillier key share is accepted and kept, your transport key is deleted; "
            "next: evote guardian key-check"
        )
    elif step in KEY_HELD:
        click.echo(
            "the key ceremony is over for you: your key share is kept, your coefficients and "
            "transport key are deleted; next: evote guardian key-check"
        )
        for item in result.posted:
            click.echo(
                f"hand {outbox / item.name} to the officials instead of posting it: the joint key "
                "goes on the board signed by every guardian and the officials at once "
                "(`evote official sign`, `evote ceremony merge-signatures`)"
            )
    else:
        click.echo(
            f"next: evote guardian round, {next_round(step, scheme_b=result.state.scheme_b)}"
        )


@guardian_group.command("key-check")
@_KEY_FILE
@_OUTBOX
@_clear_errors
def key_check_command(key_file: Path, outbox: Path) -> None:
    """After the ceremony, before the opening: prove on the board that you can decrypt."""
    opened = _open(key_file)
    result = key_check(opened.state)
    _post(opened, result.state, outbox, result.posted)


def _load_record(directory: Path, manifest: Manifest) -> Record:
    return load_record(
        directory,
        manifest.log_origin,
        manifest.log_key,
        kinds.entry_rules(manifest.election_id, manifest.scheme_name),
        manifest.witness_keys(),
    )


@guardian_group.command("decrypt")
@_KEY_FILE
@_RECORD
@_OUTBOX
@_clear_errors
def decrypt(key_file: Path, record: Path, outbox: Path) -> None:
    """After the close: check the record's tally, then write your decryption shares of it.

    The record must load under your election's trust roots, be closed (witnessed), and hold
    one tally, signed by an official quorum, that is exactly the sum of each credential's last
    valid ballot (the ballot box's rules are replayed and every proof is checked). You answer
    one tally per election, and nothing else is ever decrypted.
    """
    opened = _open(key_file)
    state = opened.state
    if state.step not in KEY_HELD:
        raise click.ClickException(
            f"{key_file} holds no key share: its key ceremony is at step {state.step!r} "
            f"(next: {next_round(state.step, scheme_b=state.scheme_b)})"
        )
    loaded = _load_record(record, state.require_manifest())
    result, checked = answer_tally(state, loaded)
    click.echo(
        f"the tally (entry {checked.index}) checks: it is the sum of {checked.ballots} counted "
        "ballots, each valid and its credential's last"
    )
    for note in result.notes:
        click.echo(note)
    _post(opened, result.state, outbox, result.posted)


@guardian_group.command("check-result")
@_RECORD
@click.option(
    "--manifest",
    "manifest_path",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Your election's manifest: the record must be of this election.",
)
@click.pass_context
@_clear_errors
def check_result(context: click.Context, record: Path, manifest_path: Path | None) -> None:
    """Run the independent verifier on the published record and print its verdict."""
    election_id = None if manifest_path is None else read_manifest(manifest_path).election_id
    report = verify_record(record, election_id=election_id)
    report.render(Console())
    if report.passed:
        click.echo("verdict: the record checks; the published result is right")
    else:
        failed = ", ".join(sorted(report.failed_checks()))
        click.echo(f"verdict: the record does NOT check (failed: {failed or 'see above'})")
        context.exit(1)


@guardian_group.command("export")
@_KEY_FILE
@_OUTBOX
@_clear_errors
def export(key_file: Path, outbox: Path) -> None:
    """Write every entry you have posted again (if an outbox was lost); nothing else changes."""
    opened = _open(key_file)
    if opened.state.manifest is None:
        click.echo("this key file has joined no election: there is nothing to export")
        return
    posted = Transcript.of(opened.state).own()
    check_outbox(outbox, posted)
    for path in write_outbox(outbox, posted):
        click.echo(f"wrote {path}")


@guardian_group.command("status")
@_KEY_FILE
@_clear_errors
def status(key_file: Path) -> None:
    """Show your identity key, your election, and where your ceremony stands."""
    state = _open(key_file).state
    click.echo(f"identity key {state.identity.verify_key.encode().hex()}")
    if state.manifest is None:
        click.echo("election: none yet (next: evote guardian join)")
        return
    manifest = state.manifest
    click.echo(f"election {manifest.election_id.hex()} ({manifest.name!r})")
    click.echo(
        f"guardian {state.index} of {len(manifest.guardians)}, quorum {manifest.guardian_quorum}"
    )
    if state.scheme_b:
        held = "accepted" if state.paillier_share is not None else "not accepted yet"
        click.echo(f"scheme B (threshold Paillier, a dealer): your key share is {held}")
    click.echo(f"step {state.step}; next: {next_round(state.step, scheme_b=state.scheme_b)}")
    if state.tally_answered is not None:
        click.echo(f"answered the tally whose body has SHA-256 {state.tally_answered.hex()}")
