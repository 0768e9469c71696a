"""The data dir ``evote serve`` is given: a dir it refuses is left byte for byte as it was
(a new CA would lock out every role certificate), and the credential authority's client signs
only a list it checked."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from evote.board.entry import Entry
from evote.client.channels import CredentialListRefused, RegistrationStatus, credentials_entry
from evote.crypto.signing import SigningKey
from evote.errors import BoardError, InvalidInput, StoreCorrupted
from evote.mock.defaults import REFERENCE_CONTESTS
from evote.mock.staging import StagedElection, stage_election
from evote.record import kinds
from evote.record.kinds import CredentialList
from evote.record.registry import REGISTRY_FILE, Registry
from evote.services.server import (
    BOARD_FILE,
    CA_CERT_FILE,
    CA_KEY_FILE,
    SERVER_CERT_FILE,
    serve_election_tls,
    setup_data_dir,
)


def snapshot(directory: Path) -> dict[str, str]:
    """Every file under ``directory`` by its SHA-256."""
    return {
        str(path.relative_to(directory)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(directory.rglob("*"))
        if path.is_file()
    }


@pytest.fixture(scope="module")
def staged(tmp_path_factory: pytest.TempPathFactory) -> StagedElection:
    directory = tmp_path_factory.mktemp("data-dir") / "election"
    election = stage_election(
        directory, "Data dir test", [REFERENCE_CONTESTS[0]], voters=2, until="credentials"
    )
    setup_data_dir(election.data_dir)
    return election


@pytest.mark.parametrize("kept", [CA_CERT_FILE, CA_KEY_FILE])
def test_half_a_ca_is_refused_and_left_alone(tmp_path: Path, kept: str) -> None:
    setup_data_dir(tmp_path)
    lost = CA_KEY_FILE if kept == CA_CERT_FILE else CA_CERT_FILE
    (tmp_path / lost).unlink()
    before = snapshot(tmp_path)
    with pytest.raises(InvalidInput, match=f"restore {lost} from a backup"):
        setup_data_dir(tmp_path)
    assert snapshot(tmp_path) == before


def test_setting_up_twice_keeps_the_ca(tmp_path: Path) -> None:
    """The control: a whole CA is loaded, not made again."""
    setup_data_dir(tmp_path)
    ca = (tmp_path / CA_CERT_FILE).read_bytes()
    setup_data_dir(tmp_path)
    assert (tmp_path / CA_CERT_FILE).read_bytes() == ca


@pytest.mark.parametrize("board", ["missing", "empty"])
def test_serve_refuses_a_dir_without_a_board_and_writes_nothing(tmp_path: Path, board: str) -> None:
    if board == "empty":
        (tmp_path / BOARD_FILE).write_bytes(b"")
    before = snapshot(tmp_path)
    with pytest.raises(BoardError, match="refusing to serve"):
        serve_election_tls(tmp_path, SigningKey.generate(), proof_workers=0)
    assert snapshot(tmp_path) == before
    assert not (tmp_path / CA_KEY_FILE).exists()


def test_serve_makes_no_registry_once_the_list_is_on_the_board(
    staged: StagedElection, tmp_path: Path
) -> None:
    """With the credential list on the board and no registry file, the election is served
    without a registry (an empty one would claim nobody enrolled); its file is not made."""
    assert not (staged.data_dir / REGISTRY_FILE).exists()
    servers = serve_election_tls(staged.data_dir, staged.log_key, proof_workers=0)
    try:
        assert not (staged.data_dir / REGISTRY_FILE).exists()
        with pytest.raises(InvalidInput, match="without a registry"):
            servers.registry.counts()
    finally:
        servers.stop(None)
    assert (staged.data_dir / SERVER_CERT_FILE).exists()


def test_a_damaged_registry_is_still_refused(staged: StagedElection, tmp_path: Path) -> None:
    """The control for the above: a registry file that is there but not SQLite is refused, not
    replaced."""
    registry = staged.data_dir / REGISTRY_FILE
    registry.write_bytes(b"not a database, but not empty either" * 100)
    try:
        with pytest.raises(StoreCorrupted, match="restore it from a backup"):
            serve_election_tls(staged.data_dir, staged.log_key, proof_workers=0)
        assert registry.read_bytes().startswith(b"not a database")
    finally:
        registry.unlink()


def closed_status(keys: list[SigningKey], *, enrolled: int | None = None) -> RegistrationStatus:
    listed = CredentialList(tuple(sorted((k.verify_key for k in keys), key=lambda v: v.encode())))
    count = len(keys) if enrolled is None else enrolled
    return RegistrationStatus(len(keys) + 1, count, True, listed.to_tlv())


def test_the_authority_signs_the_list_it_checked(staged: StagedElection) -> None:
    voters = [SigningKey.generate() for _ in range(3)]
    closed = closed_status(voters)
    entry = credentials_entry(closed, staged.manifest, staged.authority)
    assert entry.kind == kinds.CREDENTIALS
    assert entry.signers == (staged.manifest.credential_authority,)
    assert entry.body == closed.credential_list
    entry.verify_signatures()
    # Deterministic: a retry after a lost answer posts the very same bytes.
    again = credentials_entry(closed, staged.manifest, staged.authority)
    assert Entry.decode(again.encoded).encoded == entry.encoded


@pytest.mark.parametrize(
    ("case", "message"),
    [
        ("wrong key", "not the credential authority"),
        ("still open", "still open"),
        ("count", "reports 4 enrolled"),
        ("unsorted", "does not parse"),
        ("garbage", "does not parse"),
    ],
)
def test_the_authority_refuses_a_list_it_cannot_vouch_for(
    staged: StagedElection, case: str, message: str
) -> None:
    voters = [SigningKey.generate() for _ in range(3)]
    closed = closed_status(voters)
    key = staged.authority
    if case == "wrong key":
        key = SigningKey.generate()
    elif case == "still open":
        closed = RegistrationStatus(4, 3, False, closed.credential_list)
    elif case == "count":
        closed = closed_status(voters, enrolled=4)
    elif case == "unsorted":
        ordered = sorted((k.verify_key for k in voters), key=lambda v: v.encode())
        closed = RegistrationStatus(4, 3, True, CredentialList(tuple(reversed(ordered))).to_tlv())
    else:
        closed = RegistrationStatus(4, 3, True, b"\x00not a list")
    with pytest.raises(CredentialListRefused, match=message):
        credentials_entry(closed, staged.manifest, key)


def test_a_registry_left_over_is_opened(staged: StagedElection, tmp_path: Path) -> None:
    """The control: a registry file that is there is served, whatever the board holds."""
    registry = Registry.in_dir(staged.data_dir, staged.manifest.election_id)
    registry.close_db()
    try:
        servers = serve_election_tls(staged.data_dir, staged.log_key, proof_workers=0)
        try:
            assert servers.registry.counts().eligible == 0
        finally:
            servers.stop(None)
    finally:
        for path in staged.data_dir.glob(f"{REGISTRY_FILE}*"):
            path.unlink()
