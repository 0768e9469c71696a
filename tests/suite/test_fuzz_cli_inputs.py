"""Every ``evote`` command that reads a file, fed hostile versions of valid files.

One real election stands behind the commands (staged, served in process over TLS as
``evote serve`` does, registration and the opening done on the wire, a voter enrolled and
voted with ``evote enroll`` and ``evote vote``): its manifest, signed entries, key files,
role certificates, the CA, a voter directory and receipt, the exported record, a guardian's
key file, a ceremony script, its transcript and record. Each command is run as the ``evote``
entry point runs it (:func:`evote.cli.run`, in process) with one of its input files replaced
by a damaged copy: one bit flipped, cut short, spliced with junk, emptied, grown past any
valid size, replaced by a directory, or by a valid file of another kind (a receipt given as
a manifest); for a directory input, one file inside damaged or removed, or the directory
replaced by a file.

Judged: the command exits 1 or 2 with a clear one-line error and no traceback, and nothing
it would write was created or changed (every file of the run's directory hashed before and
after), nor the served election (its board and registry). A damaged file that still says
the same thing (re-encoded PEM or JSON, the same seed) may be accepted, and so may a plain
text file (a manifest, a script, a roll) that is still valid after the change: those runs
are counted, not judged.

The commands and their file parameters come from the click group: a command that reads a
file and is not in :data:`COMMANDS` fails :func:`test_every_file_parameter_is_fuzzed`.
"""

from __future__ import annotations

import base64
import hashlib
import json
import shutil
import sys
import tempfile
import traceback
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

import click
import grpc
import pytest
import yaml
from click.testing import CliRunner
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import evote.cli
from evote.board.entry import Entry
from evote.board.export import export_record
from evote.mock.defaults import REFERENCE_CONTESTS
from evote.mock.staging import StagedElection, stage_election
from evote.record.registry import Registry
from evote.services.auth import channel_credentials, channel_options
from evote.services.ca import (
    Role,
    load_certificate,
    load_private_key,
    write_role_dir,
)
from evote.services.server import ElectionServers, serve_election_tls, setup_data_dir
from evote.wire.v1 import control_pb2, control_pb2_grpc
from tests.suite.adversary_election import Services, ballot, stage
from tests.suite.fuzz_mutations import mutations, pick, unreadable
from tests.suite.sizing import size

PASSPHRASE: Final = "a passphrase for the fuzz election"  # noqa: S105 - a test's own
ENV: Final = {"EVOTE_PASSPHRASE": PASSPHRASE, "COLUMNS": "120"}
CODES: Final = ("fuzz-code-0001", "fuzz-code-0002")
TIMEOUT: Final = 30.0
#: Past every size limit a command puts on an input file (entries, receipts, key files).
HUGE: Final = 5 * 1024 * 1024
#: An address no listener can bind: ``evote serve`` given valid files fails after reading them.
UNBINDABLE: Final = "256.0.0.1:1"


# ---------------------------------------------------------------------------------------------
# Kinds of input file, and when a damaged one still says the same thing


def _same_seed(original: bytes, damaged: bytes) -> bool:
    try:
        return bytes.fromhex(damaged.decode("ascii").strip()) == bytes.fromhex(
            original.decode("ascii").strip()
        )
    except ValueError:
        return False


def _pem_blocks(data: bytes) -> list[bytes] | None:
    try:
        return [
            load_certificate(block).public_bytes(Encoding.DER)
            for block in _split_pem(data)
            if b"CERTIFICATE" in block
        ] + [block for block in _split_pem(data) if b"CERTIFICATE" not in block]
    except Exception:  # not a certificate at all: not the same
        return None


def _split_pem(data: bytes) -> list[bytes]:
    blocks, current = [], b""
    for line in data.splitlines(keepends=True):
        current += line
        if line.startswith(b"-----END"):
            blocks.append(current)
            current = b""
    return blocks


def _same_pem(original: bytes, damaged: bytes) -> bool:
    before, after = _pem_blocks(original), _pem_blocks(damaged)
    return before is not None and before == after


def _same_anchor(original: bytes, damaged: bytes) -> bool:
    """A CA certificate given as a trust anchor is its subject and public key: TLS does not
    check an anchor's own signature, so a changed serial or validity is the same anchor."""

    def anchor(data: bytes) -> tuple[str, bytes] | None:
        try:
            certificate = load_certificate(data)
            return certificate.subject.rfc4514_string(), certificate.public_key().public_bytes(
                Encoding.DER, PublicFormat.SubjectPublicKeyInfo
            )
        except Exception:  # not a certificate: not the same anchor
            return None

    before = anchor(original)
    return before is not None and before == anchor(damaged)


def _lower_hex(value: object) -> object:
    """``value`` with every hex string in lower case (``bytes.fromhex`` reads either)."""
    if isinstance(value, dict):
        return {key: _lower_hex(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_lower_hex(item) for item in value]
    if isinstance(value, str):
        try:
            bytes.fromhex(value)
        except ValueError:
            return value
        return value.lower()
    return value


def _same_json(original: bytes, damaged: bytes) -> bool:
    """The same JSON value, hex strings read in either case."""
    try:
        return bool(_lower_hex(json.loads(original)) == _lower_hex(json.loads(damaged)))
    except (ValueError, UnicodeDecodeError, RecursionError):
        return False


def _same_bytes(original: bytes, damaged: bytes) -> bool:
    return original == damaged


def _same_key(original: bytes, damaged: bytes) -> bool:
    """The same private key, however its PEM is laid out."""
    try:
        before = load_private_key(original).private_numbers()
        after = load_private_key(damaged).private_numbers()
    except Exception:  # not a key this code reads: not the same
        return False
    return bool(before == after)


def _same_by_name(name: str) -> Callable[[bytes, bytes], bool]:
    if name == "ca.pem":
        return _same_anchor
    if name in ("key.pem", "ca.key", "server.key"):
        return _same_key
    if name.endswith(".pem"):
        return _same_pem
    if name.endswith(".json"):
        return _same_json
    return _same_bytes


@dataclass(frozen=True)
class Kind:
    """A kind of input: where the valid one is in the world, and how to judge a damaged one.

    ``free``: plain text its owner edits (a manifest, a script, a roll): a change may leave it
    valid, and then the command may succeed. Otherwise any change that does not say the same
    thing (``same``) must be refused.
    """

    what: str
    directory: bool = False
    free: bool = False
    same: Callable[[bytes, bytes], bool] = _same_bytes
    #: For a directory: how to judge a damaged file inside it, by name, where its name's
    #: default (:func:`_same_by_name`) is not right.
    inner_same: Mapping[str, Callable[[bytes, bytes], bool]] = field(default_factory=dict)


KINDS: Final[dict[str, Kind]] = {
    "manifest-yaml": Kind("the officials' manifest (YAML)", free=True),
    "finished-manifest-yaml": Kind("the manifest of the finished election (YAML)", free=True),
    "contests-yaml": Kind("contests for a mock election (YAML)", free=True),
    "ceremony-script": Kind("a ceremony script (YAML)", free=True),
    "codes": Kind("a roll of enrollment codes", free=True),
    "seed-official": Kind("an official's key seed", same=_same_seed),
    "seed-log": Kind("the log's key seed", same=_same_seed),
    "seed-authority": Kind("the credential authority's key seed", same=_same_seed),
    "seed-witness": Kind("a witness's key seed", same=_same_seed),
    "seed-serve-log": Kind("the log's key seed of the data dir `serve` is given", same=_same_seed),
    "manifest-entry": Kind("the signed manifest entry"),
    "open-entry": Kind("the officials' open mark (on the board)"),
    "close-entry": Kind("a close mark signed by one official"),
    "ca-pem": Kind("the election CA certificate", same=_same_anchor),
    "guardian-key": Kind("a guardian's sealed key file"),
    "receipt": Kind("a voter's receipt", same=_same_json),
    "transcript": Kind("a ceremony transcript", same=_same_json),
    "record": Kind("an exported election record", directory=True),
    "ceremony-record": Kind("a ceremony rehearsal's record", directory=True),
    "role-official": Kind(
        "an official's role certificate directory",
        directory=True,
    ),
    "role-authority": Kind(
        "the credential authority's role directory",
        directory=True,
    ),
    # Every role directory is checked whole when it is loaded (load_role_dir: the key is the
    # certificate's, its ca.pem is a CA that issued cert.pem), so a damaged file in it is
    # refused even where it would go unused (the observer hands a cosignature in only when it
    # made a new one).
    "role-witness": Kind(
        "a witness's role directory",
        directory=True,
    ),
    "ca-dir": Kind("a data dir holding the election CA", directory=True),
    "data-dir": Kind("a set-up election data dir", directory=True),
    "voter-dir": Kind("a voter directory", directory=True, free=True),
    "inbox": Kind("a guardian's inbox of entry files", directory=True),
}


# ---------------------------------------------------------------------------------------------
# The commands


@dataclass(frozen=True)
class Command:
    """How to run one command on valid files, and which of its parameters read or write files.

    ``argv`` holds ``{param}`` for a file parameter, ``@kind`` for another valid file of that
    kind, and ``$server``, ``$control``, ``$election`` for the served election. ``covered``
    names file parameters read by the same code as another command's, fuzzed there.
    """

    argv: tuple[str, ...]
    inputs: Mapping[str, str] = field(default_factory=dict)
    outputs: frozenset[str] = frozenset()
    occupied: frozenset[str] = frozenset()
    covered: Mapping[str, str] = field(default_factory=dict)


_OFFICIAL_STEP = (
    "--server",
    "$server",
    "--ca",
    "@ca-pem",
    "--election-id",
    "$election",
    "--key",
    "{keys}",
    "--out",
    "{out}",
)
_OFFICIAL_INPUTS = {"keys": "seed-official"}
#: Read by the same code as ``evote post``'s (evote/cli/official.py), fuzzed there: a damaged
#: CA costs a failed TLS handshake and the client's retries, so once per reading code.
_VIA_POST = {
    "ca_file": "read by evote/cli/official.py's _CA option and channels, fuzzed with `post`",
    "role_dir": "read only when posting, by the code `post --role-dir` uses",
}
#: The voter's commands read a given CA with one function (evote/cli/vote.py's _read_ca).
_CA_VIA_VOTE = {"ca_path": "read by evote/cli/vote.py's _read_ca, fuzzed with `vote --ca`"}

COMMANDS: dict[str, Command] = {
    "manifest check": Command(("manifest", "check", "{path}"), {"path": "manifest-yaml"}),
    "manifest sign": Command(
        ("manifest", "sign", "{path}", "--key", "{keys}", "--out", "{out}"),
        {"path": "manifest-yaml", "keys": "seed-official"},
        frozenset({"out"}),
    ),
    "key new": Command(("key", "new", "{path}"), occupied=frozenset({"path"})),
    "setup": Command(
        (
            "setup",
            "--data-dir",
            "{data_dir}",
            "--manifest-entry",
            "{manifest_entry}",
            "--log-key",
            "{log_key}",
        ),
        {"manifest_entry": "manifest-entry", "log_key": "seed-log"},
        frozenset({"data_dir"}),
    ),
    "ca issue": Command(
        ("ca", "issue", "--data-dir", "{data_dir}", "--role", "official", "--out", "{out}"),
        {"data_dir": "ca-dir"},
        frozenset({"out"}),
    ),
    "serve": Command(
        (
            "serve",
            "--data-dir",
            "{data_dir}",
            "--log-key",
            "{log_key}",
            "--public",
            UNBINDABLE,
            "--control",
            UNBINDABLE,
            "--proof-workers",
            "0",
        ),
        {
            "data_dir": "data-dir",
            "log_key": "seed-serve-log",
        },
    ),
    "ceremony run": Command(
        (
            "ceremony",
            "run",
            "{script}",
            "--transcript",
            "{transcript_file}",
            "--record",
            "{record_dir}",
        ),
        {"script": "ceremony-script"},
        frozenset({"transcript_file", "record_dir"}),
    ),
    "ceremony verify-transcript": Command(
        ("ceremony", "verify-transcript", "{transcript_file}", "--record", "{record_dir}"),
        {"transcript_file": "transcript", "record_dir": "ceremony-record"},
    ),
    "ceremony merge-signatures": Command(
        ("ceremony", "merge-signatures", "--out", "{out}", "{copies}", "@manifest-entry"),
        {"copies": "manifest-entry"},
        frozenset({"out"}),
    ),
    "dealer deal": Command(
        (
            "dealer",
            "deal",
            "--key",
            "{key_file}",
            "--manifest",
            "{manifest_path}",
            "--inbox",
            "{inbox}",
            "--outbox",
            "{outbox}",
        ),
        {"key_file": "seed-official", "manifest_path": "manifest-yaml", "inbox": "inbox"},
        frozenset({"outbox"}),
    ),
    "enroll": Command(
        (
            "enroll",
            "--voter-dir",
            "{voter_dir}",
            "--server",
            "$server",
            "--ca",
            "@ca-pem",
            "--election-id",
            "$election",
            "--code",
            CODES[1],
            "--kdf",
            "interactive",
        ),
        {"voter_dir": "voter-dir"},  # enrolled already: run again after a lost answer
        covered=_CA_VIA_VOTE,
    ),
    "vote": Command(
        ("vote", "--voter-dir", "{voter_dir}", "--ca", "{ca_path}", "--choice", "referendum=yes"),
        {"voter_dir": "voter-dir", "ca_path": "ca-pem"},
    ),
    "receipt check": Command(
        (
            "receipt",
            "check",
            "{receipt_file}",
            "--voter-dir",
            "{voter_dir}",
            "--online",
            "--ca",
            "@ca-pem",
        ),
        {"receipt_file": "receipt", "voter_dir": "voter-dir"},
        covered=_CA_VIA_VOTE,
    ),
    "observe": Command(
        (
            "observe",
            "--server",
            "$server",
            "--ca",
            "{ca_file}",
            "--election-id",
            "$election",
            "--mirror",
            "{mirror}",
            "--polls",
            "1",
            "--interval",
            "0.1",
            "--witness-key",
            "{witness_key}",
            "--role-dir",
            "{role_dir}",
            "--control",
            "$control",
        ),
        {"ca_file": "ca-pem", "witness_key": "seed-witness", "role_dir": "role-witness"},
        frozenset({"mirror"}),
        covered={
            "compare_files": "a receipt is read by StoredReceipt.from_json and check_receipt, "
            "as `receipt check` reads it, fuzzed there (a note: tests/integration/test_observe.py)"
        },
    ),
    "post": Command(
        (
            "post",
            "--control",
            "$control",
            "--server",
            "$server",
            "--ca",
            "{ca_file}",
            "--role-dir",
            "{role_dir}",
            "--election-id",
            "$election",
            "{entry_files}",
        ),
        {"ca_file": "ca-pem", "role_dir": "role-official", "entry_files": "open-entry"},
    ),
    "official open": Command(
        ("official", "open", *_OFFICIAL_STEP),
        _OFFICIAL_INPUTS,
        frozenset({"out"}),
        covered=_VIA_POST,
    ),
    "official close": Command(
        ("official", "close", *_OFFICIAL_STEP),
        _OFFICIAL_INPUTS,
        frozenset({"out"}),
        covered=_VIA_POST,
    ),
    "official tally": Command(
        ("official", "tally", *_OFFICIAL_STEP),
        _OFFICIAL_INPUTS,
        frozenset({"out"}),
        covered=_VIA_POST,
    ),
    "official result": Command(
        ("official", "result", *_OFFICIAL_STEP),
        _OFFICIAL_INPUTS,
        frozenset({"out"}),
        covered=_VIA_POST,
    ),
    "official sign": Command(
        (
            "official",
            "sign",
            "{entry_file}",
            *_OFFICIAL_STEP[:6],
            "--key",
            "{keys}",
            "--out",
            "{out}",
        ),
        {"entry_file": "close-entry", "keys": "seed-official"},
        frozenset({"out"}),
        covered=_VIA_POST,
    ),
    "registry import-roll": Command(
        (
            "registry",
            "import-roll",
            "--codes",
            "{codes_file}",
            "--control",
            "$control",
            "--ca",
            "@ca-pem",
            "--role-dir",
            "{role_dir}",
        ),
        {"codes_file": "codes", "role_dir": "role-authority"},
        covered=_VIA_POST,
    ),
    "registry close": Command(
        (
            "registry",
            "close",
            "--control",
            "$control",
            "--server",
            "$server",
            "--ca",
            "@ca-pem",
            "--election-id",
            "$election",
            "--role-dir",
            "{role_dir}",
            "--key",
            "{key_file}",
        ),
        {"role_dir": "role-authority", "key_file": "seed-authority"},
        covered=_VIA_POST,
    ),
    "verify": Command(("verify", "{record}", "--workers", "1"), {"record": "record"}),
    "record show": Command(("record", "show", "{record}"), {"record": "record"}),
    "record entries": Command(
        ("record", "entries", "{record}", "--out", "{out}"),
        {"record": "record"},
        frozenset({"out"}),
    ),
    "mock-election": Command(
        # One guardian and a quorum of two: refused once the contests are read, so a valid
        # file never starts a whole election (the contests' reading is what is fuzzed here).
        (
            "mock-election",
            "--voters",
            "1",
            "--guardians",
            "1",
            "--quorum",
            "2",
            "--contests",
            "{contests_file}",
            "--record",
            "{record_dir}",
            "--secrets",
            "{secrets_dir}",
            "--no-verify",
        ),
        {"contests_file": "contests-yaml"},
        frozenset({"record_dir", "secrets_dir"}),
    ),
    "guardian identity": Command(
        ("guardian", "identity", "--key-file", "{key_file}", "--kdf", "interactive"),
        occupied=frozenset({"key_file"}),
    ),
    "guardian join": Command(
        ("guardian", "join", "--key-file", "{key_file}", "--manifest", "{manifest_path}"),
        {"key_file": "guardian-key", "manifest_path": "manifest-yaml"},
    ),
    "guardian round": Command(
        (
            "guardian",
            "round",
            "--key-file",
            "{key_file}",
            "--manifest",
            "{manifest_path}",
            "--inbox",
            "{inbox}",
            "--outbox",
            "{outbox}",
        ),
        {"key_file": "guardian-key", "manifest_path": "manifest-yaml", "inbox": "inbox"},
        frozenset({"outbox"}),
    ),
    "guardian key-check": Command(
        ("guardian", "key-check", "--key-file", "{key_file}", "--outbox", "{outbox}"),
        {"key_file": "guardian-key"},
        frozenset({"outbox"}),
    ),
    "guardian decrypt": Command(
        (
            "guardian",
            "decrypt",
            "--key-file",
            "{key_file}",
            "--record",
            "{record}",
            "--outbox",
            "{outbox}",
        ),
        {"key_file": "guardian-key", "record": "record"},
        frozenset({"outbox"}),
    ),
    "guardian check-result": Command(
        ("guardian", "check-result", "--record", "{record}", "--manifest", "{manifest_path}"),
        {"record": "record", "manifest_path": "finished-manifest-yaml"},
    ),
    "guardian export": Command(
        ("guardian", "export", "--key-file", "{key_file}", "--outbox", "{outbox}"),
        {"key_file": "guardian-key"},
        frozenset({"outbox"}),
    ),
    "guardian status": Command(
        ("guardian", "status", "--key-file", "{key_file}"), {"key_file": "guardian-key"}
    ),
}


def click_commands() -> dict[str, click.Command]:
    """Every leaf command of ``evote``, by its space-separated name."""
    found: dict[str, click.Command] = {}

    def walk(command: click.Command, name: str) -> None:
        if isinstance(command, click.Group):
            for sub_name, sub in command.commands.items():
                walk(sub, f"{name} {sub_name}".strip())
        else:
            found[name] = command

    walk(evote.cli.main, "")
    return found


def file_parameters(command: click.Command) -> list[str]:
    """The parameters of ``command`` that name a file or a directory."""
    return [
        str(param.name)
        for param in command.params
        if isinstance(param.type, click.Path | click.File)
    ]


#: Kinds whose damage costs a failed TLS handshake and the client's retries (about a second
#: a run): fewer examples in the small form.
SLOW_KINDS: Final = frozenset({"ca-pem"})
FUZZED: Final = sorted(
    (name, param)
    for name, command in COMMANDS.items()
    for param, kind in command.inputs.items()
    if kind not in SLOW_KINDS
)
FUZZED_SLOW: Final = sorted(
    (name, param)
    for name, command in COMMANDS.items()
    for param, kind in command.inputs.items()
    if kind in SLOW_KINDS
)
OCCUPIED: Final = sorted(
    (name, param) for name, command in COMMANDS.items() for param in command.occupied
)


# ---------------------------------------------------------------------------------------------
# The world: one election and every party's files


@dataclass
class Outcome:
    code: int
    output: str
    crash: str | None


def invoke(argv: list[str], program: Callable[[], None] = evote.cli.run) -> Outcome:
    """Run ``evote ARGV`` as the installed entry point does; a traceback is caught, not
    raised, so that the judge can name it."""
    with CliRunner().isolation(env=ENV) as (stdout, stderr, _):
        saved = sys.argv
        sys.argv = ["evote", *argv]
        crash = None
        code = 0
        try:
            program()
        except SystemExit as exited:
            code = exited.code if isinstance(exited.code, int) else (1 if exited.code else 0)
        except KeyboardInterrupt:
            raise
        except BaseException:  # what the user would see as a traceback
            crash = traceback.format_exc()
            code = 1
        finally:
            sys.argv = saved
        output = stdout.getvalue().decode("utf-8", "replace")
        output += stderr.getvalue().decode("utf-8", "replace")
    return Outcome(code, output, crash)


class World:
    """The served election and a valid file of every kind (a plain class: Hypothesis prints
    it in a failing example)."""

    def __init__(self, root: Path, staged: StagedElection, servers: ElectionServers) -> None:
        self.root = root
        self.staged = staged
        self.servers = servers
        self.files: dict[str, Path] = {}
        self.tally: dict[str, Counter[str]] = {}

    def __repr__(self) -> str:
        return f"World({self.root})"

    @property
    def values(self) -> dict[str, str]:
        return {
            "$server": self.servers.public.address,
            "$control": self.servers.control.address,
            "$election": self.staged.manifest.election_id.hex(),
        }

    def served_state(self) -> tuple[int, tuple[str, ...], object]:
        board = self.servers.board
        return board.size, tuple(board.checkpoints()), self.servers.registry.counts()


def _write(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def _ok(argv: list[str]) -> str:
    outcome = invoke(argv)
    assert outcome.crash is None, (argv, outcome.crash)
    assert outcome.code == 0, (argv, outcome.output)
    return outcome.output


def _build(world: World) -> None:
    staged, servers, root = world.staged, world.servers, world.root
    files = world.files
    ca = setup_data_dir(staged.data_dir)
    files["ca-pem"] = staged.data_dir / "ca.pem"
    keys = {
        "seed-official": staged.officials[0],
        "seed-log": staged.log_key,
        "seed-authority": staged.authority,
        "seed-witness": dict(staged.witnesses)["witness-1.evote.test"],
    }
    for kind, key in keys.items():
        files[kind] = _write(root / "keys" / f"{kind}.key", key.seed().hex().encode() + b"\n")
    files["manifest-yaml"] = _write(
        root / "manifest.yaml", yaml.safe_dump(staged.manifest.to_mapping()).encode()
    )
    files["contests-yaml"] = _write(
        root / "contests.yaml", yaml.safe_dump({"contests": [REFERENCE_CONTESTS[0]]}).encode()
    )
    files["codes"] = _write(root / "codes.txt", "\n".join(CODES).encode() + b"\n")
    for kind, role in (
        ("role-official", Role.official()),
        ("role-authority", Role.credential_authority()),
        ("role-witness", Role.for_witness("witness-1.evote.test")),
    ):
        write_role_dir(root / kind, ca.issue_client(role))
        files[kind] = root / kind
    files["ca-dir"] = root / "ca-dir"
    files["ca-dir"].mkdir()
    for name in ("ca.pem", "ca.key"):
        shutil.copy(staged.data_dir / name, files["ca-dir"] / name)

    # Registration and the opening on the wire; a voter enrolls and votes with the commands.
    def control(role_kind: str, method: str, request: object) -> None:
        leaf = ca.issue_client(
            Role.credential_authority() if role_kind == "authority" else Role.official()
        )
        with grpc.secure_channel(
            servers.control.address,
            channel_credentials(servers.ca_pem, leaf),
            options=channel_options(),
        ) as channel:
            getattr(control_pb2_grpc.ControlStub(channel), method)(request, timeout=TIMEOUT)

    control("authority", "ImportRoll", control_pb2.ImportRollRequest(enrollment_codes=CODES))
    voter = root / "voter-dir"
    election = staged.manifest.election_id.hex()
    _ok(
        [
            *("enroll", "--voter-dir", str(voter), "--server", servers.public.address),
            *("--ca", str(files["ca-pem"]), "--election-id", election, "--code", CODES[0]),
            *("--kdf", "interactive"),
        ]
    )
    _ok(
        [
            *("registry", "close", "--control", servers.control.address),
            *("--server", servers.public.address, "--ca", str(files["ca-pem"])),
            *("--election-id", election, "--role-dir", str(files["role-authority"])),
            *("--key", str(files["seed-authority"])),
        ]
    )
    open_mark = staged.mark("open", staged.officials)
    control("official", "Post", control_pb2.PostRequest(entry=open_mark))
    _ok(["vote", "--voter-dir", str(voter), "--choice", "referendum=yes"])
    files["voter-dir"] = voter
    files["receipt"] = next((voter / "receipts").iterdir())
    files["open-entry"] = _write(root / "entries" / "open.entry", open_mark)
    files["close-entry"] = _write(
        root / "entries" / "close.entry", staged.mark("close", staged.officials[:1])
    )
    board = servers.board
    entries = board.entries(0, board.size)
    files["manifest-entry"] = _write(root / "entries" / "manifest.entry", entries[0])
    # A whole election's record (closed under the witnesses, tallied, decrypted, its result
    # published): the one every record-reading command must find intact.
    finished = stage(root / "finished", voters=2)
    services = Services(finished)
    try:
        services.witness_round()
        for credential, choice in zip(finished.credentials, (0, 1), strict=True):
            services.cast(ballot(finished, credential, choice))
        services.finish()
        export_record(services.servers.board, root / "record")
    finally:
        services.stop()
    files["record"] = root / "record"
    files["finished-manifest-yaml"] = _write(
        root / "finished-manifest.yaml", yaml.safe_dump(finished.manifest.to_mapping()).encode()
    )
    inbox = root / "inbox"
    for index, data in enumerate(entries):
        kind = Entry.decode(data).kind
        if kind.startswith("ceremony-"):
            _write(inbox / f"{index:06d}-{kind}.entry", data)
    files["inbox"] = inbox

    # An election data dir of its own for `evote serve` (never served: its address is bad).
    serve_data = stage_election(
        root / "data-dir", "Serve fuzz", [REFERENCE_CONTESTS[0]], voters=1, until="open"
    )
    setup_data_dir(serve_data.data_dir)
    Registry.in_dir(serve_data.data_dir, serve_data.manifest.election_id).close_db()
    files["data-dir"] = serve_data.data_dir
    files["seed-serve-log"] = _write(
        root / "keys" / "seed-serve-log.key", serve_data.log_key.seed().hex().encode() + b"\n"
    )

    # A guardian's key file, and a ceremony rehearsed with its transcript and record.
    files["guardian-key"] = root / "guardian.key"
    _ok(["guardian", "identity", "--key-file", str(files["guardian-key"]), "--kdf", "interactive"])
    script = Path(__file__).resolve().parents[2] / "ceremonies" / "key-generation-5-of-3.yaml"
    files["ceremony-script"] = _write(root / "ceremony.yaml", script.read_bytes())
    files["transcript"] = root / "transcript.json"
    files["ceremony-record"] = root / "ceremony-record"
    _ok(
        [
            *("ceremony", "run", str(files["ceremony-script"])),
            *("--transcript", str(files["transcript"]), "--record", str(files["ceremony-record"])),
        ]
    )
    assert set(files) == set(KINDS), set(KINDS) ^ set(files)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    root = tmp_path_factory.mktemp("fuzz-cli")
    staged = stage_election(
        root / "data", "CLI fuzz", [REFERENCE_CONTESTS[0]], voters=0, until="keys"
    )
    servers = serve_election_tls(staged.data_dir, staged.log_key, proof_workers=0)
    built = World(root, staged, servers)
    (root / "runs").mkdir()
    try:
        _build(built)
        yield built
    finally:
        servers.stop(None)
        runs = sum(sum(c.values()) for c in built.tally.values())
        refused = sum(c["refused"] for c in built.tally.values())
        print(
            f"\nfuzz cli: {runs} runs of {len(built.tally)} (command, file) pairs: {refused} "
            f"refused cleanly, {runs - refused} accepted a file that still says the same or is "
            "still valid plain text; 0 tracebacks, 0 files written by a refused run"
        )


# ---------------------------------------------------------------------------------------------
# Damage


@dataclass(frozen=True)
class Damage:
    """What is put where a valid input was: ``data`` bytes at ``inner`` (a file inside a
    directory input, ``""`` for the input itself), a directory (``data`` is ``None``), or
    nothing (``remove``)."""

    how: str
    data: bytes | None
    inner: str = ""
    remove: bool = False

    def __repr__(self) -> str:
        shown = "dir" if self.data is None else f"{len(self.data)} bytes {self.data[:40]!r}"
        return f"Damage({self.how}, {self.inner or '-'}, {shown})"


def _inner_files(directory: Path) -> list[str]:
    return sorted(str(p.relative_to(directory)) for p in directory.rglob("*") if p.is_file())


def damages(world: World, kind_name: str) -> st.SearchStrategy[Damage]:
    """The ways to damage the world's valid input of ``kind_name``."""
    kind = KINDS[kind_name]
    valid = world.files[kind_name]
    others = [
        path.read_bytes()
        for name, path in sorted(world.files.items())
        if name != kind_name and path.is_file()
    ]
    if not kind.directory:
        original = valid.read_bytes()
        return st.one_of(
            mutations([original]).map(lambda data: Damage("mutated", data)),
            pick(others).map(lambda data: Damage("another kind of file", data)),
            st.just(Damage("empty", b"")),
            st.just(Damage("huge", original + bytes(HUGE))),
            st.just(Damage("a directory", None)),
        )
    inside = _inner_files(valid)

    @st.composite
    def inner(draw: st.DrawFn) -> Damage:
        name = draw(st.sampled_from(inside))
        original = (valid / name).read_bytes()
        how = draw(st.sampled_from(("mutated", "another kind", "empty", "removed")))
        if how == "mutated":
            return Damage(f"{name} mutated", draw(mutations([original])), name)
        if how == "another kind":
            return Damage(f"{name} replaced by another file", draw(pick(others)), name)
        if how == "empty":
            return Damage(f"{name} emptied", b"", name)
        return Damage(f"{name} removed", b"", name, remove=True)

    return st.one_of(
        inner(),
        st.just(Damage("a file instead of the directory", b"not a directory\n")),
        st.just(Damage("an empty directory", None)),
    )


def occupants(world: World) -> st.SearchStrategy[Damage]:
    """What may already be where a command writes a new file: junk, a valid file of another
    kind, a directory."""
    others = [path.read_bytes() for path in world.files.values() if path.is_file()]
    return st.one_of(
        st.binary(max_size=64).map(lambda data: Damage("junk already there", data)),
        pick(others).map(lambda data: Damage("a valid file already there", data)),
        st.just(Damage("a directory already there", None)),
    )


def _copy(source: Path, target: Path) -> None:
    if source.is_dir():
        shutil.copytree(source, target)
    else:
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(source, target)


def _apply(damage: Damage, valid: Path, target: Path, kind: Kind) -> bool:
    """Put the damaged input at ``target``; whether it says the same as ``valid`` (by the
    kind's ``same`` for a file; for a file inside a directory, by the kind's ``inner_same``
    or the file's name)."""
    if damage.inner:
        kind_same = kind.inner_same.get(damage.inner, _same_by_name(damage.inner))
    else:
        kind_same = kind.same
    if damage.inner:
        _copy(valid, target)
        inner = target / damage.inner
        if damage.remove:
            inner.unlink()
            return False
        assert damage.data is not None
        original = inner.read_bytes()
        inner.write_bytes(damage.data)
        return kind_same(original, damage.data)
    target.parent.mkdir(parents=True, exist_ok=True)
    if damage.data is None:
        target.mkdir()
        return False
    target.write_bytes(damage.data)
    return valid.is_file() and kind_same(valid.read_bytes(), damage.data)


def _difference(valid: Path, damage: Damage) -> str:
    """Where a damaged file first differs from the valid one (for failure messages)."""
    source = valid / damage.inner if damage.inner else valid
    if damage.data is None or not source.is_file():
        return ""
    original = source.read_bytes()
    at = next(
        (i for i, (a, b) in enumerate(zip(original, damage.data, strict=False)) if a != b),
        min(len(original), len(damage.data)),
    )
    return (
        f" (first difference at byte {at} of {len(original)}: "
        f"{original[max(0, at - 8) : at + 8]!r} became {damage.data[max(0, at - 8) : at + 8]!r})"
    )


def snapshot(directory: Path) -> dict[str, str]:
    """Every file and directory under ``directory``: a hash of each file's bytes."""
    found = {}
    for path in sorted(directory.rglob("*")):
        key = str(path.relative_to(directory))
        found[key] = "dir" if path.is_dir() else hashlib.sha256(path.read_bytes()).hexdigest()
    return found


# ---------------------------------------------------------------------------------------------
# One run, judged


def _argv(world: World, command: Command, paths: Mapping[str, Path], run: Path) -> list[str]:
    argv = []
    for token in command.argv:
        if token.startswith("{") and token.endswith("}"):
            argv.append(str(paths[token[1:-1]]))
        elif token.startswith("@"):
            extra = run / "extra" / token[1:] / world.files[token[1:]].name
            _copy(world.files[token[1:]], extra)
            argv.append(str(extra))
        else:
            argv.append(world.values.get(token, token))
    return argv


def _error_line(output: str) -> str | None:
    for line in output.splitlines():
        stripped = line.strip().lstrip("│ ").strip()
        if stripped.startswith(("Error:", "error:", "FAILED", "NOT VERIFIED:")):
            return stripped
    return None


def judge(
    world: World,
    name: str,
    param: str,
    damage: Damage,
    *,
    occupied: bool = False,
    program: Callable[[], None] = evote.cli.run,
) -> str:
    """Run ``name`` with ``param``'s input damaged; check the outcome; return how it went."""
    command = COMMANDS[name]
    run = Path(tempfile.mkdtemp(prefix="run-", dir=world.root / "runs"))
    paths: dict[str, Path] = {}
    same = False
    for other, kind_name in command.inputs.items():
        valid = world.files[kind_name]
        target = run / "in" / other / valid.name
        if other == param and not occupied:
            same = _apply(damage, valid, target, KINDS[kind_name])
        else:
            _copy(valid, target)
        paths[other] = target
    for other in command.outputs | command.occupied:
        paths[other] = run / "out" / other / "target"
        paths[other].parent.mkdir(parents=True)
    if occupied:
        target = paths[param]
        if damage.data is None:
            target.mkdir()
        else:
            target.write_bytes(damage.data)
    argv = _argv(world, command, paths, run)
    before, served = snapshot(run), world.served_state()
    outcome = invoke(argv, program)
    shown = f"evote {name} with {param} {damage!r}"
    if param in command.inputs:
        shown += _difference(world.files[command.inputs[param]], damage)
    assert outcome.crash is None, f"{shown}: a traceback\n{outcome.crash}\n{outcome.output}"
    kind = KINDS[command.inputs[param]] if param in command.inputs else None
    tally = world.tally.setdefault(f"{name} {param}", Counter())
    if same or (outcome.code == 0 and kind is not None and kind.free):
        tally["accepted"] += 1  # it still says the same, or it is still valid plain text
        shutil.rmtree(run)
        return "accepted"
    assert outcome.code in (1, 2), f"{shown}: exit status {outcome.code}\n{outcome.output}"
    line = _error_line(outcome.output)
    assert line is not None, f"{shown}: no error line in\n{outcome.output}"
    problem = unreadable(line)
    assert problem is None, f"{shown}: the error {line[:300]!r} is unclear: {problem}"
    assert "Traceback (most recent call last)" not in outcome.output, shown
    after = snapshot(run)
    changed = sorted(k for k in before.keys() | after.keys() if before.get(k) != after.get(k))
    assert not changed, f"{shown}: refused, but wrote {changed}\n{outcome.output}"
    assert world.served_state() == served, f"{shown}: refused, but the election changed"
    tally["refused"] += 1
    shutil.rmtree(run)
    return "refused"


# ---------------------------------------------------------------------------------------------
# The tests


def test_every_file_parameter_is_fuzzed() -> None:
    """Each command's file parameters are in :data:`COMMANDS`: inputs fuzzed, outputs
    checked for being left alone, or read by code fuzzed through another command."""
    commands = click_commands()
    missing = []
    for name, command in sorted(commands.items()):
        params = file_parameters(command)
        if not params:
            continue
        planned = COMMANDS.get(name)
        if planned is None:
            missing.append(f"{name}: {', '.join(params)}")
            continue
        known = {*planned.inputs, *planned.outputs, *planned.occupied, *planned.covered}
        missing.extend(f"{name}: {param}" for param in params if param not in known)
    assert not missing, f"fuzz these command files (add them to COMMANDS): {missing}"
    assert set(COMMANDS) <= set(commands), set(COMMANDS) - set(commands)
    lines = []
    for name, planned in sorted(COMMANDS.items()):
        params = file_parameters(commands[name])
        assert set(planned.inputs) | planned.outputs | planned.occupied <= set(params), name
        reads = ", ".join(f"{param} ({kind})" for param, kind in planned.inputs.items())
        writes = ", ".join(sorted(planned.outputs | planned.occupied))
        line = f"  evote {name}: reads {reads or '-'}; writes {writes or '-'}"
        if planned.covered:
            line += f"; also reads {', '.join(planned.covered)} (fuzzed with another command)"
        lines.append(line)
    print(f"\n{len(COMMANDS)} commands read or write files:", *lines, sep="\n")


def test_the_valid_files_are_accepted(world: World, runs: Path) -> None:
    """The baseline: with every input valid, the commands that can succeed here do (so a
    refusal of a damaged file is the damage's doing)."""
    for name in (
        "manifest check",
        "record show",
        "verify",
        "guardian check-result",
        "ceremony verify-transcript",
        "post",
    ):
        command = COMMANDS[name]
        run = Path(tempfile.mkdtemp(prefix="valid-", dir=world.root / "runs"))
        paths = {}
        for param, kind_name in command.inputs.items():
            valid = world.files[kind_name]
            paths[param] = run / param / valid.name
            _copy(valid, paths[param])
        outcome = invoke(_argv(world, command, paths, run))
        assert outcome.crash is None, (name, outcome.crash)
        assert outcome.code == 0, (name, outcome.output)


EXAMPLES = size(3, 60)
_FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@pytest.fixture(scope="module")
def runs(world: World) -> Path:
    return world.root / "runs"


def _damaged(world: World, name: str, param: str, data: st.DataObject) -> None:
    kind_name = COMMANDS[name].inputs[param]
    damage = data.draw(damages(world, kind_name), label="damage")
    judge(world, name, param, damage)


@pytest.mark.parametrize(("name", "param"), FUZZED)
@_FUZZ
@given(data=st.data())
def test_damaged_input_files(
    world: World, runs: Path, name: str, param: str, data: st.DataObject
) -> None:
    """A damaged input file: refused with a clear error, no traceback, nothing written."""
    _damaged(world, name, param, data)


@pytest.mark.parametrize(("name", "param"), FUZZED_SLOW)
@settings(_FUZZ, max_examples=size(2, 30))
@given(data=st.data())
def test_damaged_ca_files(
    world: World, runs: Path, name: str, param: str, data: st.DataObject
) -> None:
    """A damaged CA certificate: the same, for each code that reads one."""
    _damaged(world, name, param, data)


@pytest.mark.parametrize(
    "damage",
    [
        Damage("an empty directory", None),
        Damage("ca.pem removed", b"", "ca.pem", remove=True),
        Damage("board.sqlite3 removed", b"", "board.sqlite3", remove=True),
        Damage("board.sqlite3 emptied", b"", "board.sqlite3"),
    ],
    ids=["empty", "no-ca-pem", "no-board", "empty-board"],
)
def test_serve_writes_nothing_into_a_data_dir_it_refuses(
    world: World, runs: Path, damage: Damage
) -> None:
    """A data dir that was never set up, or lost its CA certificate or its board, is refused
    and left as it is (a new CA would lock every issued role certificate out)."""
    judge(world, "serve", "data_dir", damage)


@pytest.mark.parametrize(("name", "param"), OCCUPIED)
@_FUZZ
@given(data=st.data())
def test_an_occupied_output_is_never_overwritten(
    world: World, runs: Path, name: str, param: str, data: st.DataObject
) -> None:
    """Where a command makes a new key file, whatever is already there is left as it is."""
    judge(world, name, param, data.draw(occupants(world), label="occupant"), occupied=True)


def test_the_judge_catches_a_careless_command(world: World, runs: Path) -> None:
    """Negative controls: a traceback, a refusal that leaves a file behind, a success on a
    tampered file and an error that dumps bytes each fail :func:`judge`."""

    @click.command()
    @click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
    @click.option("--out", type=click.Path(path_type=Path))
    def careless(path: Path, out: Path) -> None:
        data = path.read_bytes()
        if data.startswith(b"{"):
            out.write_bytes(b"half written")
            raise click.ClickException("refused after writing")
        if data.startswith(b"\x00"):
            raise click.ClickException(f"bad bytes {data[:200]!r}")
        if data.startswith(b"-"):
            return  # accepts anything
        data.decode("ascii")  # UnicodeDecodeError: a traceback

    def program() -> None:
        careless.main(sys.argv[1:], standalone_mode=True)

    COMMANDS["careless"] = Command(
        ("{path}", "--out", "{out}"), {"path": "receipt"}, frozenset({"out"})
    )
    try:
        cases = {
            "a traceback": Damage("mutated", b"\xff\xfe"),
            "refused, but wrote": Damage("mutated", b"{not json"),
            "is unclear": Damage("mutated", b"\x00" + bytes(range(1, 200))),
            "exit status 0": Damage("mutated", b"-----"),
        }
        for expected, damage in cases.items():
            with pytest.raises(AssertionError, match=expected):
                judge(world, "careless", "path", damage, program=program)
    finally:
        del COMMANDS["careless"]
        world.tally.pop("careless path", None)


#: The DER of the named curve P-256 (OID 1.2.840.10045.3.1.7), and the same arcs after one
#: flipped bit (0.26.840.10045.3.1.7): a curve no library knows.
P256 = bytes.fromhex("06082a8648ce3d030107")
UNKNOWN_CURVE = bytes.fromhex("06081a8648ce3d030107")


def _with_unknown_curve(data: bytes) -> bytes:
    """A PEM certificate or PKCS#8 key whose P-256 OID became :data:`UNKNOWN_CURVE`."""
    blocks = _split_pem(data)
    assert len(blocks) == 1
    lines = blocks[0].decode("ascii").strip().splitlines()
    der = base64.b64decode("".join(lines[1:-1]))
    assert der.count(P256) == 1
    body = base64.encodebytes(der.replace(P256, UNKNOWN_CURVE)).decode("ascii")
    return f"{lines[0]}\n{body}{lines[-1]}\n".encode("ascii")


@pytest.mark.parametrize(
    ("name", "param", "kind_name", "inner"),
    [
        ("registry close", "role_dir", "role-authority", "cert.pem"),
        ("registry close", "role_dir", "role-authority", "key.pem"),
        ("post", "role_dir", "role-official", "ca.pem"),
        ("ca issue", "data_dir", "ca-dir", "ca.pem"),
        ("ca issue", "data_dir", "ca-dir", "ca.key"),
    ],
)
def test_a_key_or_certificate_with_an_unknown_curve_is_refused(
    world: World, runs: Path, name: str, param: str, kind_name: str, inner: str
) -> None:
    """A role directory's or the CA's key or certificate naming an unknown curve (which
    cryptography reads only when the key is used): a clear refusal, no traceback."""
    damaged = _with_unknown_curve((world.files[kind_name] / inner).read_bytes())
    damage = Damage(f"{inner} names an unknown curve", damaged, inner)
    assert judge(world, name, param, damage) == "refused"
