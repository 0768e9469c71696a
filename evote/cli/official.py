"""``evote post``, ``evote official`` and ``evote registry``: the parties' commands against a
running election (``evote serve``).

Officials open and close the election, post the encrypted tally and the result; guardians post
the entry files their offline commands wrote; the credential authority imports the roll of
one-time enrollment codes and closes registration. Every entry goes through the control port
with the party's role certificate (``evote ca issue``), and every receipt is checked offline
against the manifest. An official's client signs nothing it did not recompute from the board
itself, read from the public port and checked against the log's signed checkpoint and the
election id the officials published (:mod:`evote.client.official`). A malformed
``--election-id`` is a usage error, as for ``evote verify`` and ``evote observe``.

Officials who keep their keys on separate machines sign in turn::

    evote official tally ... --key official-1.key --out tally.entry
    evote official sign tally.entry ... --key official-2.key --out tally-signed.entry
    evote post ... tally-signed.entry

and each signer's client checks the entry against the board before adding its signature.
"""

from __future__ import annotations

import contextlib
import functools
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Final, ParamSpec, TypeVar

import click
from rich.console import Console

from evote.board.entry import Entry
from evote.cli import main
from evote.cli.results import print_tally_result
from evote.cli.setup import read_seed
from evote.cli.verify import election_id_option
from evote.client.channels import (
    BoardClient,
    ControlClient,
    close_and_post_credentials,
    load_role,
    secure_channel,
)
from evote.client.official.calls import calling
from evote.client.official.phases import Phase, officials_keys, phase_entry
from evote.client.official.posting import check_entry_to_post, phase_rank, post_entry
from evote.client.official.reading import BoardView, fetch_board
from evote.client.official.result import posted_tally, result_entry
from evote.client.official.signing import quorum_missing, sign_entry
from evote.client.official.tally import tally_entry
from evote.client.receipt import Receipt
from evote.election.manifest import Manifest
from evote.election.tally import TallyResult
from evote.errors import DecodeError, EvoteError
from evote.files import write_new
from evote.record import kinds
from evote.record.kinds import CredentialList
from evote.verify.checks import official_signers

#: Entry files larger than this are refused unread (an entry body is at most 1 MiB).
MAX_ENTRY_FILE_BYTES: Final = 2 << 20
#: Enrollment codes sent per ImportRoll call (the roll may be imported in batches).
ROLL_BATCH: Final = 5000

P = ParamSpec("P")
R = TypeVar("R")


def _clear_errors(command: Callable[P, R]) -> Callable[P, R]:
    """Turn evote's errors (failed calls included) into a one-line message and exit status 1."""

    @functools.wraps(command)
    def run(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return command(*args, **kwargs)
        except EvoteError as error:
            raise click.ClickException(error.diagnostics()) from error

    return run


# --- options -----------------------------------------------------------------------------------

_SERVER = click.option(
    "--server",
    required=True,
    metavar="HOST:PORT",
    help="The election's public port (the board), e.g. 127.0.0.1:50051.",
)
_CA = click.option(
    "--ca",
    "ca_file",
    required=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="The election CA certificate the operator published (DATA_DIR/ca.pem).",
)
_ELECTION_ID = click.option(
    "--election-id",
    "election_id",
    required=True,
    metavar="HEX",
    callback=election_id_option,
    help="The election id the officials published (`evote manifest check` prints it).",
)


def _control(required: bool) -> Callable[[Callable[P, R]], Callable[P, R]]:
    return click.option(
        "--control",
        required=required,
        metavar="HOST:PORT",
        help="The election's control port, e.g. 127.0.0.1:50052.",
    )


def _role_dir(required: bool) -> Callable[[Callable[P, R]], Callable[P, R]]:
    return click.option(
        "--role-dir",
        required=required,
        type=click.Path(exists=True, file_okay=False, path_type=Path),
        help="Your role certificate directory (`evote ca issue --out`).",
    )


_KEYS = click.option(
    "--key",
    "keys",
    multiple=True,
    required=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="An official's key file (`evote key new`); repeat for several officials.",
)


# --- connections -------------------------------------------------------------------------------


def _read(path: Path, what: str, limit: int | None = None) -> bytes:
    try:
        if limit is not None and path.stat().st_size > limit:
            raise click.ClickException(f"{path} is larger than any {what} ({limit} bytes)")
        return path.read_bytes()
    except OSError as error:
        raise click.ClickException(f"cannot read {what} {path}: {error.strerror}") from error


def _read_entry(path: Path) -> Entry:
    try:
        return Entry.decode(_read(path, "entry file", MAX_ENTRY_FILE_BYTES))
    except DecodeError as error:
        raise click.ClickException(f"{path} is not a board entry: {error}") from error


@contextlib.contextmanager
def _board(server: str, ca_file: Path) -> Iterator[BoardClient]:
    client = BoardClient(secure_channel(server, _read(ca_file, "CA certificate")))
    try:
        yield client
    finally:
        client.close()


@contextlib.contextmanager
def _control_client(address: str, ca_file: Path, role_dir: Path) -> Iterator[ControlClient]:
    client = ControlClient(
        secure_channel(address, _read(ca_file, "CA certificate"), load_role(role_dir))
    )
    try:
        yield client
    finally:
        client.close()


def _fetch(
    board: BoardClient, server: str, election_id: bytes, previous: BoardView | None = None
) -> BoardView:
    with calling(server, "reading the board"):
        return fetch_board(board, election_id, previous)


def _post(control: ControlClient, address: str, manifest: Manifest, entry: Entry) -> Receipt:
    with calling(address, f"posting the {entry.kind} entry"):
        return post_entry(control, manifest, entry)


def _print_result(manifest: Manifest, result: TallyResult, counted: int | None = None) -> None:
    """The counts of every contest as tables, each contest's outcome, who decrypted."""
    console = Console()
    print_tally_result(console, manifest, result)
    counted_text = "" if counted is None else f"{counted} ballots counted; "
    console.print(f"{counted_text}guardians decrypting: {', '.join(map(str, result.guardians))}")


# --- evote post --------------------------------------------------------------------------------


@main.command("post")
@_control(True)
@_SERVER
@_CA
@_role_dir(True)
@_ELECTION_ID
@click.argument(
    "entry_files",
    nargs=-1,
    required=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
)
@_clear_errors
def post(
    control: str,
    server: str,
    ca_file: Path,
    role_dir: Path,
    election_id: bytes,
    entry_files: tuple[Path, ...],
) -> None:
    """Post ENTRY_FILE... on the control port with your role certificate and check each receipt.

    For a guardian's outbox (every round's files at once: they are posted in the election's
    phase order), the joint key signed by everyone, or an officials' entry signed apart. Each
    entry is checked against the board first (this election, its signatures; officials'
    entries and decryption shares as the officials' client checks them). An entry already on
    the board is answered with its receipt again.
    """
    entries = [(path, _read_entry(path)) for path in entry_files]
    entries.sort(key=lambda pair: phase_rank(pair[1].kind))
    with _board(server, ca_file) as board, _control_client(control, ca_file, role_dir) as poster:
        view = _fetch(board, server, election_id)
        for position, (path, entry) in enumerate(entries):
            try:
                existing = check_entry_to_post(view, entry)
                receipt = _post(poster, control, view.manifest, entry)
            except EvoteError as error:
                done = f"; {position} file(s) before it were posted" if position else ""
                raise click.ClickException(
                    f"{path}: {error.diagnostics()}{done}; it and the files after it were not"
                ) from error
            if existing is not None:
                click.echo(
                    f"{path}: the {entry.kind} entry is already on the board at index "
                    f"{receipt.leaf_index} (receipt checked)"
                )
                continue
            click.echo(
                f"{path}: posted the {entry.kind} entry at index {receipt.leaf_index} "
                "(receipt checked)"
            )
            if entry.kind == kinds.RESULT:
                _print_result(view.manifest, TallyResult.from_tlv(entry.body, view.manifest))
            if position + 1 < len(entries):
                view = _fetch(board, server, election_id, view)


# --- evote official ----------------------------------------------------------------------------


@main.group("official")
def official_group() -> None:
    """The officials' steps: open, close, the encrypted tally and the result."""


def _official_options(command: Callable[P, R]) -> Callable[P, R]:
    for option in reversed(
        (
            _SERVER,
            _control(False),
            _CA,
            _role_dir(False),
            _ELECTION_ID,
            _KEYS,
            click.option(
                "--out",
                type=click.Path(dir_okay=False, path_type=Path),
                help="Write the signed entry here (must not exist) instead of posting it: for "
                "other officials to add their signatures (`evote official sign`).",
            ),
        )
    ):
        command = option(command)
    return command


def _official_step(
    step: str,
    server: str,
    control: str | None,
    ca_file: Path,
    role_dir: Path | None,
    election_id: bytes,
    keys: Sequence[Path],
    out: Path | None,
) -> None:
    """Build the officials' ``step`` entry from the checked board, sign it with ``keys``, and
    post it (or write it to ``out`` for the other officials)."""
    signers = [read_seed(path) for path in keys]
    if out is None and (control is None or role_dir is None):
        raise click.ClickException(
            "posting needs --control and --role-dir (the officials' role certificate); or give "
            "--out FILE to write the entry for other officials to sign"
        )
    with _board(server, ca_file) as board:
        view = _fetch(board, server, election_id)
        manifest = view.manifest
        given = len(officials_keys(manifest, signers))
        if out is None and given < manifest.official_quorum:
            raise click.ClickException(
                f"{given} official(s) signing, and the quorum is {manifest.official_quorum}: give "
                "the other officials' keys too, or --out FILE to write the partly signed entry "
                "for them (`evote official sign`, then `evote post`)"
            )
        result: TallyResult | None = None
        if step in (kinds.OPEN, kinds.CLOSE):
            phase: Phase = "open" if step == kinds.OPEN else "close"
            entry = phase_entry(view, phase, int(time.time()), signers)
        elif step == kinds.TALLY:
            entry = tally_entry(view, signers)
        else:
            entry, result = result_entry(view, signers)
    if out is not None:
        _write_for_signers(out, entry, manifest)
        return
    if control is None or role_dir is None:  # pragma: no cover - refused above
        raise click.ClickException("posting needs --control and --role-dir")
    with _control_client(control, ca_file, role_dir) as poster:
        receipt = _post(poster, control, manifest, entry)
    click.echo(f"posted the {entry.kind} entry at index {receipt.leaf_index} (receipt checked)")
    if result is not None:
        _print_result(manifest, result, len(posted_tally(view).tally.counted))


def _write_for_signers(out: Path, entry: Entry, manifest: Manifest) -> None:
    write_new(out, entry.encoded)
    officials = official_signers(entry, manifest)
    click.echo(
        f"{entry.kind} entry with {officials} of {manifest.official_quorum} required officials' "
        f"signatures written to {out}"
    )
    missing = quorum_missing(manifest, entry)
    if entry.kind == kinds.PAILLIER_KEY:
        more = (
            f"{missing} more official(s) co-sign it (`evote official sign`), then "
            if missing
            else ""
        )
        click.echo(
            f"next: {more}`evote post` it (official or dealer role); then the dealer posts the "
            "shares it sealed (paillier-share-g<i>.entry)"
        )
        return
    if entry.kind == kinds.JOINT_KEY:
        more = (
            f"{missing} more official(s) sign it too (`evote official sign`); " if missing else ""
        )
        click.echo(
            f"next: {more}`evote ceremony merge-signatures` gathers the officials' copies and "
            "every guardian's acknowledgement (joint-key-g<i>.entry) into one entry; then "
            "`evote post` it"
        )
        return
    if missing:
        click.echo(
            f"next: {missing} more official(s) add theirs (`evote official sign {out} --key ... "
            "--out ...`), then `evote post` the fully signed entry"
        )
    else:
        click.echo(f"next: `evote post ... {out}`")


@official_group.command("open")
@_official_options
@_clear_errors
def open_command(
    server: str,
    control: str | None,
    ca_file: Path,
    role_dir: Path | None,
    election_id: bytes,
    keys: tuple[Path, ...],
    out: Path | None,
) -> None:
    """Open the election: the ballot box takes ballots from then on.

    Needs the joint key, every guardian's key check and the credential list on the board.
    """
    _official_step(kinds.OPEN, server, control, ca_file, role_dir, election_id, keys, out)


@official_group.command("close")
@_official_options
@_clear_errors
def close_command(
    server: str,
    control: str | None,
    ca_file: Path,
    role_dir: Path | None,
    election_id: bytes,
    keys: tuple[Path, ...],
    out: Path | None,
) -> None:
    """Close the election: the ballot box takes no more ballots. The witnesses then cosign the
    closed board, which the tally needs."""
    _official_step(kinds.CLOSE, server, control, ca_file, role_dir, election_id, keys, out)


@official_group.command("tally")
@_official_options
@_clear_errors
def tally_command(
    server: str,
    control: str | None,
    ca_file: Path,
    role_dir: Path | None,
    election_id: bytes,
    keys: tuple[Path, ...],
    out: Path | None,
) -> None:
    """Post the encrypted tally: each credential's last ballot, summed.

    Runs the checks a guardian runs before decrypting (the ballot box's rules replayed with
    every proof, the counted set, the sums, the witnessed closing checkpoint) first.
    """
    _official_step(kinds.TALLY, server, control, ca_file, role_dir, election_id, keys, out)


@official_group.command("result")
@_official_options
@_clear_errors
def result_command(
    server: str,
    control: str | None,
    ca_file: Path,
    role_dir: Path | None,
    election_id: bytes,
    keys: tuple[Path, ...],
    out: Path | None,
) -> None:
    """Post the result: the guardians' verified decryption shares combined, and each contest's
    outcome under its counting rule; prints the counts and the outcomes."""
    _official_step(kinds.RESULT, server, control, ca_file, role_dir, election_id, keys, out)


@official_group.command("sign")
@click.argument("entry_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@_SERVER
@_CA
@_ELECTION_ID
@_KEYS
@click.option(
    "--out",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="Where to write the entry with your signature added (must not exist).",
)
@_clear_errors
def sign_command(
    entry_file: Path,
    server: str,
    ca_file: Path,
    election_id: bytes,
    keys: tuple[Path, ...],
    out: Path,
) -> None:
    """Add your signature to an officials' entry another official made, to the joint key, or
    to a scheme B dealer's key (ENTRY_FILE).

    The entry is checked against the board first, as if you had made it: a phase mark must fit
    the phase; a tally must be the sum of each credential's last ballot (with the guardians'
    checks); a result must be exactly what the guardians' shares on the board decrypt to; a
    joint key (a guardian's joint-key-g<i>.entry from the ceremony's last round) must be the
    one the guardians' ceremony on the board gives, with nobody disqualified; a dealer's key
    (paillier-key.entry from `evote dealer deal`) must be signed by the manifest's dealer,
    follow every guardian's transport key, and fit the manifest. Nothing is written if it is
    not.
    """
    entry = _read_entry(entry_file)
    signers = [read_seed(path) for path in keys]
    with _board(server, ca_file) as board:
        view = _fetch(board, server, election_id)
        signed = sign_entry(view, entry, signers)
    _write_for_signers(out, signed, view.manifest)


# --- evote registry ----------------------------------------------------------------------------


@main.group("registry")
def registry_group() -> None:
    """The credential authority: the roll of one-time enrollment codes, closing registration."""


def _status_line(eligible: int, enrolled: int, closed: bool) -> str:
    state = "closed" if closed else "open"
    return f"{eligible} eligible, {enrolled} enrolled; registration is {state}"


@registry_group.command("import-roll")
@click.option(
    "--codes",
    "codes_file",
    required=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="One enrollment code per line (blank lines are skipped).",
)
@_control(True)
@_CA
@_role_dir(True)
@_clear_errors
def import_roll(codes_file: Path, control: str, ca_file: Path, role_dir: Path) -> None:
    """Put the one-time enrollment codes on the roll (the registry keeps only their hashes).

    A roll may be imported in several files, and an import retried: codes already on the roll
    stay as they are. The codes themselves are never printed.
    """
    try:
        text = codes_file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise click.ClickException(f"cannot read the codes in {codes_file}: {error}") from error
    codes = [line.strip() for line in text.splitlines() if line.strip()]
    if not codes:
        raise click.ClickException(f"{codes_file} holds no enrollment code (one per line)")
    with _control_client(control, ca_file, role_dir) as authority:
        for start in range(0, len(codes), ROLL_BATCH):
            with calling(control, "importing the roll"):
                status = authority.import_roll(codes[start : start + ROLL_BATCH])
    click.echo(f"{len(codes)} codes read from {codes_file}")
    click.echo(_status_line(status.eligible, status.enrolled, status.closed))


@registry_group.command("close")
@_control(True)
@_SERVER
@_CA
@_role_dir(True)
@_ELECTION_ID
@click.option(
    "--key",
    "key_file",
    required=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="The credential authority's key file (`evote key new`): it signs here, on this machine.",
)
@_clear_errors
def close_registration(
    control: str,
    server: str,
    ca_file: Path,
    role_dir: Path,
    election_id: bytes,
    key_file: Path,
) -> None:
    """Close registration and put the credential list on the board, signed here.

    The registry closes and answers the list of enrolled credentials; this command checks it
    (it parses, is sorted, holds as many credentials as were enrolled), signs the credentials
    entry with the authority's key on this machine, posts it on the control port and checks
    the receipt against the board's signed checkpoint. Running it again after a lost answer is
    safe: the same list is signed again and the entry already on the board gets its receipt.
    """
    authority_key = read_seed(key_file)
    with _board(server, ca_file) as board:
        view = _fetch(board, server, election_id)
    with (
        _control_client(control, ca_file, role_dir) as authority,
        calling(control, "closing registration"),
    ):
        status, receipt = close_and_post_credentials(authority, view.manifest, authority_key)
    click.echo(_status_line(status.eligible, status.enrolled, status.closed))
    listed = CredentialList.from_tlv(status.credential_list)
    click.echo(
        f"the credential list is on the board at index {receipt.leaf_index}: "
        f"{len(listed.credentials)} credentials (receipt checked)"
    )
