"""`evote guardian`: a whole key ceremony and decryption driven only through the command line.

Three guardians (quorum 2) each keep a passphrase-sealed key file and exchange entry files
through per-round directories, as an air-gapped laptop and a USB stick would: each round's
inbox holds only the files of the round before. The test plays the officials and the board
around them (manifest, joint key with every signature, credentials, ballots, close, tally,
result), so the record the guardians answer is a real one, and the verifier passes it at the
end. Then every refusal: wrong passphrase, wrong election, out-of-order steps, an entry from a
non-guardian, decrypting before the close, a tally that is not the real one, a second tally.
What scheme B's guardians do alike is shared in tests/integration/guardian_cli_steps.py.
"""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from evote.board.entry import Entry
from evote.ceremony.messages import Commit
from evote.cli import main
from evote.crypto import dlog, threshold
from evote.crypto.signing import SigningKey
from evote.election.ballot import EncryptedBallot
from evote.election.context import ElectionContext
from evote.election.encrypt import PlaintextBallot, encrypt_ballot
from evote.election.manifest import Manifest
from evote.election.outcome import outcome_lines
from evote.election.tally import EncryptedTally, TallyResult, aggregate
from evote.record import kinds
from tests.integration.guardian_cli_steps import (
    CLOSED_AT,
    GUARDIANS,
    PASSPHRASE,
    QUORUM,
    Board,
    GuardianRun,
    check_result_passes,
    copy_key,
    decrypt,
    entry_files,
    guardian,
    identities,
    ok,
    publish_manifest,
    publish_result,
    refused,
    same_answer_again,
    second_tally_refused,
    snapshot,
)

ROUNDS = 7
#: Voter i's choices: (referendum, head, council), and whether it votes again.
CHOICES = [
    ({"referendum": ["yes"], "head": ["koval"], "council": ["moroz", "lysenko"]}, None),
    ({"referendum": ["no"], "head": ["koval"], "council": ["moroz"]}, None),
    (
        {"referendum": ["no"], "head": ["melnyk"], "council": []},
        {"referendum": ["yes"], "head": ["bondar"], "council": ["kravets", "moroz", "rudenko"]},
    ),
]


def vote(
    board: Board, context: ElectionContext, voters: Sequence[SigningKey], revote: bool
) -> None:
    """Every voter casts its first choice; the last one votes again if ``revote``."""
    style = board.manifest.ballot_styles[0].id
    for voter, (first, second) in zip(voters, CHOICES, strict=True):
        rounds = [first] if second is None or not revote else [first, second]
        for sequence, choices in enumerate(rounds):
            plaintext = PlaintextBallot.from_choices(board.manifest, style, choices)
            ballot = encrypt_ballot(plaintext, context, voter.verify_key, sequence).ballot
            board.post(kinds.BALLOT, ballot.to_tlv(), [voter])


def tally(
    board: Board, only: Sequence[int] | None = None, summed: Sequence[int] | None = None
) -> EncryptedTally:
    """The officials' tally: each credential's last ballot (or only the given entries), with
    the sums of those ballots (or of the ``summed`` ones)."""
    last: dict[bytes, int] = {}
    for index, data in enumerate(board.entries):
        entry = Entry.decode(data)
        if entry.kind == kinds.BALLOT:
            last[entry.signers[0].encode()] = index
    counted = tuple(sorted(last.values())) if only is None else tuple(only)
    ballots = [
        EncryptedBallot.from_tlv(Entry.decode(board.entries[i]).body, board.manifest)
        for i in (counted if summed is None else summed)
    ]
    body = EncryptedTally(counted, aggregate(board.manifest, ballots))
    board.official(kinds.TALLY, body.to_tlv())
    return body


# --- the whole run -------------------------------------------------------------------------------


@dataclass
class Run(GuardianRun):
    other_manifest_file: Path
    exchange: list[Path]
    open_record: Path
    refused_records: dict[str, Path]


def _round(run_root: Path, number: int, manifest: Path, inbox: Path | None) -> Path:
    outbox = run_root / f"round-{number}"
    for g in GUARDIANS:
        args: list[object] = ["round", "--key-file", run_root / f"g{g}.key"]
        args += ["--manifest", manifest, "--outbox", outbox]
        if inbox is not None:
            args += ["--inbox", inbox]
        ok(guardian(*args))
    return outbox


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Run:
    root = tmp_path_factory.mktemp("guardians")
    outputs: dict[str, str] = {}
    public_keys = identities(root)
    board = Board(public_keys)
    other = Board(public_keys, name="Another election")
    other_manifest_file = root / "other.yaml"
    other_manifest_file.write_text(yaml.safe_dump(other.manifest.to_mapping()), encoding="utf-8")
    manifest_file = publish_manifest(board, root / "manifest.yaml")

    for g in GUARDIANS:
        outputs[f"join-{g}"] = ok(
            guardian("join", "--key-file", root / f"g{g}.key", "--manifest", manifest_file)
        )
    snapshot(root, "joined")
    exchange: list[Path] = []
    inbox = None
    for number in range(ROUNDS):
        inbox = _round(root, number, manifest_file, inbox)
        exchange.append(inbox)
        if number == 0:
            snapshot(root, "transport")
        if number < 4:  # transport, commit, reveal, shares: on the board in phase order
            board.append_files(inbox)
    snapshot(root, "finished")
    board.joint_key(exchange[6])
    checks = root / "key-checks"
    for g in GUARDIANS:
        ok(guardian("key-check", "--key-file", root / f"g{g}.key", "--outbox", checks))
    board.append_files(checks)

    context = board.context(exchange[2])
    voters = [SigningKey.generate() for _ in CHOICES]
    opened_at = board.open_voting(voters)
    fork = board.fork(opened_at + 1)
    vote(board, context, voters, revote=True)
    open_record = board.export(root / "open-record")
    board.close()
    closed_size = board.board.size
    posted_tally = tally(board)
    tallied_record = board.export(root / "tallied-record")

    refused_records = {}
    bad = board.fork(closed_size)
    bad.witness_round(CLOSED_AT)
    tally(bad, only=posted_tally.counted[:1])
    refused_records["one ballot"] = bad.export(root / "one-ballot-record")
    bad = board.fork(closed_size)
    bad.witness_round(CLOSED_AT)
    tally(bad, summed=posted_tally.counted[:2])
    refused_records["wrong sums"] = bad.export(root / "wrong-sums-record")
    bad = board.fork(closed_size - 1)  # the close again, never cosigned by the witness
    bad.close(witnessed=False)
    tally(bad)
    refused_records["unwitnessed"] = bad.export(root / "unwitnessed-record")
    bad = board.fork(opened_at + 1)
    rogue = SigningKey.generate()  # not on the credential list
    vote(bad, context, [*voters[:2], rogue], revote=False)
    bad.close()
    tally(bad)
    refused_records["unlisted credential"] = bad.export(root / "rogue-record")

    vote(fork, context, voters, revote=False)
    fork.close()
    tally(fork)
    fork.export(root / "forked-record")

    shares = decrypt(board, root, tallied_record, outputs, board.manifest)
    counted = len(posted_tally.counted)
    counts = {}
    for part, ciphertexts in posted_tally.totals.items():
        values = []
        for option, ciphertext in enumerate(ciphertexts):
            points = {g: s.shares[part][option].share for g, s in shares.items()}
            if ciphertext.alpha.is_identity():
                values.append(dlog.discrete_log(ciphertext.beta, counted))
            else:
                combined = threshold.combine_shares(points, QUORUM)
                values.append(dlog.discrete_log(ciphertext.beta - combined, counted))
        counts[part] = tuple(values)
    lines = outcome_lines(board.manifest, counts, registered=len(voters), participants=counted)
    publish_result(board, root, TallyResult(tuple(sorted(shares)), counts, lines).to_tlv())
    return Run(
        root,
        board,
        manifest_file,
        outputs,
        counts,
        other_manifest_file=other_manifest_file,
        exchange=exchange,
        open_record=open_record,
        refused_records=refused_records,
    )


# --- the whole ceremony and election -------------------------------------------------------------


def test_every_guardian_joins_by_its_identity_key(run: Run) -> None:
    for g in GUARDIANS:
        assert f"as guardian {g} of 3 (quorum 2)" in run.outputs[f"join-{g}"]
        assert run.board.manifest.election_id.hex() in run.outputs[f"join-{g}"]


def test_each_round_wrote_one_file_per_guardian(run: Run) -> None:
    names = [[p.name for p in entry_files(directory)] for directory in run.exchange]
    assert names[0] == [f"ceremony-transport-g{g}.entry" for g in GUARDIANS]
    assert names[1] == [f"ceremony-commit-g{g}.entry" for g in GUARDIANS]
    assert names[2] == [f"guardian-key-g{g}.entry" for g in GUARDIANS]
    assert names[3] == [f"ceremony-shares-g{g}.entry" for g in GUARDIANS]
    assert names[4] == names[5] == []
    assert names[6] == [f"joint-key-g{g}.entry" for g in GUARDIANS]


def test_the_decrypted_tally_is_the_voters_choices(run: Run) -> None:
    assert "it is the sum of 3 counted ballots" in run.outputs["decrypt-1"]
    assert run.counts["referendum"] == (2, 1)
    assert run.counts["head"] == (1, 0, 2, 0, 0)
    assert run.counts["council"] == (0, 0, 0, 1, 3, 0, 1, 0, 1, 0)


def test_check_result_passes_the_final_record(run: Run) -> None:
    check_result_passes(run)


def test_check_result_fails_a_record_without_its_result(run: Run) -> None:
    output = guardian("check-result", "--record", run.tallied_record)
    assert output.exit_code == 1
    assert "verdict: the record does NOT check" in output.output


def test_check_result_refuses_a_record_of_another_election(run: Run) -> None:
    output = guardian(
        "check-result", "--record", run.final_record, "--manifest", run.other_manifest_file
    )
    assert output.exit_code == 1
    assert "does NOT check" in output.output


def test_status_tells_where_the_guardian_stands(run: Run) -> None:
    output = ok(guardian("status", "--key-file", run.key(1)))
    assert "guardian 1 of 3, quorum 2" in output
    assert "step key-checked" in output
    assert "answered the tally" in output


def test_export_writes_the_same_entries_again(run: Run, tmp_path: Path) -> None:
    output = ok(guardian("export", "--key-file", run.key(2), "--outbox", tmp_path / "again"))
    written = {p.name: p.read_bytes() for p in entry_files(tmp_path / "again")}
    assert (
        written["ceremony-commit-g2.entry"]
        == (run.exchange[1] / "ceremony-commit-g2.entry").read_bytes()
    )
    assert written["joint-key-g2.entry"] == (run.exchange[6] / "joint-key-g2.entry").read_bytes()
    assert "key-check-g2.entry" in written
    assert "wrote" in output
    ok(guardian("export", "--key-file", run.key(2), "--outbox", tmp_path / "again"))  # same files
    (tmp_path / "again" / "ceremony-commit-g2.entry").write_bytes(b"something else")
    refused(
        guardian("export", "--key-file", run.key(2), "--outbox", tmp_path / "again"),
        "exists and holds another entry",
    )


def test_the_same_tally_gets_the_same_answer_again(run: Run, tmp_path: Path) -> None:
    same_answer_again(run, 1, tmp_path)


# --- refusals ------------------------------------------------------------------------------------


def test_a_wrong_passphrase_changes_nothing(run: Run, tmp_path: Path) -> None:
    key, before = copy_key(run, "transport", tmp_path)
    wrong = {"EVOTE_PASSPHRASE": "not the passphrase at all"}
    for args in (
        [
            "round",
            "--key-file",
            key,
            "--manifest",
            run.manifest_file,
            "--inbox",
            run.exchange[0],
            "--outbox",
            tmp_path / "out",
        ],
        ["status", "--key-file", key],
        ["export", "--key-file", key, "--outbox", tmp_path / "out"],
    ):
        refused(guardian(*args, env=wrong), "wrong passphrase, or the key file was altered")
        assert key.read_bytes() == before
    assert not (tmp_path / "out").exists()


def test_an_altered_key_file_is_refused(run: Run, tmp_path: Path) -> None:
    key, before = copy_key(run, "joined", tmp_path)
    altered = bytearray(before)
    altered[-1] ^= 1
    key.write_bytes(bytes(altered))
    refused(guardian("status", "--key-file", key), "the key file was altered")
    key.write_bytes(b"hello")
    refused(guardian("status", "--key-file", key), "not an evote key file")


def test_a_manifest_of_another_election_is_refused(run: Run, tmp_path: Path) -> None:
    key, before = copy_key(run, "transport", tmp_path)
    args = ["round", "--key-file", key, "--manifest", run.other_manifest_file]
    refused(
        guardian(*args, "--inbox", run.exchange[0], "--outbox", tmp_path / "out"),
        "but this key file joined election",
    )
    assert key.read_bytes() == before


def test_joining_a_manifest_that_does_not_list_you_is_refused(run: Run, tmp_path: Path) -> None:
    key = tmp_path / "stranger.key"
    ok(guardian("identity", "--key-file", key, "--kdf", "interactive"))
    before = key.read_bytes()
    refused(
        guardian("join", "--key-file", key, "--manifest", run.manifest_file),
        "is not among the guardians of",
    )
    assert key.read_bytes() == before


def test_joining_twice_is_refused(run: Run, tmp_path: Path) -> None:
    key, before = copy_key(run, "joined", tmp_path)
    refused(guardian("join", "--key-file", key, "--manifest", run.manifest_file), "already joined")
    assert key.read_bytes() == before


def test_out_of_order_steps_are_refused_and_change_nothing(run: Run, tmp_path: Path) -> None:
    key, before = copy_key(run, "transport", tmp_path)
    out = tmp_path / "out"
    round_args = ["round", "--key-file", key, "--manifest", run.manifest_file, "--outbox", out]
    refused(guardian(*round_args), "round 1 (commit) needs every guardian's ceremony-transport")
    commits = tmp_path / "commits"  # the others' round-1 files, a round too early
    shutil.copytree(run.exchange[1], commits)
    (commits / "ceremony-commit-g1.entry").unlink()
    refused(guardian(*round_args, "--inbox", commits), "missing: guardian(s) 2, 3")
    refused(  # an old copy of the key file meets an entry its later self wrote
        guardian(*round_args, "--inbox", run.exchange[1]),
        "signed with your identity key that this key file did not write",
    )
    refused(
        guardian("key-check", "--key-file", key, "--outbox", out), "comes after the key ceremony"
    )
    refused(
        guardian("decrypt", "--key-file", key, "--record", run.tallied_record, "--outbox", out),
        "holds no key share",
    )
    assert key.read_bytes() == before
    assert not out.exists() or not any(out.iterdir())
    finished, _ = copy_key(run, "finished", tmp_path)
    refused(
        guardian("round", "--key-file", finished, "--manifest", run.manifest_file, "--outbox", out),
        "your key ceremony is over",
    )
    refused(
        guardian("key-check", "--key-file", run.key(1), "--outbox", out),
        "already wrote your key check",
    )


def test_a_round_with_no_election_is_refused(run: Run, tmp_path: Path) -> None:
    key = tmp_path / "new.key"
    ok(guardian("identity", "--key-file", key, "--kdf", "interactive"))
    refused(
        guardian("round", "--key-file", key, "--manifest", run.manifest_file, "--outbox", tmp_path),
        "has joined no election yet",
    )


def test_an_entry_from_a_non_guardian_in_the_inbox_is_refused(run: Run, tmp_path: Path) -> None:
    key, before = copy_key(run, "transport", tmp_path)
    inbox = tmp_path / "inbox"
    shutil.copytree(run.exchange[0], inbox)
    stranger = SigningKey.generate()
    forged = Entry.create(
        kinds.CEREMONY_COMMIT, run.board.election_id, Commit(2, bytes(32)).to_tlv(), [stranger]
    )
    (inbox / "ceremony-commit-g2.entry").write_bytes(forged.encoded)
    output = refused(
        guardian(
            "round",
            "--key-file",
            key,
            "--manifest",
            run.manifest_file,
            "--inbox",
            inbox,
            "--outbox",
            tmp_path / "out",
        ),
        "speaks for guardian 2 but is signed by " + stranger.verify_key.encode().hex(),
    )
    assert "ceremony-commit-g2.entry" in output
    assert key.read_bytes() == before
    assert not (tmp_path / "out").exists()


def test_an_entry_of_another_election_in_the_inbox_is_refused(run: Run, tmp_path: Path) -> None:
    key, before = copy_key(run, "transport", tmp_path)
    inbox = tmp_path / "inbox"
    shutil.copytree(run.exchange[0], inbox)
    other = Manifest.from_mapping(
        yaml.safe_load(run.other_manifest_file.read_text(encoding="utf-8"))
    )
    foreign = Entry.create(
        kinds.CEREMONY_COMMIT,
        other.election_id,
        Commit(2, bytes(32)).to_tlv(),
        [SigningKey.generate()],
    )
    (inbox / "foreign.entry").write_bytes(foreign.encoded)
    refused(
        guardian(
            "round",
            "--key-file",
            key,
            "--manifest",
            run.manifest_file,
            "--inbox",
            inbox,
            "--outbox",
            tmp_path / "out",
        ),
        "ceremony-commit entry belongs to another election",
    )
    assert key.read_bytes() == before


def test_decrypting_before_the_close_is_refused(run: Run, tmp_path: Path) -> None:
    before = run.key(2).read_bytes()
    refused(
        guardian(
            "decrypt", "--key-file", run.key(2), "--record", run.open_record, "--outbox", tmp_path
        ),
        "the election is not closed",
    )
    assert run.key(2).read_bytes() == before
    assert not any(tmp_path.iterdir())


@pytest.mark.parametrize(
    ("record", "message"),
    [
        ("one ballot", "does not count exactly each credential's last ballot"),
        ("wrong sums", "are not the sums of the counted ballots"),
        ("unwitnessed", "no checkpoint covering the close"),
        ("unlisted credential", "the ballot's credential is not on the published list"),
    ],
)
def test_a_tally_that_is_not_the_real_one_is_refused(
    run: Run, tmp_path: Path, record: str, message: str
) -> None:
    before = run.key(2).read_bytes()
    args = ["--record", run.refused_records[record], "--outbox", tmp_path]
    refused(guardian("decrypt", "--key-file", run.key(2), *args), message)
    assert run.key(2).read_bytes() == before
    assert not any(tmp_path.iterdir())


def test_a_second_tally_is_refused(run: Run, tmp_path: Path) -> None:
    second_tally_refused(run, tmp_path, counted=3)


def test_a_record_of_another_board_is_refused(run: Run, tmp_path: Path) -> None:
    record = tmp_path / "record"
    shutil.copytree(run.tallied_record, record)
    (record / "checkpoints.tlv").write_bytes((run.forked_record / "checkpoints.tlv").read_bytes())
    refused(
        guardian(
            "decrypt", "--key-file", run.key(2), "--record", record, "--outbox", tmp_path / "out"
        ),
        "checkpoint",
    )


def test_identity_never_overwrites_and_wants_a_real_passphrase(run: Run, tmp_path: Path) -> None:
    before = run.key(1).read_bytes()
    refused(
        guardian("identity", "--key-file", run.key(1)), "exists; a key file is never overwritten"
    )
    assert run.key(1).read_bytes() == before
    refused(
        guardian(
            "identity", "--key-file", tmp_path / "weak.key", env={"EVOTE_PASSPHRASE": "short"}
        ),
        "at least 12 characters",
    )
    assert not (tmp_path / "weak.key").exists()


def test_the_passphrase_is_asked_for_without_the_variable(run: Run, tmp_path: Path) -> None:
    key = tmp_path / "prompted.key"
    result = CliRunner().invoke(
        main,
        ["guardian", "identity", "--key-file", str(key), "--kdf", "interactive"],
        input=f"{PASSPHRASE}\n{PASSPHRASE}\n",
        env={"EVOTE_PASSPHRASE": None},
    )
    ok(result)
    status = CliRunner().invoke(
        main,
        ["guardian", "status", "--key-file", str(key)],
        input=f"{PASSPHRASE}\n",
        env={"EVOTE_PASSPHRASE": None},
    )
    assert "election: none yet" in ok(status)


def test_an_outbox_file_is_never_overwritten(run: Run, tmp_path: Path) -> None:
    key, before = copy_key(run, "joined", tmp_path)
    out = tmp_path / "out"
    out.mkdir()
    (out / "ceremony-transport-g1.entry").write_bytes(b"someone else's file")
    refused(
        guardian("round", "--key-file", key, "--manifest", run.manifest_file, "--outbox", out),
        "exists and holds another entry",
    )
    assert key.read_bytes() == before
    assert (out / "ceremony-transport-g1.entry").read_bytes() == b"someone else's file"
