"""A full disk and a damaged database: clear errors, no false receipt, no rewritten history.

**Full disk.** The real ``evote serve`` runs under ``RLIMIT_FSIZE`` (``faults_launch.py``):
once its SQLite WAL reaches the limit every write fails with ``EFBIG``, where a full disk fails
with ``ENOSPC``, and the next casts must be refused with the status the services give
:class:`StoreWriteFailed` and a message saying the store cannot write, never a receipt. The
server is then SIGKILLed (a crash on top of the full disk), restarted without the limit, and
every receipt it handed out must check (the crash test's reconciliation: offline receipt,
ballot at its leaf, consistent with the witnessed closing checkpoint), with the refused
ballots cast again and each ballot on the board exactly once. The negative control runs the
same with a store that swallows its write errors, and the same checks must find the lost
ballots. ``evote.files`` under the same limit raises :class:`FileWriteError` and leaves the
old file as it was.

**Damaged database.** Seeded random bytes of a closed election's board file are flipped
(the SQLite header, an entry's bytes, a leaf hash, a checkpoint note or a witness's
cosignature, anywhere) or the file is cut short; the server must then refuse to start with
:class:`StoreCorrupted`, or, where the damage touched no data (free space), serve exactly the
history it had. The real command line shows the refusal as one ``error:`` line, and a damaged
registry file is refused the same way. The negative control: a board rebuilt without one
ballot and signed again (which no file check can refuse) is caught by the comparison. ``evote
verify`` on an exported record with a flipped byte in an entry names that entry (or, when the
byte is the entry's own TLV length, the file it unframes).
"""

from __future__ import annotations

import json
import random
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import grpc
import pytest

from evote.board.export import export_record
from evote.board.log import BulletinBoard
from evote.board.merkle import leaf_hash
from evote.board.record import ENTRIES_FILE
from evote.board.store import SqliteStore, StoredEntry
from evote.board.witness import Witness
from evote.client.receipt import Receipt
from evote.errors import StoreCorrupted, StoreWriteFailed
from evote.mock.staging import StagedElection, stage_election
from evote.record import kinds
from evote.record.registry import REGISTRY_FILE
from evote.services.ca import Role
from evote.services.server import BOARD_FILE, open_board, serve_election_tls, setup_data_dir
from evote.services.status import status_of
from evote.verify.runner import verify_record
from tests.integration.test_ballot_box_crash import prepare, reconcile
from tests.integration.test_services import CONTESTS
from tests.suite.reconciling import LOST
from tests.suite.served import LAUNCH, REPOSITORY, SERVE, Served, follow, kill_server, stop_server
from tests.suite.sizing import size

#: Bytes the server's files may grow to in the limited run: room for the open and a few
#: ballots (each commit adds some 20 KiB of WAL frames), then every write fails.
FILE_SIZE_LIMIT: Final = 200_000
#: Ballots cast against the full disk (small / full form); the first few fit.
BALLOTS: Final = size(24, 120)
#: Refused casts to collect after the disk filled, before the crash.
REFUSALS: Final = size(4, 40)
#: Corrupted copies of the board tried in process (small / full form).
CORRUPTIONS: Final = size(24, 400)
#: Records with a flipped entry byte given to the verifier.
RECORD_FLIPS: Final = size(3, 40)
WANTED_CODE: Final = status_of(StoreWriteFailed("probe"))[0]
#: A TLV value's type byte and 4-byte length.
TLV_HEADER_BYTES: Final = 5


# ---------------------------------------------------------------------------------------------
# full disk while casting


@dataclass
class FullDiskRun:
    receipts: dict[bytes, Receipt]
    refused: list[tuple[grpc.StatusCode, str]]
    problems: list[str]
    before_full: int


def run_full_disk(tmp_path: Path, *, swallow: bool) -> FullDiskRun:
    """Cast against a server whose disk fills up, crash it, restart it on a disk with room,
    finish casting, close, and reconcile every receipt."""
    election, setup_size = prepare(tmp_path / "data", BALLOTS)
    served = Served(tmp_path, election.data_dir, election.log_key, election.origin, command=LAUNCH)
    ballots = [election.ballot(voter) for voter in range(BALLOTS)]
    witnesses = [
        Witness(name, key, election.origin, election.log_key.verify_key)
        for name, key in election.witnesses
    ]
    prefix = ["--file-size-limit", str(FILE_SIZE_LIMIT)]
    prefix += ["--swallow-write-errors"] if swallow else []
    receipts: dict[bytes, Receipt] = {}
    refused: list[tuple[grpc.StatusCode, str]] = []
    problems: list[str] = []
    pending: list[bytes] = []
    child = served.start([*prefix, "serve"])
    try:
        follow(served, witnesses, "at the start", problems)
        with served.control_client(Role.official()) as officials:
            officials.post(election.mark("open", election.officials))
        with served.ballot_box_client() as box:
            for entry in ballots:
                if len(refused) >= REFUSALS:
                    pending.append(entry)
                    continue
                try:
                    receipts[entry] = box.cast(entry)
                except grpc.RpcError as error:
                    refused.append((error.code(), error.details() or ""))
                    pending.append(entry)
        before_full = len(receipts)
        # A crash while the disk is full: nothing is flushed, nothing is cleaned up.
        kill_server(child)
        served.command = SERVE
        child = served.start()
        follow(served, witnesses, "after the restart", problems)
        with served.ballot_box_client() as box:
            for entry in pending:
                receipts[entry] = box.cast(entry)
        with served.control_client(Role.official()) as officials:
            officials.post(election.mark("close", election.officials))
        follow(served, witnesses, "at the close", problems, hand_in=True)
        with served.board_client() as board:
            problems += reconcile(board, election, receipts, ballots, setup_size)
    finally:
        stop_server(child)
    return FullDiskRun(receipts, refused, problems, before_full)


@pytest.mark.slow
def test_a_full_disk_refuses_casts_and_loses_no_receipt(tmp_path: Path) -> None:
    started = time.monotonic()
    run = run_full_disk(tmp_path, swallow=False)
    assert run.problems == []
    assert 0 < run.before_full < BALLOTS, "some ballots fit before the disk filled"
    assert len(run.refused) == REFUSALS, "every cast after the disk filled was refused"
    for code, details in run.refused:
        assert code == WANTED_CODE, (code, details)
        assert code not in (grpc.StatusCode.INTERNAL, grpc.StatusCode.DATA_LOSS), details
        assert "cannot write" in details, details
        assert "was not stored" in details, details
    assert len(run.receipts) == BALLOTS
    print(
        f"full disk: {run.before_full} receipts before the disk filled, {len(run.refused)} "
        f"casts refused ({run.refused[0][0].name}: {run.refused[0][1]!r}), crash, restart, "
        f"{len(run.receipts)} receipts all reconciled, {time.monotonic() - started:.1f} s"
    )


def test_a_store_that_cannot_write_is_answered_unavailable() -> None:
    code, details = status_of(StoreWriteFailed("the append was not stored: disk I/O error"))
    assert code in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.RESOURCE_EXHAUSTED)
    assert "disk I/O error" in details


@pytest.mark.slow
def test_the_checks_catch_a_store_that_swallows_write_errors(tmp_path: Path) -> None:
    run = run_full_disk(tmp_path, swallow=True)
    assert run.refused == [], "the swallowing store lets every cast through"
    lost = [problem for problem in run.problems if LOST in problem]
    assert lost, run.problems[:5]
    assert any("missing from the board" in problem for problem in run.problems)
    print(f"negative control: {len(lost)} receipts for ballots on no disk caught")


_WRITE_UNDER_LIMIT: Final = """
import json, os, resource, signal, sys
from pathlib import Path
from evote.files import FileWriteError, write_atomically, write_new
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
resource.setrlimit(resource.RLIMIT_FSIZE, (int(sys.argv[1]), int(sys.argv[1])))
target, fresh, size = Path(sys.argv[2]), Path(sys.argv[3]), int(sys.argv[4])
answers = {}
for name, write, path in (("replace", write_atomically, target), ("new", write_new, fresh)):
    try:
        write(path, os.urandom(size), 0o600)
        answers[name] = None
    except FileWriteError as error:
        answers[name] = str(error)
print(json.dumps(answers))
"""


def test_a_full_disk_leaves_files_as_they_were(tmp_path: Path) -> None:
    """Keys, records and receipts are written through :mod:`evote.files`: on a full disk the
    write fails with a message naming the file, the old file is intact, nothing is left
    behind; with room the same write succeeds (the control)."""
    target, fresh = tmp_path / "log.key", tmp_path / "record.tlv"
    old = b"the old key file\n"
    target.write_bytes(old)

    def write_under(limit: int, data_bytes: int) -> dict[str, str | None]:
        done = subprocess.run(
            [
                sys.executable,
                "-c",
                _WRITE_UNDER_LIMIT,
                str(limit),
                str(target),
                str(fresh),
                str(data_bytes),
            ],
            cwd=REPOSITORY,
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
        answers: dict[str, str | None] = json.loads(done.stdout)
        return answers

    answers = write_under(4096, 10_000)
    assert str(target) in (answers["replace"] or ""), answers
    assert str(fresh) in (answers["new"] or ""), answers
    assert target.read_bytes() == old
    assert not fresh.exists()
    assert sorted(path.name for path in tmp_path.iterdir()) == ["log.key"], "no partial files"
    assert write_under(1_000_000, 10_000) == {"replace": None, "new": None}
    assert len(target.read_bytes()) == len(fresh.read_bytes()) == 10_000


# ---------------------------------------------------------------------------------------------
# a damaged board file


@dataclass(frozen=True)
class Pristine:
    """A closed election's data dir (cosigned closing checkpoint) and what it served."""

    election: StagedElection
    entries: tuple[bytes, ...]
    checkpoints: tuple[str, ...]
    board_file: bytes


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory) -> Pristine:
    directory = tmp_path_factory.mktemp("pristine") / "data"
    election = stage_election(directory, "Damaged board", CONTESTS, voters=4)
    board = election.open_board()
    try:
        for voter in range(4):
            board.append([election.ballot(voter)])
        board.append([election.mark("close", election.officials)])
        for name, key in election.witnesses:
            witness = Witness(name, key, election.origin, election.log_key.verify_key)
            line = witness.add_checkpoint(board.latest_checkpoint(), 0, [], int(time.time()))
            board.add_cosignature(board.size, line)
        entries = tuple(board.entries(0, board.size))
        checkpoints = tuple(board.checkpoints())
    finally:
        board.close()
    setup_data_dir(directory)
    board_file = (directory / BOARD_FILE).read_bytes()
    assert not (directory / f"{BOARD_FILE}-wal").exists(), "a clean close folds the WAL in"
    return Pristine(election, entries, checkpoints, board_file)


Corruption = Callable[[bytes, Pristine, random.Random], tuple[bytes, str]]


def _flip_at(data: bytes, offset: int, chooser: random.Random) -> bytes:
    changed = bytearray(data)
    changed[offset] ^= chooser.randint(1, 255)
    return bytes(changed)


def _flip_inside(
    data: bytes, pieces: Sequence[bytes], chooser: random.Random, what: str
) -> tuple[bytes, str]:
    """Flip a byte inside one of ``pieces`` where it lies in the file (a piece longer than a
    page is split across pages: a short window of it is looked for)."""
    for _ in range(200):
        piece = chooser.choice(pieces)
        start = chooser.randrange(max(1, len(piece) - 16))
        window = piece[start : start + 16]
        at = data.find(window)
        if at >= 0:
            offset = at + chooser.randrange(len(window))
            return _flip_at(data, offset, chooser), f"{what} byte at {offset}"
    raise AssertionError(f"no {what} found in the board file")


def header(data: bytes, pristine: Pristine, chooser: random.Random) -> tuple[bytes, str]:
    offset = chooser.randrange(100)
    return _flip_at(data, offset, chooser), f"header byte {offset}"


def magic(data: bytes, pristine: Pristine, chooser: random.Random) -> tuple[bytes, str]:
    """A byte of the header's magic string: never harmless, unlike some other header bytes."""
    offset = chooser.randrange(16)
    return _flip_at(data, offset, chooser), f"header byte {offset}"


def entry_bytes(data: bytes, pristine: Pristine, chooser: random.Random) -> tuple[bytes, str]:
    return _flip_inside(data, pristine.entries, chooser, "entry")


def leaf_hashes(data: bytes, pristine: Pristine, chooser: random.Random) -> tuple[bytes, str]:
    return _flip_inside(data, [leaf_hash(e) for e in pristine.entries], chooser, "leaf hash")


def checkpoint_notes(data: bytes, pristine: Pristine, chooser: random.Random) -> tuple[bytes, str]:
    return _flip_inside(data, [n.encode() for n in pristine.checkpoints], chooser, "checkpoint")


def cosignatures(data: bytes, pristine: Pristine, chooser: random.Random) -> tuple[bytes, str]:
    lines = [line.encode() for line in pristine.checkpoints[-1].splitlines()[-2:]]
    return _flip_inside(data, lines, chooser, "cosignature line")


def anywhere(data: bytes, pristine: Pristine, chooser: random.Random) -> tuple[bytes, str]:
    offset = chooser.randrange(len(data))
    return _flip_at(data, offset, chooser), f"byte {offset}"


def truncated(data: bytes, pristine: Pristine, chooser: random.Random) -> tuple[bytes, str]:
    length = chooser.randrange(len(data))
    return data[:length], f"cut to {length} of {len(data)} bytes"


CORRUPTIONS_BY_NAME: Final[dict[str, Corruption]] = {
    "header": header,
    "magic": magic,
    "entry": entry_bytes,
    "leaf-hash": leaf_hashes,
    "checkpoint": checkpoint_notes,
    "cosignature": cosignatures,
    "anywhere": anywhere,
    "truncated": truncated,
}


def damaged_copy(pristine: Pristine, directory: Path, corruption: Corruption, seed: int) -> str:
    """A copy of the data dir whose board file is damaged by ``corruption``; what was done."""
    shutil.copytree(pristine.election.data_dir, directory)
    chooser = random.Random(seed)
    data, what = corruption(pristine.board_file, pristine, chooser)
    (directory / BOARD_FILE).write_bytes(data)
    return what


def served_history(pristine: Pristine, directory: Path) -> tuple[str, str]:
    """Start the services over ``directory`` in process, as ``evote serve`` does: ("refused",
    message) or ("served", "") after checking it serves exactly the pristine history."""
    try:
        servers = serve_election_tls(directory, pristine.election.log_key, proof_workers=0)
    except StoreCorrupted as error:
        return "refused", str(error)
    try:
        board = servers.board
        assert tuple(board.entries(0, board.size)) == pristine.entries, "a rewritten history"
        assert tuple(board.checkpoints()) == pristine.checkpoints, "rewritten checkpoints"
    finally:
        servers.stop(None)
    return "served", ""


def test_a_damaged_board_is_refused_never_served_rewritten(
    pristine: Pristine, tmp_path: Path
) -> None:
    started = time.monotonic()
    names = sorted(CORRUPTIONS_BY_NAME)
    outcomes: dict[str, list[str]] = {name: [] for name in names}
    for example in range(CORRUPTIONS):
        name = names[example % len(names)]
        directory = tmp_path / f"copy-{example}"
        what = damaged_copy(pristine, directory, CORRUPTIONS_BY_NAME[name], seed=example)
        outcome, message = served_history(pristine, directory)
        outcomes[name].append(outcome)
        if outcome == "refused":
            assert "Traceback" not in message, (what, message)
        shutil.rmtree(directory)
    # Damage to the data itself is always refused; only "anywhere" may land in free space.
    # Damage to the data itself is always refused; a flipped header byte or one anywhere may
    # land where SQLite keeps nothing that matters (free space, reserved or unused fields).
    for name in ("magic", "entry", "leaf-hash", "checkpoint", "cosignature", "truncated"):
        assert set(outcomes[name]) == {"refused"}, (name, outcomes[name])
    refused = sum(outcome == "refused" for found in outcomes.values() for outcome in found)
    tally = ", ".join(
        f"{name} {found.count('refused')}/{len(found)}" for name, found in outcomes.items()
    )
    print(
        f"damaged board: {CORRUPTIONS} corruptions, {refused} refused, "
        f"{CORRUPTIONS - refused} landed outside the data and served the same history; "
        f"{tally}; {time.monotonic() - started:.1f} s"
    )


def test_the_check_catches_a_board_served_after_damage(pristine: Pristine, tmp_path: Path) -> None:
    """Negative control: the comparison with the pristine history catches a board that was
    rebuilt without one ballot and signed again (what only someone holding the log key can
    do, and what the file's own checks cannot refuse)."""
    directory = tmp_path / "rewritten"
    shutil.copytree(pristine.election.data_dir, directory)
    (directory / BOARD_FILE).unlink()
    election = pristine.election
    board = BulletinBoard(
        SqliteStore(directory / BOARD_FILE),
        election.log_key,
        election.origin,
        kinds.entry_rules(election.manifest.election_id),
        election.manifest.witness_keys(),
    )
    try:
        for entry in (*pristine.entries[:-2], pristine.entries[-1]):  # the last ballot dropped
            board.append([entry])
    finally:
        board.close()
    with pytest.raises(AssertionError, match="rewritten history"):
        served_history(pristine, directory)


@pytest.mark.parametrize("name", ["magic", "entry", "checkpoint", "truncated"])
def test_evote_serve_refuses_a_damaged_board_with_one_clear_line(
    pristine: Pristine, tmp_path: Path, name: str
) -> None:
    directory = tmp_path / "data"
    what = damaged_copy(pristine, directory, CORRUPTIONS_BY_NAME[name], seed=7)
    served = Served(tmp_path, directory, pristine.election.log_key, pristine.election.origin)
    child = served.spawn()
    try:
        code = child.wait(timeout=60)  # it refuses within a second or two; it never serves
    except subprocess.TimeoutExpired:
        code = None
    finally:
        stop_server(child)
    log = served.log.read_text()
    assert code == 1, (what, log)
    assert "Traceback" not in log, log
    (line,) = [line for line in log.splitlines() if line.startswith("error:")]
    assert "refusing to serve" in line or "restore it from a backup" in line, line
    print(f"evote serve on a board with a {what}: {line}")


def test_evote_verify_names_the_damaged_entry(pristine: Pristine, tmp_path: Path) -> None:
    """A byte flipped inside entry ``k`` of an exported record: the verifier fails and one of
    its findings names entry ``k``."""
    source = tmp_path / "record"
    board, _ = open_board(pristine.election.data_dir, pristine.election.log_key)
    try:
        export_record(board, source)
    finally:
        board.close()
    assert verify_record(source, workers=1).passed is False  # no tally yet: some checks skip
    chooser = random.Random(11)
    data = (source / ENTRIES_FILE).read_bytes()
    named = framing = 0
    for example in range(RECORD_FLIPS):
        index = chooser.randrange(1, len(pristine.entries))
        entry = pristine.entries[index]
        at = data.find(entry)
        assert at >= 0
        inside = chooser.randrange(len(entry))
        record = tmp_path / f"flipped-{example}"
        shutil.copytree(source, record)
        (record / ENTRIES_FILE).write_bytes(_flip_at(data, at + inside, chooser))
        report = verify_record(record, workers=1)
        messages = [f.message for check in report.checks for f in check.failures]
        assert not report.passed
        if any(f"entry {index}" in message for message in messages):
            named += 1
        else:
            # A changed length of the entry's own TLV unframes the file: past it nothing is an
            # entry any more, and the finding is about the file.
            assert inside < TLV_HEADER_BYTES, (index, inside, messages[:5])
            assert any(f"{ENTRIES_FILE} is not a sequence" in m for m in messages), messages
            framing += 1
        shutil.rmtree(record)
    print(
        f"verify: {named + framing} records with a flipped entry byte: {named} findings name "
        f"the entry, {framing} (a byte of its length) name the unframed file"
    )


def test_a_damaged_registry_is_refused_with_a_clear_error(
    pristine: Pristine, tmp_path: Path
) -> None:
    """The registry (enrollment codes, credentials) is the data dir's other SQLite file."""
    directory = tmp_path / "data"
    shutil.copytree(pristine.election.data_dir, directory)
    (directory / REGISTRY_FILE).write_bytes(b"not an SQLite file " * 512)
    with pytest.raises(StoreCorrupted, match=r"cannot open the registry.*refusing to serve"):
        serve_election_tls(directory, pristine.election.log_key, proof_workers=0)


class _LostAnswerStore(SqliteStore):
    """Commits, then reports a write error (as an fsync error after the write can)."""

    def append(self, entries: Sequence[StoredEntry], checkpoint: str) -> None:
        super().append(entries, checkpoint)
        raise StoreWriteFailed("the append was not stored: disk I/O error (fsync)")


def test_a_commit_reported_failed_stops_the_log_until_reopened(
    pristine: Pristine, tmp_path: Path
) -> None:
    """If the store holds an append it reported failed, the log's tree is behind it: the board
    must refuse to sign anything more over that tree, and reopening serves what is stored."""
    directory = tmp_path / "data"
    shutil.copytree(pristine.election.data_dir, directory)
    election = pristine.election
    rules = kinds.entry_rules(election.manifest.election_id)
    keys = election.manifest.witness_keys()
    path = directory / BOARD_FILE
    board = BulletinBoard(_LostAnswerStore(path), election.log_key, election.origin, rules, keys)
    try:
        ballot = election.ballot(0, sequence=1)  # a revote: the box would admit it
        with pytest.raises(StoreWriteFailed):
            board.append([ballot])
        with pytest.raises(StoreCorrupted, match="out of step"):
            board.append([election.ballot(1, sequence=1)])
    finally:
        board.close()
    reopened = BulletinBoard(SqliteStore(path), election.log_key, election.origin, rules, keys)
    try:
        assert reopened.size == len(pristine.entries) + 1
        assert reopened.entry(reopened.size - 1) == ballot
    finally:
        reopened.close()
