"""A dishonest ballot box: it drops a ballot it acknowledged, leaves a board ballot out of the
tally, or stuffs ballots signed by no listed credential.

* **Dropped after the receipt.** The box answers the victim's cast with a receipt (which checks
  out offline), then rolls its board back to before that ballot and carries on: other voters
  cast, the election closes, is tallied and decrypted. The record alone passes the verifier
  (nothing in it is wrong: the ballot is simply not there), so what must catch it are the
  voter's receipt checked against the board (:func:`evote.client.receipt.check_receipt_on_board`),
  an observer that mirrored the board before the rollback (the board rewrote its history), and
  an observer that only saw the new board but is shown the receipt (a split view).
* **Left out of the tally.** Officials colluding with the box post a tally that skips one
  credential's last ballot: the officials' own signing check refuses it, and the verifier's
  check ``counted-set`` names the ballot left out.
* **Stuffed.** The box appends ballots signed by credentials that are not on the list (the
  honest Cast refuses them) and the tally counts them: the verifier's check ``ballots`` names
  each one.

Each attack has its honest run as the control.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest

from evote.board.checkpoint import open_checkpoint
from evote.board.entry import Entry
from evote.client.observer.following import Observer
from evote.client.observer.reports import HistoryRewritten, SplitView
from evote.client.official.errors import EntryRefused
from evote.client.official.result import result_entry
from evote.client.official.tally import check_tally_entry, replayed_ballots, voting_period
from evote.client.receipt import Receipt, ReceiptRefused, check_receipt_on_board
from evote.client.voter.directory import StoredReceipt, VoterDir, VoterState
from evote.client.voter.receipts import check_receipt_online
from evote.crypto.signing import SigningKey
from evote.election.ballot import EncryptedBallot
from evote.election.tally import encrypted_tally
from evote.mock.staging import StagedElection
from evote.record import kinds
from tests.suite.adversary_election import Board, Services, ballot, copy_of, failed, stage
from tests.suite.sizing import size

VOTERS = size(5, 16)


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> StagedElection:
    return stage(tmp_path_factory.mktemp("box") / "staged", VOTERS + 1)


@pytest.fixture
def election(template: StagedElection, tmp_path: Path) -> StagedElection:
    return copy_of(template, tmp_path / "election")


@pytest.fixture
def services(election: StagedElection) -> Iterator[Services]:
    running = Services(election)
    yield running
    running.stop()


def _cast(services: Services, voters: range) -> None:
    staged = services.staged
    for voter in voters:
        services.cast(ballot(staged, staged.credentials[voter], voter % 2))


def _device(
    directory: Path, services: Services, voter: SigningKey, entry: bytes, receipt: Receipt
) -> Path:
    """The voter's device directory as ``evote vote`` leaves it after this cast."""
    device = VoterDir(directory)
    directory.mkdir()
    device.save_setup(services.board.entries(0, 1)[0], services.servers.ca_pem)
    manifest = services.staged.manifest
    device.save_state(
        VoterState(manifest.election_id, services.address, voter.verify_key, next_sequence=1)
    )
    device.write_receipt(StoredReceipt("cast", receipt, entry, bytes(32), 0))
    return directory


@pytest.mark.parametrize("dishonest", [False, True], ids=["honest", "drops"])
def test_a_ballot_dropped_after_its_receipt_is_caught(
    election: StagedElection, tmp_path: Path, dishonest: bool
) -> None:
    manifest = election.manifest
    victim = election.credentials[VOTERS]
    services = Services(election)
    board = Board(services.board)
    watcher = Observer(board, manifest.election_id, tmp_path / "watcher", workers=1)
    try:
        _cast(services, range(VOTERS // 2))
        watcher.poll()
        services.stop()
        snapshot = tmp_path / "snapshot"
        shutil.copytree(election.data_dir, snapshot)
        services = Services(election)
        board.client = services.board
        entry = ballot(election, victim, 1)
        receipt = services.cast(entry)  # the offline check passes: the box signed it
        device = _device(tmp_path / "device", services, victim, entry, receipt)
        watcher.poll()
        assert watcher.size == receipt.leaf_index + 1
        if dishonest:  # roll the board back to before the victim's ballot, and carry on
            services.stop()
            shutil.rmtree(election.data_dir)
            shutil.copytree(snapshot, election.data_dir)
            services = Services(election)
            board.client = services.board
        _cast(services, range(VOTERS // 2, VOTERS))
        services.finish()
        record = services.verify(tmp_path / "record")
        # The record alone cannot tell: nothing in it is wrong.
        assert record.passed, failed(record)
        latecomer = Observer(board, manifest.election_id, tmp_path / "latecomer", workers=1)
        latecomer.poll()
        assert latecomer.failures == 0  # on its own, the new board checks out

        if not dishonest:
            latest = check_receipt_on_board(receipt, manifest, entry, services.board)
            check_receipt_online(device, server=services.address, ca_pem=services.servers.ca_pem)
            assert latest.size > receipt.leaf_index
            watcher.poll()
            assert watcher.passed
            assert watcher.rewrite is None
            assert latecomer.compare_checkpoint(receipt.checkpoint, source="a voter's receipt")
            return

        # 1. The voter's receipt, checked against the board: the ballot is gone.
        with pytest.raises(ReceiptRefused, match="dropped or replaced"):
            check_receipt_on_board(receipt, manifest, entry, services.board)
        # ... and as `evote receipt check --online` does it, from the voter's device.
        with pytest.raises(
            ReceiptRefused,
            match="dropped or replaced; keep the receipt as evidence; tell the election officials",
        ):
            check_receipt_online(device, server=services.address, ca_pem=services.servers.ca_pem)
        # 2. The observer that mirrored the victim's ballot: the board rewrote its history.
        with pytest.raises(HistoryRewritten) as rewritten:
            watcher.poll()
        assert rewritten.value.entry == receipt.leaf_index
        assert watcher.rewrite is rewritten.value
        assert not watcher.passed
        evidence = [rewritten.value.earlier, rewritten.value.later]
        # 3. An observer that never saw the ballot, shown the voter's receipt: a split view.
        with pytest.raises(SplitView) as split:
            latecomer.compare_checkpoint(receipt.checkpoint, source="a voter's receipt")
        assert split.value.later == receipt.checkpoint
        assert "split view" in split.value.diagnostics()
        assert latecomer.rewrite is split.value
        assert not latecomer.passed
        evidence += [split.value.earlier, split.value.later]
        # The evidence is signed by the log key: two checkpoints of one log, two histories.
        for note in evidence:
            assert note is not None
            open_checkpoint(note, manifest.log_origin, manifest.log_key)
        print(
            "\nadversary ballot box (drop after receipt): caught by the receipt check, the "
            "observer that mirrored it (history rewritten) and the observer shown the receipt "
            "(split view); the verifier alone passes the record"
        )
    finally:
        services.stop()


@pytest.mark.parametrize("dishonest", [False, True], ids=["honest", "omits"])
def test_a_tally_that_leaves_a_ballot_out_is_named(
    services: Services, tmp_path: Path, dishonest: bool
) -> None:
    staged = services.staged
    _cast(services, range(VOTERS))
    services.cast(ballot(staged, staged.credentials[0], 0, sequence=1))  # a revote counts
    services.close()
    view = services.view()
    cast = replayed_ballots(view, staged.context, voting_period(view))
    left_out = max(cast)  # the revote: the tally must count it instead of the first ballot
    counted = {index: b for index, b in cast.items() if not (dishonest and index == left_out)}
    tally = encrypted_tally(staged.manifest, counted)
    entry = Entry.create(kinds.TALLY, view.election_id, tally.to_tlv(), staged.officials)
    if dishonest:
        # The officials' signing check (and the guardians', which it runs) refuses it ...
        with pytest.raises(EntryRefused, match="would not decrypt"):
            check_tally_entry(view, entry)
    else:
        check_tally_entry(view, entry)
    # ... but a colluding quorum of officials posts it, and the guardians decrypt it.
    services.official_post(entry.encoded)
    for guardian in (1, 2):
        services.decrypt(guardian)
    services.result()
    observer = Observer(Board(services.board), view.election_id, tmp_path / "mirror", workers=1)
    observer.poll()
    report = services.verify(tmp_path / "record")
    if not dishonest:
        assert report.passed, failed(report)
        assert observer.passed
        return
    failures = failed(report)
    assert "counted-set" in failures, failures
    assert any(f"entry {left_out}, the last valid ballot" in m for m in failures["counted-set"])
    assert set(failures) <= {"counted-set", "tally"}, failures
    # The observer runs the same check on its mirror when the tally and the result arrive.
    assert observer.verification is not None
    assert "counted-set" in observer.verification.failing()
    print(f"\nadversary ballot box (tally omits entry {left_out}): named by counted-set")


def _stuffed_tail(services: Services, stuffed: list[bytes]) -> None:
    """The operator of the box and the board appends the stuffed ballots behind the control
    port's back, then closes, tallies every ballot on the board, has the guardians' honest
    shares of that tally posted and publishes the result, all straight onto the board (the
    honest ballot station on the same board refuses to serve once it sees the stuffing)."""
    staged = services.staged
    board = services.servers.board
    board.append(stuffed)
    board.append([staged.mark("close", staged.officials)])
    for witness in services.witnesses:
        size = board.size
        proof = board.consistency_proof(witness.state.size, size) if witness.state.size else []
        line = witness.add_checkpoint(
            board.latest_checkpoint(), witness.state.size, proof, int(time.time())
        )
        board.add_cosignature(size, line)
    view = services.view()
    ballots = {
        index: EncryptedBallot.from_tlv(e.body, staged.manifest)
        for index, e in enumerate(view.entries)
        if e.kind == kinds.BALLOT
    }
    tally = encrypted_tally(staged.manifest, ballots)
    board.append([staged.entry(kinds.TALLY, tally.to_tlv(), staged.officials)])
    board.append([services.shares(guardian, tally) for guardian in (1, 2)])
    entry, _ = result_entry(services.view(), staged.officials)
    board.append([entry.encoded])


@pytest.mark.parametrize("dishonest", [False, True], ids=["honest", "stuffs"])
def test_stuffed_ballots_are_named(services: Services, tmp_path: Path, dishonest: bool) -> None:
    staged = services.staged
    # Stuffed ballots stay within the number of listed credentials, or the result could not
    # even be counted (more participants than registered voters).
    _cast(services, range(VOTERS // 2))
    stuffed = [ballot(staged, SigningKey.generate(), 0) for _ in range(size(2, 8))]
    for entry in stuffed:  # the honest box refuses them
        with pytest.raises(grpc.RpcError) as refused:
            services.box.cast(entry)
        assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    first = services.view().size
    if not dishonest:
        result = services.finish()
        assert sum(result.counts[next(iter(result.counts))]) == VOTERS // 2
        report = services.verify(tmp_path / "record")
        assert report.passed, failed(report)
        return
    _stuffed_tail(services, stuffed)
    # The honest ballot station sharing the board stops serving: it replays the board and
    # finds ballots its rules refuse.
    with pytest.raises(grpc.RpcError) as stopped:
        services.box.cast(ballot(staged, staged.credentials[0], 0, sequence=1))
    assert stopped.value.code() == grpc.StatusCode.DATA_LOSS
    report = services.verify(tmp_path / "record")
    failures = failed(report)
    assert "ballots" in failures, failures
    named = report.check("ballots").failures
    unlisted = {f.entry for f in named if "is not in the list" in f.message}
    assert unlisted == set(range(first, first + len(stuffed)))
    print(f"\nadversary ballot box (stuffs {len(stuffed)}): every stuffed ballot named by ballots")
