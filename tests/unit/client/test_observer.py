"""The observer against a log it cannot trust: a fake board that signs whatever it holds.

The fake starts from a real staged election (manifest, ceremony, keys, credentials, open) and
serves its entries under checkpoints signed with the log's own key on request, so a test can
make it shrink, fork, change an entry, sign with another key or serve a bad entry, and watch
the observer catch each one. The same election over real gRPC is in
tests/integration/test_observe.py.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from pathlib import Path

import pytest

from evote.board.checkpoint import Checkpoint, cosign, open_checkpoint, sign_checkpoint
from evote.board.entry import Entry
from evote.board.merkle import MerkleTree, leaf_hash
from evote.board.note import ALGORITHM_COSIGNATURE_V1, key_id, parse_note
from evote.board.record import CHECKPOINTS_FILE, CHECKPOINTS_HEADER, ENTRIES_FILE, ENTRIES_HEADER
from evote.client.channels import PAGE
from evote.client.observer.following import Observer
from evote.client.observer.reports import Finding, HistoryRewritten
from evote.client.observer.verification import applicable_checks
from evote.client.observer.witnessing import CosignatureSender
from evote.crypto import encoding
from evote.crypto.signing import SigningKey
from evote.election.ballot import EncryptedBallot
from evote.election.outcome import outcome_lines
from evote.election.tally import EncryptedTally, TallyResult, aggregate, combine_counts
from evote.errors import BoardError, InvalidInput, RecordError
from evote.mock.defaults import REFERENCE_CONTESTS
from evote.mock.staging import StagedElection, stage_election
from evote.record import kinds
from evote.verify import checks
from evote.verify.load import load
from evote.verify.runner import verify_record
from tests.integration.test_verify_records import corrupt_first_proof

CONTESTS = [REFERENCE_CONTESTS[0]]
#: A cosignature time far from the test clock's, so either can be told apart.
COSIGNED_AT = 1_000


def board_entries(staged: StagedElection) -> list[bytes]:
    board = staged.open_board()
    try:
        return board.entries(0, board.size)
    finally:
        board.close()


def finish_election(staged: StagedElection, entries: Sequence[bytes]) -> list[bytes]:
    """The entries officials and guardians post after the close: the tally of each
    credential's last ballot, a quorum's decryption shares and the result."""
    manifest = staged.manifest
    ballots: dict[int, EncryptedBallot] = {}
    last: dict[bytes, tuple[int, int]] = {}
    for index, data in enumerate(entries):
        entry = Entry.decode(data)
        if entry.kind != kinds.BALLOT:
            continue
        ballot = EncryptedBallot.from_tlv(entry.body, manifest)
        ballots[index] = ballot
        credential = ballot.credential.encode()
        if credential not in last or last[credential][0] < ballot.sequence:
            last[credential] = (ballot.sequence, index)
    counted = tuple(sorted(index for _, index in last.values()))
    totals = aggregate(manifest, (ballots[index] for index in counted))
    present = list(range(1, manifest.guardian_quorum + 1))
    shares = {g: staged.trustees[g - 1].decrypt_tally(staged.context, totals) for g in present}
    counts = combine_counts(totals, shares, manifest.guardian_quorum, len(counted))
    lines = outcome_lines(
        manifest, counts, registered=len(staged.credentials), participants=len(counted)
    )
    return [
        staged.entry(kinds.TALLY, EncryptedTally(counted, totals).to_tlv(), staged.officials),
        *(
            staged.entry(kinds.DECRYPTION_SHARE, shares[g].to_tlv(), [staged.guardians[g - 1]])
            for g in present
        ),
        staged.entry(
            kinds.RESULT, TallyResult(tuple(present), counts, lines).to_tlv(), staged.officials
        ),
    ]


class FakeLog:
    """A log that signs whatever entries it holds: honest until a test edits :attr:`log`.

    ``signer`` signs its checkpoints (the manifest's log key unless a test swaps it),
    ``cosigners`` cosign every checkpoint, ``pages`` replaces single entries in the pages it
    serves (not in the tree it signs), and ``taken`` collects the cosignature lines handed in.
    """

    def __init__(self, staged: StagedElection, entries: Sequence[bytes]) -> None:
        self.staged = staged
        self.log = list(entries)
        self.signer = staged.log_key
        self.cosigners: list[tuple[str, SigningKey]] = []
        self.pages: dict[int, bytes] = {}
        self.taken: dict[int, list[str]] = {}

    def note(self, size: int | None = None) -> str:
        size = len(self.log) if size is None else size
        tree = MerkleTree([leaf_hash(entry) for entry in self.log[:size]])
        note = sign_checkpoint(Checkpoint(self.staged.origin, size, tree.root()), self.signer)
        for name, key in self.cosigners:
            note = note.with_signature(cosign(note, name, key, COSIGNED_AT))
        return note.text() + "".join(f"{line}\n" for line in self.taken.get(size, []))

    def checkpoint(self, size: int = 0) -> str:
        if size > len(self.log):
            raise BoardError(f"the board has {len(self.log)} entries, not {size}")
        return self.note(size or None)

    def entries(self, start: int, limit: int = PAGE) -> list[bytes]:
        end = min(start + min(limit, 3), len(self.log))  # small pages: paging is exercised
        return [self.pages.get(index, self.log[index]) for index in range(start, end)]

    def take(self, size: int, line: str) -> str:
        """The board's side of AddCosignature: attach the line, answer the note."""
        if line not in self.taken.setdefault(size, []):
            self.taken[size].append(line)
        return self.note(size)


@pytest.fixture(scope="module")
def staged(tmp_path_factory: pytest.TempPathFactory) -> StagedElection:
    directory = tmp_path_factory.mktemp("observer") / "election"
    return stage_election(directory, "Observer test", CONTESTS, voters=4)


@pytest.fixture
def log(staged: StagedElection) -> FakeLog:
    return FakeLog(staged, board_entries(staged))


def observer_for(log: FakeLog, mirror: Path) -> Observer:
    return Observer(log, log.staged.manifest.election_id, mirror, clock=lambda: 2_000)


def witness_for(log: FakeLog, mirror: Path, send: CosignatureSender | None = None) -> Observer:
    _, key = log.staged.witnesses[0]
    return Observer(
        log,
        log.staged.manifest.election_id,
        mirror,
        witness_key=key,
        send_cosignature=send or log.take,
        clock=lambda: 2_000,
    )


def mirror_files(mirror: Path) -> dict[str, bytes]:
    return {path.name: path.read_bytes() for path in sorted(mirror.iterdir())}


def stored_notes(mirror: Path) -> list[str]:
    values = encoding.split_values((mirror / CHECKPOINTS_FILE).read_bytes())
    assert encoding.decode(values[0]) == CHECKPOINTS_HEADER
    return [encoding.expect_bytes(encoding.decode(v), what="note").decode() for v in values[1:]]


def flip_last_byte(data: bytes) -> bytes:
    """A copy of an entry whose last byte (in its last signature) is flipped."""
    return data[:-1] + bytes([data[-1] ^ 1])


# --- following an honest board ----------------------------------------------------------------


def test_follows_entries_as_they_arrive(log: FakeLog, tmp_path: Path) -> None:
    staged = log.staged
    observer = observer_for(log, tmp_path / "mirror")
    first = observer.poll()
    assert (first.size, first.new_entries, first.ballots, first.failures) == (
        len(log.log),
        len(log.log),
        0,
        0,
    )
    log.log += [staged.ballot(0), staged.ballot(1)]
    second = observer.poll()
    assert (second.new_entries, second.ballots, second.failures) == (2, 2, 0)
    quiet = observer.poll()
    assert (quiet.poll, quiet.new_entries, quiet.size) == (3, 0, len(log.log))
    assert observer.passed
    # The mirror is a record: it loads under the manifest's trust roots, entry for entry.
    loaded = load(tmp_path / "mirror", staged.manifest.election_id)
    assert [entry.encoded for entry in loaded.record.entries] == log.log
    assert [c.size for c, _ in loaded.record.checkpoints] == [len(log.log) - 2, len(log.log)]


def test_the_record_checks_run_at_the_close_and_at_the_result(log: FakeLog, tmp_path: Path) -> None:
    staged = log.staged
    observer = observer_for(log, tmp_path / "mirror")
    assert observer.poll().verification is None  # not open yet
    log.log += [staged.ballot(0), staged.ballot(1), staged.mark("close", staged.officials)]
    at_close = observer.poll().verification
    assert at_close is not None
    assert at_close.passed
    assert checks.BALLOTS in at_close.applicable
    assert checks.RESULT not in at_close.applicable
    assert (observer.finished, observer.passed) == (False, True)
    log.log += finish_election(staged, log.log)
    # Nobody cosigned a checkpoint after the close: the tally stands on no witness quorum.
    waiting = observer.poll().verification
    assert waiting is not None
    assert waiting.complete
    assert waiting.waiting_for_witnesses
    assert (observer.finished, observer.passed) == (False, False)
    # The witnesses cosign; the observer asks for the checkpoints after the close again.
    log.cosigners = list(staged.witnesses)
    done = observer.poll().verification
    assert done is not None
    assert done.passed
    assert done.complete
    assert (observer.finished, observer.passed) == (True, True)
    assert verify_record(tmp_path / "mirror", election_id=staged.manifest.election_id).passed


def test_follow_stops_at_the_verified_result(log: FakeLog, tmp_path: Path) -> None:
    staged = log.staged
    log.log += [staged.ballot(0), staged.mark("close", staged.officials)]
    log.log += finish_election(staged, log.log)
    log.cosigners = list(staged.witnesses)
    observer = observer_for(log, tmp_path / "mirror")
    seen: list[int] = []
    assert observer.follow(0, until_result=True, polls=5, on_poll=lambda r: seen.append(r.poll))
    assert seen == [1]
    assert observer.result_seen


# --- a board that rewrites its history -------------------------------------------------------


def test_a_checkpoint_smaller_than_one_seen(log: FakeLog, tmp_path: Path) -> None:
    observer = observer_for(log, tmp_path / "mirror")
    observer.poll()
    before = mirror_files(tmp_path / "mirror")
    dropped = log.log.pop()
    with pytest.raises(HistoryRewritten, match="went back from size") as caught:
        observer.poll()
    rewritten = caught.value
    assert observer.rewrite is rewritten
    origin, key = log.staged.origin, log.staged.manifest.log_key
    earlier, _ = open_checkpoint(rewritten.earlier or "", origin, key)
    later, _ = open_checkpoint(rewritten.later, origin, key)
    assert (earlier.size, later.size) == (len(log.log) + 1, len(log.log))
    assert "earlier checkpoint" in rewritten.diagnostics()
    assert mirror_files(tmp_path / "mirror") == before  # the mirror keeps the honest history
    with pytest.raises(InvalidInput, match="rewrote its history"):
        observer.poll()
    log.log.append(dropped)
    assert not observer.follow(0, polls=1)


def test_another_root_for_the_same_size(log: FakeLog, tmp_path: Path) -> None:
    staged = log.staged
    log.log.append(staged.ballot(0))
    observer = observer_for(log, tmp_path / "mirror")
    observer.poll()
    log.log[-1] = staged.ballot(1)  # the same size, another last entry
    with pytest.raises(HistoryRewritten, match="another root for size") as caught:
        observer.poll()
    origin, key = staged.origin, staged.manifest.log_key
    earlier, _ = open_checkpoint(caught.value.earlier or "", origin, key)
    later, _ = open_checkpoint(caught.value.later, origin, key)
    assert earlier.size == later.size
    assert earlier.root != later.root


def test_a_page_that_changes_a_mirrored_entry(log: FakeLog, tmp_path: Path) -> None:
    staged = log.staged
    observer = observer_for(log, tmp_path / "mirror")
    observer.poll()
    last = len(log.log) - 1
    log.pages[last] = staged.ballot(2)  # served instead of the entry already mirrored
    log.log.append(staged.ballot(0))
    with pytest.raises(HistoryRewritten, match=f"entry {last} changed") as caught:
        observer.poll()
    assert caught.value.entry == last
    assert observer.size == last + 1


def test_history_changed_under_a_larger_checkpoint(log: FakeLog, tmp_path: Path) -> None:
    staged = log.staged
    log.log += [staged.ballot(0), staged.ballot(1)]
    observer = observer_for(log, tmp_path / "mirror")
    observer.poll()
    size = observer.size
    log.log[-2] = staged.ballot(2)  # an earlier entry replaced, the last one kept
    log.log.append(staged.ballot(3))
    with pytest.raises(HistoryRewritten, match="do not lead to the root"):
        observer.poll()
    assert observer.size == size
    assert load(tmp_path / "mirror").record.size == size


def test_entries_the_checkpoint_does_not_match(log: FakeLog, tmp_path: Path) -> None:
    """New entries served that are not those the board signed: the signed tree is not the
    mirror plus what was served, so the board contradicts itself."""
    staged = log.staged
    observer = observer_for(log, tmp_path / "mirror")
    observer.poll()
    log.log.append(staged.ballot(0))
    log.pages[len(log.log) - 1] = staged.ballot(1)
    with pytest.raises(HistoryRewritten, match="do not lead to the root"):
        observer.poll()


# --- checkpoints and entries that do not check out --------------------------------------------


def test_a_checkpoint_with_a_bad_signature(log: FakeLog, tmp_path: Path) -> None:
    observer = observer_for(log, tmp_path / "mirror")
    log.signer = SigningKey.generate()
    report = observer.poll()
    assert report.size == 0
    assert [f.check for f in report.new_findings] == ["checkpoint"]
    assert "does not verify" in report.new_findings[0].message
    assert not (tmp_path / "mirror" / ENTRIES_FILE).exists()
    assert observer.poll().new_findings == ()  # the same finding is reported once
    log.signer = log.staged.log_key
    assert observer.poll().size == len(log.log)
    assert not observer.passed


def test_a_cosignature_that_does_not_verify(log: FakeLog, tmp_path: Path) -> None:
    name, _ = log.staged.witnesses[0]
    log.cosigners = [(name, SigningKey.generate())]  # a listed name, another key
    observer = observer_for(log, tmp_path / "mirror")
    report = observer.poll()
    # A line under another key ID is no cosignature of that witness: dropped, not a finding.
    assert report.failures == 0
    assert all(f"— {name} " not in note for note in stored_notes(tmp_path / "mirror"))

    # A line under the witness's key ID whose signature is wrong is a finding.
    _, real = log.staged.witnesses[0]
    note = parse_note(log.note())
    forged = cosign(note, name, SigningKey.generate(), COSIGNED_AT)
    forged = dataclasses.replace(
        forged, key_id=key_id(name, ALGORITHM_COSIGNATURE_V1, real.verify_key)
    )
    log.cosigners = []
    log.taken[len(log.log)] = [forged.line().rstrip("\n")]
    report = observer.poll()
    assert [f.check for f in report.new_findings] == ["checkpoint"]
    assert f"the cosignature of {name} does not verify" in report.new_findings[0].message


def test_an_entry_with_a_broken_signature(log: FakeLog, tmp_path: Path) -> None:
    staged = log.staged
    log.log.append(flip_last_byte(staged.ballot(0)))
    observer = observer_for(log, tmp_path / "mirror")
    report = observer.poll()
    assert report.new_findings == (
        Finding("entry", report.new_findings[0].message, len(log.log) - 1),
    )
    assert "ballot entry" in report.new_findings[0].message
    assert observer.size == len(log.log)  # mirrored as served: the record shows it too
    assert not verify_record(tmp_path / "mirror").passed


def test_a_ballot_with_a_bad_proof(log: FakeLog, tmp_path: Path) -> None:
    staged = log.staged
    good = Entry.decode(staged.ballot(0))
    ballot = corrupt_first_proof(EncryptedBallot.from_tlv(good.body, staged.manifest))
    log.log += [
        staged.ballot(1),
        staged.entry(kinds.BALLOT, ballot.to_tlv(), [staged.credentials[0]]),
    ]
    observer = observer_for(log, tmp_path / "mirror")
    report = observer.poll()
    assert [(f.check, f.entry) for f in report.new_findings] == [("proof", len(log.log) - 1)]
    assert "option[0].proof" in report.new_findings[0].message
    assert report.ballots == 2


# --- cosigning as a witness --------------------------------------------------------------------


def test_the_witness_state_is_durable_before_the_cosignature_leaves(
    log: FakeLog, tmp_path: Path
) -> None:
    staged = log.staged
    name, key = staged.witnesses[0]
    mirror = tmp_path / "mirror"
    own = key_id(name, ALGORITHM_COSIGNATURE_V1, key.verify_key)
    sent: list[tuple[int, str]] = []

    def send(size: int, line: str) -> str:
        # What a restarted witness would read: the cosigned checkpoint is already on disk.
        notes = [parse_note(text) for text in stored_notes(mirror)]
        assert any(
            note.body.split("\n")[1] == str(size)
            and (signature := note.find(name, own)) is not None
            and signature.line().rstrip("\n") == line
            for note in notes
        )
        sent.append((size, line))
        return log.take(size, line)

    observer = witness_for(log, mirror, send)
    report = observer.poll()
    assert report.cosigned == len(log.log)
    assert [size for size, _ in sent] == [len(log.log)]
    assert observer.witness_state is not None
    assert observer.witness_state.size == len(log.log)
    assert observer.witness_state.timestamp == 2_000
    observer.poll()
    assert len(sent) == 1  # the board shows the line: nothing to send again
    log.log.append(staged.ballot(0))
    assert observer.poll().cosigned == len(log.log)
    assert [size for size, _ in sent] == [len(log.log) - 1, len(log.log)]

    # A restarted witness knows what it cosigned from the mirror alone.
    again = witness_for(log, mirror, send)
    again.start()
    assert again.witness_state == observer.witness_state
    assert again.poll().cosigned is None
    assert len(sent) == 2


def test_a_cosignature_the_board_did_not_take_is_handed_in_again(
    log: FakeLog, tmp_path: Path
) -> None:
    failures = [BoardError("the control port is down")]

    def send(size: int, line: str) -> str:
        if failures:
            raise failures.pop()
        return log.take(size, line)

    observer = witness_for(log, tmp_path / "mirror", send)
    first = observer.poll()
    assert first.cosigned == len(log.log)
    assert first.warning is not None
    assert "did not take the cosignature" in first.warning
    assert not log.taken
    second = observer.poll()
    assert second.cosigned is None  # already cosigned: the same line is handed in again
    assert second.warning is None
    assert len(log.taken[len(log.log)]) == 1
    assert observer.passed  # a line the board did not take is a warning, not a failure


def test_a_key_that_is_no_witness_of_the_election(log: FakeLog, tmp_path: Path) -> None:
    observer = Observer(
        log,
        log.staged.manifest.election_id,
        tmp_path / "mirror",
        witness_key=SigningKey.generate(),
        send_cosignature=log.take,
    )
    with pytest.raises(InvalidInput, match="not one of this election's witnesses"):
        observer.start()


# --- starting and resuming ---------------------------------------------------------------------


def test_resume_from_the_mirror(log: FakeLog, tmp_path: Path) -> None:
    staged = log.staged
    mirror = tmp_path / "mirror"
    observer_for(log, mirror).poll()
    size = len(log.log)
    # A poll cut short wrote one more entry than its checkpoint covers.
    extra = staged.ballot(0)
    entries = (mirror / ENTRIES_FILE).read_bytes()
    (mirror / ENTRIES_FILE).write_bytes(entries + extra)
    (mirror / f".{CHECKPOINTS_FILE}.partial").write_bytes(b"half a file")
    log.log += [extra, staged.ballot(1)]
    resumed = observer_for(log, mirror)
    resumed.start()
    assert resumed.size == size  # the uncovered entry is dropped, to be fetched again
    assert sorted(mirror_files(mirror)) == [CHECKPOINTS_FILE, ENTRIES_FILE]
    report = resumed.poll()
    assert (report.new_entries, report.ballots, report.failures) == (2, 2, 0)


def test_resume_refuses_an_altered_mirror(log: FakeLog, tmp_path: Path) -> None:
    mirror = tmp_path / "mirror"
    observer_for(log, mirror).poll()
    entries = log.log[:]
    entries[-1], entries[-2] = entries[-2], entries[-1]
    (mirror / ENTRIES_FILE).write_bytes(encoding.encode(ENTRIES_HEADER) + b"".join(entries))
    with pytest.raises(RecordError, match="the mirror was altered"):
        observer_for(log, mirror).start()


def test_a_mirror_of_another_election(log: FakeLog, tmp_path: Path) -> None:
    mirror = tmp_path / "mirror"
    observer_for(log, mirror).poll()
    other = Observer(log, bytes(32), mirror)
    with pytest.raises(RecordError, match="is not the manifest of election 0000"):
        other.start()


def test_a_board_of_another_election(log: FakeLog, tmp_path: Path) -> None:
    with pytest.raises(RecordError, match="the board's entry 0 is not the manifest"):
        Observer(log, bytes(32), tmp_path / "mirror").start()
    assert not list((tmp_path / "mirror").iterdir())


def test_a_mirror_directory_holding_other_files(log: FakeLog, tmp_path: Path) -> None:
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    (mirror / "notes.txt").write_text("mine")
    with pytest.raises(RecordError, match=r"holds notes\.txt"):
        observer_for(log, mirror).start()


def test_bad_arguments(log: FakeLog, tmp_path: Path) -> None:
    election_id = log.staged.manifest.election_id
    with pytest.raises(InvalidInput, match="32 bytes"):
        Observer(log, b"short", tmp_path)
    with pytest.raises(InvalidInput, match="both its signing key"):
        Observer(log, election_id, tmp_path, witness_key=SigningKey.generate())
    with pytest.raises(InvalidInput, match="at least 1"):
        Observer(log, election_id, tmp_path).follow(0, polls=0)


def test_the_checks_that_apply_as_the_election_goes() -> None:
    everything = {info.name for info in checks.CHECKS}
    start = applicable_checks([kinds.MANIFEST])
    assert start == {checks.RECORD, checks.MANIFEST}
    voting = applicable_checks(
        [kinds.MANIFEST, kinds.JOINT_KEY, kinds.CREDENTIALS, kinds.OPEN, kinds.CLOSE]
    )
    assert checks.BALLOTS in voting
    assert checks.TALLY not in voting
    tallied = applicable_checks([kinds.JOINT_KEY, kinds.CREDENTIALS, kinds.OPEN, kinds.TALLY])
    assert checks.CLOSING_CHECKPOINT in tallied
    assert checks.RESULT not in tallied
    assert applicable_checks([kinds.RESULT]) == everything
