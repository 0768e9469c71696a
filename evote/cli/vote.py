"""``evote enroll``, ``evote vote`` and ``evote receipt check``: the voter's own client.

A voter keeps everything in one **voter directory** (:mod:`evote.client.voter.directory`):
the credential made on the device and sealed under a passphrase, the pinned election id, the
checked manifest, the server and its CA, and one receipt file per cast or challenged ballot.
The passphrase is asked for at the terminal, or read from ``EVOTE_PASSPHRASE`` (for scripts
and tests; it is visible to the user's other processes). A typical run::

    evote enroll --voter-dir ~/vote --server vote.example.org:50051 --ca ca.pem \\
        --election-id 3f1c...e9 --code ABCD-EFGH-IJKL
    evote vote --voter-dir ~/vote                    # prompts for each contest
    evote vote --voter-dir ~/vote --choice referendum=yes --choice council=moroz,lysenko
    evote receipt check --voter-dir ~/vote           # offline
    evote receipt check --voter-dir ~/vote --online  # and against the board as it is now

Every failure is an :class:`~evote.errors.EvoteError` whose message says what to do; the
``evote`` entry point prints it as ``error: ...`` and exits with status 1.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import click

from evote.cli import main
from evote.cli.passphrase import read_passphrase
from evote.client.voter.choices import (
    check_part_choice,
    chosen_options,
    make_plaintext,
    parse_choices,
    part_label,
    part_options,
    style_parts,
)
from evote.client.voter.directory import StoredReceipt, VoterDir
from evote.client.voter.enrollment import check_code, check_not_enrolled, enroll
from evote.client.voter.errors import InvalidChoice, VoterError
from evote.client.voter.receipts import check_receipt_online, check_stored_receipt
from evote.client.voter.setup import parse_election_id
from evote.client.voter.voting import PreparedBallot, VotingSession, is_revote, send_pending
from evote.crypto.keystore import PRESETS
from evote.election.encrypt import PlaintextBallot
from evote.election.manifest import Manifest

_VOTER_DIR = click.option(
    "--voter-dir",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Your voter directory: credential, election, receipts.",
)

#: For commands after enrollment, which connect with the CA kept in the voter directory.
_KEPT_CA = click.option(
    "--ca",
    "ca_path",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="The election CA certificate (default: the one kept at enrollment).",
)


def _read_ca(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as error:
        raise VoterError(f"cannot read the CA certificate {path}: {error.strerror}") from error


def _passphrase(voter_dir: Path, *, new: bool) -> bytes:
    """The voter's passphrase: ``EVOTE_PASSPHRASE``, or asked (twice for a new one)."""
    return read_passphrase(
        f"Passphrase for your credential in {voter_dir}",
        protects="your voting credential if your voter directory is copied",
        new=new,
    )


# --- enroll --------------------------------------------------------------------------------------


@main.command("enroll")
@_VOTER_DIR
@click.option("--server", required=True, metavar="HOST:PORT", help="The election's public port.")
@click.option(
    "--ca",
    "ca_path",
    required=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="The election CA certificate (PEM) the server's certificate must chain to.",
)
@click.option(
    "--election-id",
    required=True,
    metavar="HEX",
    help="The election id the officials published (64 hex digits).",
)
@click.option(
    "--code",
    prompt="Enrollment code",
    hide_input=True,
    help="Your one-time enrollment code (asked for when not given).",
)
@click.option(
    "--kdf",
    type=click.Choice(sorted(PRESETS)),
    default="moderate",
    show_default=True,
    help="Argon2id cost of sealing your credential: moderate takes about 0.5 s and 256 MiB.",
)
def enroll_command(
    voter_dir: Path, server: str, ca_path: Path, election_id: str, code: str, kdf: str
) -> None:
    """Make your voting credential on this device and enroll it with your one-time code.

    The election's setup is read from the public board and checked first: its manifest must
    be the one whose fingerprint is ELECTION-ID, or nothing is sent. Running the command again
    after a lost answer is safe: the same credential is sent with the same code.
    """
    pinned = parse_election_id(election_id)
    check_code(code)
    ca_pem = _read_ca(ca_path)
    voter = VoterDir(voter_dir)
    check_not_enrolled(voter)
    passphrase = _passphrase(voter_dir, new=not voter.has_credential())
    enrolled = enroll(
        voter_dir,
        server=server,
        ca_pem=ca_pem,
        election_id=pinned,
        code=code,
        passphrase=passphrase,
        limits=PRESETS[kdf],
    )
    registration = enrolled.registration
    click.echo(f"enrolled in election {pinned.hex()} ({enrolled.manifest.name!r})")
    click.echo(f"your public credential {enrolled.state.credential.encode().hex()}")
    click.echo(
        f"registration: {registration.enrolled} of {registration.eligible} voters enrolled"
        + (", closed" if registration.closed else "")
    )
    click.echo(f"keep {voter_dir} and its passphrase to yourself; vote with `evote vote`")


# --- vote ----------------------------------------------------------------------------------------


def _pick_style(manifest: Manifest, requested: str | None, remembered: str | None) -> str:
    styles = [style.id for style in manifest.ballot_styles]
    if requested is not None:
        style_parts(manifest, requested)
        return requested
    if remembered is not None and remembered in styles:
        return remembered
    if len(styles) == 1:
        return styles[0]
    return str(
        click.prompt(
            "Your ballot style (your district)", type=click.Choice(styles), show_choices=True
        )
    )


def _prompt_choices(manifest: Manifest, style: str) -> PlaintextBallot:
    """Ask for each contest in turn (numbers or option ids); ask again after a bad answer."""
    chosen: dict[str, list[str]] = {}
    for part in style_parts(manifest, style):
        contest, _ = manifest.part(part)
        options = part_options(manifest, part)
        click.echo(f"\n{part_label(manifest, part)}")
        click.echo(f"  mark {contest.min_marks} to {contest.max_marks}:")
        for number, option in enumerate(options, 1):
            click.echo(f"  {number:>3}. {option}")
        while True:
            answer = click.prompt(
                "  your choice (numbers or names, separated by commas; empty: none)",
                default="",
                show_default=False,
            )
            picked = []
            for item in (piece.strip() for piece in str(answer).split(",")):
                if item.isdigit() and 1 <= int(item) <= len(options):
                    picked.append(options[int(item) - 1])
                elif item:
                    picked.append(item)
            try:
                check_part_choice(manifest, part, picked)
            except InvalidChoice as error:
                click.echo(f"  {error}; try again")
                continue
            chosen[part] = picked
            break
    return make_plaintext(manifest, style, chosen)


def _show_choices(manifest: Manifest, plaintext: PlaintextBallot, heading: str) -> None:
    click.echo(heading)
    for part, options in chosen_options(manifest, plaintext):
        click.echo(f"  {part_label(manifest, part)}: {', '.join(options) or '(blank)'}")


def _show_receipt(stored: StoredReceipt, path: Path) -> None:
    receipt = stored.receipt
    click.echo(f"tracking code      {receipt.tracking_code.hex()}")
    click.echo(f"board entry        {receipt.leaf_index}")
    click.echo(f"receipt (checked)  {path}")


def _prepared(session: VotingSession, plaintext: PlaintextBallot) -> PreparedBallot:
    prepared = session.prepare(plaintext)
    click.echo(f"confirmation code  {prepared.confirmation_code.hex()}")
    return prepared


def _challenge(session: VotingSession, prepared: PreparedBallot, voter: VoterDir) -> None:
    stored = session.challenge(prepared)
    click.echo("challenged: the ballot with this confirmation code is posted as an audit, its")
    click.echo("seed revealed; anyone can recompute it from the board and see what it encrypts.")
    _show_choices(session.manifest, prepared.plaintext, "it encrypts:")
    _show_receipt(stored, voter.receipts_path / stored.file_name)
    click.echo("encrypting your choices again (a new ballot, never challenged) ...")


@main.command("vote")
@_VOTER_DIR
@click.option(
    "--server", metavar="HOST:PORT", help="The election's public port (default: as enrolled)."
)
@_KEPT_CA
@click.option(
    "--choice",
    "choices",
    multiple=True,
    metavar="CONTEST=OPTION",
    help="A choice; repeat it, or separate options by commas. CONTEST= leaves it blank. "
    "Without any, you are asked contest by contest.",
)
@click.option("--style", help="Your ballot style, when the election has several.")
@click.option(
    "--challenge",
    is_flag=True,
    help=(
        "Challenge the device once first: post this encryption as an audit, then cast a fresh "
        "one. The device learns from the command line that one challenge is coming, so this "
        "rehearses the audit but cannot catch a device that cheats only on the ballot it casts: "
        "to catch that, vote at the prompts and decide after each confirmation code."
    ),
)
def vote_command(
    voter_dir: Path,
    server: str | None,
    ca_path: Path | None,
    choices: Sequence[str],
    style: str | None,
    challenge: bool,
) -> None:
    """Choose, encrypt, optionally challenge, cast, and keep the checked receipt.

    The election's setup is read from the board and checked before anything is encrypted,
    and so are your credential's ballots on it: a ballot cast with your credential that you
    did not cast on this device is named, and yours replaces it. The confirmation code is
    shown before the ballot is cast or challenged. Voting again casts a new ballot that
    replaces the earlier one (the last ballot counts).

    Without --choice you are asked contest by contest and then, after each confirmation code,
    whether to cast or challenge: a challenge the device cannot foresee is what catches a
    device that changes your vote (simulations/README.md, benaloh, measures it).
    """
    voter = VoterDir(voter_dir)
    state = voter.load_state()
    manifest = voter.manifest(state)
    ca_pem = None if ca_path is None else _read_ca(ca_path)
    if voter.pending() is not None:
        click.echo("an earlier ballot was sent but its answer never came: sending it again")
        stored = send_pending(voter_dir, server=server, ca_pem=ca_pem)
        if stored is not None:
            click.echo("your earlier ballot is cast (run `evote vote` again to change it):")
            _show_receipt(stored, voter.receipts_path / stored.file_name)
        return
    chosen_style = _pick_style(manifest, style, state.style)
    interactive = not choices
    if interactive:
        plaintext = _prompt_choices(manifest, chosen_style)
    else:
        plaintext = make_plaintext(manifest, chosen_style, parse_choices(choices))
    revote = is_revote(voter_dir, manifest)
    _show_choices(manifest, plaintext, "\nyour choices:")
    if revote:
        click.echo("this ballot replaces the one you cast before: the last ballot counts")
    passphrase = _passphrase(voter_dir, new=False)
    with VotingSession.open(voter_dir, passphrase, server=server, ca_pem=ca_pem) as session:
        for notice in session.foreign_notices():
            click.echo(f"warning: {notice}")
        if session.next_sequence > 0 and not revote:
            click.echo("this ballot replaces the one cast before with your credential")
        prepared = _prepared(session, plaintext)
        if challenge:
            _challenge(session, prepared, voter)
            prepared = _prepared(session, plaintext)
        while interactive and (
            click.prompt(
                "cast this ballot, or challenge the device first?",
                type=click.Choice(["cast", "challenge"]),
                default="cast",
            )
            == "challenge"
        ):
            _challenge(session, prepared, voter)
            prepared = _prepared(session, plaintext)
        stored = session.cast(prepared)
    click.echo("cast: the ballot box's receipt checks against the log's signed checkpoint")
    _show_receipt(stored, voter.receipts_path / stored.file_name)


# --- receipt check -------------------------------------------------------------------------------


@main.group("receipt")
def receipt_group() -> None:
    """Check a receipt of your ballot: offline, or against the public board as it is now."""


@receipt_group.command("check")
@click.argument(
    "receipt_file",
    required=False,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
)
@_VOTER_DIR
@click.option(
    "--server",
    metavar="HOST:PORT",
    help="Also check against this server's board now (implies --online).",
)
@_KEPT_CA
@click.option(
    "--online",
    is_flag=True,
    help="Also check against the board now, on the server you enrolled with.",
)
def receipt_check(
    receipt_file: Path | None,
    voter_dir: Path,
    server: str | None,
    ca_path: Path | None,
    online: bool,
) -> None:
    """Check RECEIPT_FILE (default: your latest cast ballot's receipt).

    Offline: the log's signed checkpoint in the receipt includes exactly the entry your device
    built. Online (--server or --online): the board's latest signed checkpoint extends that
    one (nothing was rewritten since), and the entry at your ballot's place is still yours.
    """
    stored = check_stored_receipt(voter_dir, receipt_file)
    receipt = stored.receipt
    click.echo(
        f"offline: the {stored.kind} receipt checks: entry {receipt.leaf_index} of the "
        f"board, tracking code {receipt.tracking_code.hex()}"
    )
    if server is None and not online:
        return
    checked = check_receipt_online(
        voter_dir,
        receipt_file,
        server=server,
        ca_pem=None if ca_path is None else _read_ca(ca_path),
    )
    click.echo(
        f"online: the board now has {checked.latest.size} entries under a checkpoint signed by "
        f"the election's log; it extends your receipt's and still holds your entry "
        f"{receipt.leaf_index}"
    )
