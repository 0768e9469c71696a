"""Setting up and serving an election from the command line, as officials do it: keys
(`evote key new`), the signed manifest (`evote manifest sign`, copies merged), the data dir
(`evote setup`), role certificates (`evote ca issue`), then `evote serve` in its own process;
a witness that follows the board hands its cosignature in on the control port."""

from __future__ import annotations

import contextlib
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import grpc
import pytest
import yaml
from click.testing import CliRunner

from evote.board.checkpoint import cosign, verify_witnessed
from evote.board.entry import Entry
from evote.board.note import parse_note
from evote.cli import main
from evote.client.channels import (
    BallotBoxClient,
    BoardClient,
    ControlClient,
    load_role,
    secure_channel,
)
from evote.crypto.signing import SigningKey, VerifyKey
from evote.election.manifest import Manifest
from evote.errors import InvalidInput
from evote.mock.defaults import REFERENCE_CONTESTS
from evote.mock.election import mock_manifest
from evote.record import kinds
from evote.services.board import checkpoint_size
from evote.services.ca import ROLE_KEY_FILE
from evote.services.server import BOARD_FILE
from evote.services.setup import create_election_dir

WITNESS = "witness-1.evote.test"


def invoke(*arguments: str, ok: bool = True) -> str:
    result = CliRunner().invoke(main, list(arguments))
    if ok:
        assert result.exit_code == 0, result.output
    else:
        assert result.exit_code != 0, result.output
    # `evote` prints an evote error as "error: ..." (evote.cli.run); the runner keeps it.
    return result.output + ("" if result.exception is None else str(result.exception))


def new_key(path: Path) -> VerifyKey:
    return VerifyKey.decode(bytes.fromhex(invoke("key", "new", str(path)).strip()))


@dataclass
class Officials:
    directory: Path
    manifest: Manifest
    manifest_file: Path

    def key(self, name: str) -> Path:
        return self.directory / f"{name}.key"

    def sign(self, out: str, *keys: str, ok: bool = True) -> tuple[Path, str]:
        """Sign as the officials holding ``keys``: the entry file and what the command said."""
        arguments = ["manifest", "sign", str(self.manifest_file)]
        arguments += ["--out", str(self.directory / out)]
        for key in keys:
            arguments += ["--key", str(self.key(key))]
        return self.directory / out, invoke(*arguments, ok=ok)


@pytest.fixture
def officials(tmp_path: Path) -> Officials:
    for name in ("o1", "o2", "log", "witness"):
        new_key(tmp_path / f"{name}.key")
    key = {name: read_key(tmp_path / f"{name}.key") for name in ("o1", "o2", "log", "witness")}
    manifest = mock_manifest(
        "Setup test",
        [REFERENCE_CONTESTS[0]],
        officials=(key["o1"], key["o2"]),
        official_quorum=2,
        authority=SigningKey.generate(),
        guardians=(SigningKey.generate(),),
        guardian_quorum=1,
        log_key=key["log"],
        witnesses=((WITNESS, key["witness"]),),
        witness_quorum=1,
    )
    manifest_file = tmp_path / "manifest.yaml"
    manifest_file.write_text(yaml.safe_dump(manifest.to_mapping()), encoding="utf-8")
    return Officials(tmp_path, manifest, manifest_file)


def test_key_new_writes_a_private_seed_and_never_overwrites(tmp_path: Path) -> None:
    path = tmp_path / "official.key"
    public = new_key(path)
    assert path.stat().st_mode & 0o777 == 0o600
    assert SigningKey(bytes.fromhex(path.read_text().strip())).verify_key == public
    before = path.read_bytes()
    assert "exists" in invoke("key", "new", str(path), ok=False)
    assert path.read_bytes() == before


def test_a_manifest_signed_apart_sets_up_a_data_dir_once(officials: Officials) -> None:
    merged = officials.directory / "manifest.entry"
    invoke(
        "ceremony", "merge-signatures", "--out", str(merged),
        str(officials.sign("o1.entry", "o1")[0]), str(officials.sign("o2.entry", "o2")[0]),
    )  # fmt: skip
    data_dir = officials.directory / "data"
    setup = ["setup", "--data-dir", str(data_dir), "--manifest-entry", str(merged)]
    setup += ["--log-key", str(officials.key("log"))]
    output = invoke(*setup)
    assert officials.manifest.election_id.hex() in output
    assert (data_dir / "ca.pem").exists()
    assert (data_dir / "ca.key").stat().st_mode & 0o777 == 0o600
    board_bytes = (data_dir / BOARD_FILE).read_bytes()
    invoke(*setup)  # repeating the same setup changes nothing
    assert (data_dir / BOARD_FILE).read_bytes() == board_bytes


@pytest.mark.parametrize(
    ("keys", "log", "message"),
    [
        (("o1",), "log", "needs 2 officials' signatures, has 1"),
        (("o1", "o2"), "o1", "not the one the manifest names"),
    ],
)
def test_setup_refuses_and_writes_nothing(
    officials: Officials, keys: tuple[str, ...], log: str, message: str
) -> None:
    entry, _ = officials.sign("manifest.entry", *keys)
    data_dir = officials.directory / "data"
    with pytest.raises(InvalidInput, match=message):
        create_election_dir(data_dir, entry.read_bytes(), read_key(officials.key(log)))
    assert not (data_dir / BOARD_FILE).exists()


def test_setup_refuses_another_elections_data_dir(officials: Officials, tmp_path: Path) -> None:
    entry, _ = officials.sign("manifest.entry", "o1", "o2")
    data_dir = tmp_path / "data"
    create_election_dir(data_dir, entry.read_bytes(), read_key(officials.key("log")))
    other = Entry.decode(entry.read_bytes())
    manifest = Manifest.from_mapping({**officials.manifest.to_mapping(), "name": "Another"})
    changed = Entry.create(
        kinds.MANIFEST,
        manifest.election_id,
        manifest.to_tlv(),
        [read_key(officials.key("o1")), read_key(officials.key("o2"))],
    )
    assert other.election_id != changed.election_id
    with pytest.raises(InvalidInput, match="another election"):
        create_election_dir(data_dir, changed.encoded, read_key(officials.key("log")))


def test_a_non_official_cannot_sign_the_manifest(officials: Officials) -> None:
    _, output = officials.sign("manifest.entry", "o1", "witness", ok=False)
    assert "not one of the manifest's officials' keys" in output
    assert not (officials.directory / "manifest.entry").exists()


def read_key(path: Path) -> SigningKey:
    return SigningKey(bytes.fromhex(path.read_text().strip()))


@dataclass
class Served:
    officials: Officials
    data_dir: Path
    public: str
    control: str


@contextlib.contextmanager
def serving(officials: Officials, *options: str) -> Iterator[Served]:
    """`evote setup`, then `evote serve` (with ``options``) in its own process until the end."""
    entry, _ = officials.sign("manifest.entry", "o1", "o2")
    data_dir = officials.directory / "data"
    invoke("setup", "--data-dir", str(data_dir), "--manifest-entry", str(entry),
           "--log-key", str(officials.key("log")))  # fmt: skip
    command = [sys.executable, "-m", "evote", "serve", "--data-dir", str(data_dir)]
    command += ["--log-key", str(officials.key("log"))]
    command += ["--public", "127.0.0.1:0", "--control", "127.0.0.1:0", *options]
    server = subprocess.Popen(command, stderr=subprocess.PIPE, text=True)
    try:
        assert server.stderr is not None
        public = server.stderr.readline().split()
        control = server.stderr.readline().split()
        assert (public[0], control[0]) == ("public", "control")
        yield Served(officials, data_dir, public[1], control[1])
        server.terminate()
        assert server.wait(timeout=15) == 0
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()


@pytest.fixture
def served(officials: Officials) -> Iterator[Served]:
    with serving(officials) as running:
        yield running


def role_client(served: Served, role: str, name: str) -> ControlClient:
    out = served.officials.directory / name
    invoke("ca", "issue", "--data-dir", str(served.data_dir), "--role", role, "--out", str(out))
    assert (out / ROLE_KEY_FILE).stat().st_mode & 0o777 == 0o600
    ca_pem = (served.data_dir / "ca.pem").read_bytes()
    return ControlClient(secure_channel(served.control, ca_pem, load_role(out), retry=False))


def test_evote_serve_serves_the_set_up_election_and_takes_a_witness_cosignature(
    served: Served,
) -> None:
    manifest = served.officials.manifest
    ca_pem = (served.data_dir / "ca.pem").read_bytes()
    with BoardClient(secure_channel(served.public, ca_pem)) as board:
        entries = list(board.all_entries())
        assert [Entry.decode(data).kind for data in entries] == [kinds.MANIFEST]
        latest = board.checkpoint()
    size = checkpoint_size(latest)
    witness_key = read_key(served.officials.key("witness"))
    line = cosign(parse_note(latest), WITNESS, witness_key, 1_700_000_000).line().rstrip("\n")
    with role_client(served, f"witness:{WITNESS}", "witness-role") as witness:
        cosigned = witness.add_cosignature(size, line)
        assert witness.add_cosignature(size, line) == cosigned  # a retry changes nothing
        with pytest.raises(grpc.RpcError) as refused:
            witness.add_cosignature(size, line.replace(line[-8:], "AAAAAAA="))
        assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        with pytest.raises(grpc.RpcError) as missing:
            witness.add_cosignature(size + 5, line)
        assert missing.value.code() == grpc.StatusCode.NOT_FOUND
    verify_witnessed(
        cosigned, manifest.log_origin, manifest.log_key, dict(manifest.witness_keys()), 1
    )
    with BoardClient(secure_channel(served.public, ca_pem)) as board:
        assert board.checkpoint() == cosigned


def test_only_that_witness_may_hand_in_its_cosignature(served: Served) -> None:
    ca_pem = (served.data_dir / "ca.pem").read_bytes()
    with BoardClient(secure_channel(served.public, ca_pem)) as board:
        latest = board.checkpoint()
    witness_key = read_key(served.officials.key("witness"))
    line = cosign(parse_note(latest), WITNESS, witness_key, 1_700_000_000).line().rstrip("\n")
    for role, name in (("official", "official-role"), ("witness:other.evote.test", "other")):
        with role_client(served, role, name) as client, pytest.raises(grpc.RpcError) as denied:
            client.add_cosignature(checkpoint_size(latest), line)
        assert denied.value.code() == grpc.StatusCode.PERMISSION_DENIED


def test_the_public_port_can_offer_only_the_board(officials: Officials) -> None:
    with serving(officials, "--service", "board", "--proof-workers", "0") as only_board:
        ca_pem = (only_board.data_dir / "ca.pem").read_bytes()
        channel = secure_channel(only_board.public, ca_pem)
        with BoardClient(channel) as board:
            assert len(list(board.all_entries())) == 1
            with pytest.raises(grpc.RpcError) as missing:
                BallotBoxClient(board.channel).cast(b"not served here")
            assert missing.value.code() == grpc.StatusCode.UNIMPLEMENTED
    assert "is not one of" in invoke(
        "serve", "--data-dir", str(only_board.data_dir), "--log-key",
        str(officials.key("log")), "--service", "tally", ok=False,
    )  # fmt: skip
