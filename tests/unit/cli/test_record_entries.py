"""`evote record entries`: a record's entries as files, the way a guardian's inbox takes the
other guardians' ceremony entries from an observer's mirror of the board."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from evote.ceremony.offline import CEREMONY_KINDS, LATER_KINDS
from evote.cli import main
from evote.record import kinds
from tests.unit.verify import builder

E = builder.election()


@pytest.fixture(scope="module")
def record(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return builder.write_record(E.entries, tmp_path_factory.mktemp("entries") / "record")


def entries(*arguments: str, ok: bool = True) -> str:
    result = CliRunner().invoke(main, ["record", "entries", *arguments])
    assert (result.exit_code == 0) == ok, result.output
    return result.output


def test_every_entry_as_a_file_of_its_stored_bytes(record: Path, tmp_path: Path) -> None:
    out = tmp_path / "all"
    said = entries(str(record), "--out", str(out))
    assert f"{len(E.entries)} of the record's {len(E.entries)} entries" in said
    files = sorted(out.iterdir())
    assert [path.name for path in files] == [
        f"{index:06d}-{entry.kind}.entry" for index, entry in enumerate(E.entries)
    ]
    assert [path.read_bytes() for path in files] == [entry.encoded for entry in E.entries]


def test_the_kinds_asked_for_and_what_guardians_sign(record: Path, tmp_path: Path) -> None:
    entries(str(record), "--out", str(tmp_path / "some"), "--kind", kinds.CLOSE,
            "--kind", kinds.MANIFEST)  # fmt: skip
    assert sorted(path.name for path in (tmp_path / "some").iterdir()) == [
        "000000-manifest.entry",
        f"{E.at(kinds.CLOSE):06d}-close.entry",
    ]
    entries(str(record), "--out", str(tmp_path / "inbox"), "--guardians")
    guardians = {*CEREMONY_KINDS, *LATER_KINDS}
    assert sorted(path.name for path in (tmp_path / "inbox").iterdir()) == [
        f"{index:06d}-{entry.kind}.entry"
        for index, entry in enumerate(E.entries)
        if entry.kind in guardians
    ]


def test_writing_again_keeps_what_is_there_and_another_entry_stops_it(
    record: Path, tmp_path: Path
) -> None:
    out = tmp_path / "inbox"
    entries(str(record), "--out", str(out), "--kind", kinds.BALLOT)
    assert "(0 written now)" in entries(str(record), "--out", str(out), "--kind", kinds.BALLOT)
    foreign = out / f"{E.at(kinds.CLOSE):06d}-close.entry"
    foreign.write_bytes(b"another board's entry")
    said = entries(str(record), "--out", str(out), ok=False)
    assert "holds another entry" in said
    assert not (out / "000000-manifest.entry").exists()
    assert foreign.read_bytes() == b"another board's entry"


def test_a_record_that_does_not_load_writes_nothing(tmp_path: Path) -> None:
    said = entries(str(tmp_path), "--out", str(tmp_path / "out"), ok=False)
    assert "cannot read" in said
    assert not (tmp_path / "out").exists()


def test_an_unknown_kind_is_a_usage_error(record: Path, tmp_path: Path) -> None:
    result = CliRunner().invoke(
        main, ["record", "entries", str(record), "--out", str(tmp_path), "--kind", "vote"]
    )
    assert result.exit_code == 2
    assert "'vote' is not one of" in result.output
