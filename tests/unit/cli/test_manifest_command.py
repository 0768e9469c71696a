"""`evote manifest check`: officials' YAML in, the canonical election id out."""

from __future__ import annotations

from pathlib import Path

import yaml
from click.testing import CliRunner

from evote.cli import main
from evote.crypto.signing import SigningKey
from evote.mock.defaults import PRESETS
from evote.mock.election import mock_manifest


def write_manifest(path: Path) -> bytes:
    keys = [SigningKey.generate() for _ in range(5)]
    manifest = mock_manifest(
        "Check me",
        PRESETS["community"]["contests"],
        ballot_styles=PRESETS["community"]["ballot_styles"],
        officials=keys[:1],
        official_quorum=1,
        authority=keys[1],
        guardians=keys[2:3],
        guardian_quorum=1,
        log_key=keys[3],
        witnesses=[("witness.test", keys[4])],
        witness_quorum=1,
    )
    path.write_text(yaml.safe_dump(manifest.to_mapping()), encoding="utf-8")
    return manifest.election_id


def test_check_prints_the_election_id_of_the_canonical_form(tmp_path: Path) -> None:
    election_id = write_manifest(tmp_path / "manifest.yaml")
    result = CliRunner().invoke(main, ["manifest", "check", str(tmp_path / "manifest.yaml")])
    assert result.exit_code == 0, result.output
    assert f"election id {election_id.hex()}" in result.stdout
    assert "open_list" in result.stdout


def test_check_refuses_an_invalid_manifest_with_a_clear_message(tmp_path: Path) -> None:
    write_manifest(tmp_path / "manifest.yaml")
    document = yaml.safe_load((tmp_path / "manifest.yaml").read_text(encoding="utf-8"))
    document["guardians"]["quorum"] = 9
    (tmp_path / "bad.yaml").write_text(yaml.safe_dump(document), encoding="utf-8")
    result = CliRunner().invoke(main, ["manifest", "check", str(tmp_path / "bad.yaml")])
    assert result.exit_code != 0
    assert "guardians: quorum 9 of 1 is impossible" in str(result.exception)


def test_merge_signatures_writes_one_entry_with_every_signature(tmp_path: Path) -> None:
    from evote.board.entry import Entry

    keys = [SigningKey.generate() for _ in range(3)]
    for number, key in enumerate(keys):
        copy = Entry.create("joint-key", bytes(32), b"the same body", [key])
        (tmp_path / f"copy-{number}.entry").write_bytes(copy.encoded)
    copies = [str(tmp_path / f"copy-{n}.entry") for n in range(3)]
    out = tmp_path / "joint-key.entry"
    result = CliRunner().invoke(main, ["ceremony", "merge-signatures", "--out", str(out), *copies])
    assert result.exit_code == 0, result.output
    assert set(Entry.decode(out.read_bytes()).signers) == {key.verify_key for key in keys}
    again = CliRunner().invoke(main, ["ceremony", "merge-signatures", "--out", str(out), *copies])
    assert again.exit_code != 0
    assert "exists" in str(again.exception)
