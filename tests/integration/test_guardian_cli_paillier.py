"""`evote guardian` in a scheme B election (threshold Paillier with a trusted dealer), driven
only through the command line.

Three guardians (quorum 2) each keep a passphrase-sealed key file: they post their transport
keys, the dealer deals (here with the fixed test primes of
:mod:`tests.unit.election.paillier_keys`, so that no safe prime is searched for), the officials
co-sign the key, every guardian accepts its sealed share and posts its key check; then two
voters, the close, the tally, two guardians' decryption shares and the result, and the verifier
passes the record. The board and the officials are played around the guardians as in
tests/integration/test_guardian_cli.py (through tests/integration/guardian_cli_steps.py). Then
every refusal: a share that does not check, a tampered dealt key, decrypting or checking before
accepting, a record whose dealer's key is not the accepted one, a second tally.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest

from evote.board.entry import Entry
from evote.ceremony.dealer import (
    Dealing,
    dealing_entries,
    seal_dealing,
    transport_keys_from_entries,
)
from evote.ceremony.messages import DealtKey
from evote.crypto.paillier import DealerOutput, PaillierKeyShare
from evote.crypto.sealing import TransportPrivateKey
from evote.crypto.signing import SigningKey
from evote.election.ballot import EncryptedBallot
from evote.election.context import ElectionContext
from evote.election.encrypt import PlaintextBallot, encrypt_ballot
from evote.election.manifest import Manifest
from evote.election.tally import EncryptedTally, encrypted_tally, tally_result
from evote.record import kinds
from tests.integration.guardian_cli_steps import (
    GUARDIANS,
    OPENED_AT,
    Board,
    GuardianRun,
    check_result_passes,
    copy_key,
    decrypt,
    entry_files,
    guardian,
    hex_key,
    identities,
    ok,
    publish_manifest,
    publish_result,
    refused,
    same_answer_again,
    second_tally_refused,
    snapshot,
)
from tests.unit.election.paillier_keys import dealt, other_dealt

#: Each voter's choices: (referendum, head, council).
CHOICES = [
    {"referendum": ["yes"], "head": ["koval"], "council": ["moroz", "lysenko"]},
    {"referendum": ["no"], "head": ["koval"], "council": ["moroz"]},
]
OUTPUT = dealt(3, 2)


class DealerBoard(Board):
    """The officials' side of a scheme B election: a manifest naming the dealer's key."""

    def __init__(self, guardian_keys: Sequence[str], name: str = "Scheme B guardians") -> None:
        self.dealer = SigningKey.generate()
        scheme = {"name": "paillier", "dealer": hex_key(self.dealer)}
        super().__init__(guardian_keys, name, scheme=scheme)

    def dealer_files(self, dealing: Dealing, directory: Path) -> Path:
        """The dealer's entry files, its key co-signed by the officials as on the board."""
        directory.mkdir()
        for name, data in dealing_entries(self.manifest, self.dealer, dealing):
            if name.startswith(kinds.PAILLIER_KEY + "."):
                body = Entry.decode(data).body
                data = Entry.create(
                    kinds.PAILLIER_KEY, self.election_id, body, [self.dealer, *self.officials]
                ).encoded
            (directory / name).write_bytes(data)
        return directory


def dealing_for(manifest: Manifest, transport: Path, output: DealerOutput = OUTPUT) -> Dealing:
    """The dealer's sealed shares to the transport keys in ``transport`` (fixed primes)."""
    keys = transport_keys_from_entries(
        manifest, [(str(p), p.read_bytes()) for p in entry_files(transport)]
    )
    return seal_dealing(manifest, keys, output, TransportPrivateKey.generate())


def vote(board: DealerBoard, context: ElectionContext, voters: Sequence[SigningKey]) -> None:
    style = board.manifest.ballot_styles[0].id
    for voter, choices in zip(voters, CHOICES, strict=False):
        plaintext = PlaintextBallot.from_choices(board.manifest, style, choices)
        ballot = encrypt_ballot(plaintext, context, voter.verify_key, 0).ballot
        board.post(kinds.BALLOT, ballot.to_tlv(), [voter])


def tally(board: DealerBoard, context: ElectionContext) -> EncryptedTally:
    cast = {
        index: EncryptedBallot.from_tlv(Entry.decode(data).body, context)
        for index, data in enumerate(board.entries)
        if Entry.decode(data).kind == kinds.BALLOT
    }
    body = encrypted_tally(context, cast)
    board.official(kinds.TALLY, body.to_tlv())
    return body


@dataclass
class Run(GuardianRun):
    board: DealerBoard
    transport: Path
    dealer: Path
    other_key_record: Path


def _each(root: Path, *args: object, outbox: Path | None = None) -> dict[int, str]:
    outputs = {}
    for g in GUARDIANS:
        extra = [] if outbox is None else ["--outbox", outbox]
        outputs[g] = ok(guardian(args[0], "--key-file", root / f"g{g}.key", *args[1:], *extra))
    return outputs


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Run:
    root = tmp_path_factory.mktemp("paillier-guardians")
    board = DealerBoard(identities(root))
    manifest_file = publish_manifest(board, root / "manifest.yaml")
    outputs = {
        f"join-{g}": out for g, out in _each(root, "join", "--manifest", manifest_file).items()
    }
    snapshot(root, "joined")

    transport = root / "transport"
    rounds = _each(root, "round", "--manifest", manifest_file, outbox=transport)
    outputs.update({f"transport-{g}": out for g, out in rounds.items()})
    board.append_files(transport)
    for g in GUARDIANS:
        snapshot(root, f"transport-g{g}", g)
    transported_size = len(board.entries)
    dealer = board.dealer_files(dealing_for(board.manifest, transport), root / "dealer")
    board.append_files(dealer)
    accepted = _each(
        root, "round", "--manifest", manifest_file, "--inbox", dealer, outbox=root / "none"
    )
    outputs.update({f"accept-{g}": out for g, out in accepted.items()})
    snapshot(root, "finished")
    checks = root / "key-checks"
    _each(root, "key-check", outbox=checks)
    board.append_files(checks)

    context = ElectionContext.for_paillier(board.manifest, OUTPUT.public_key)
    voters = [SigningKey.generate() for _ in CHOICES]
    opened_at = board.open_voting(voters)
    fork = board.fork(opened_at + 1)
    vote(board, context, voters)
    board.close()
    posted_tally = tally(board, context)
    tallied_record = board.export(root / "tallied-record")

    vote(fork, context, voters[:1])
    fork.close()
    tally(fork, context)
    fork.export(root / "forked-record")

    other_key = board.fork(transported_size)
    other_dealing = dealing_for(board.manifest, transport, other_dealt(3, 2))
    other_key.append_files(other_key.dealer_files(other_dealing, root / "other-dealer"))
    other_key.witness_round(OPENED_AT)
    other_key_record = other_key.export(root / "other-key-record")

    shares = decrypt(board, root, tallied_record, outputs, context)
    result = tally_result(context, posted_tally, shares, registered=len(voters))
    publish_result(board, root, result.to_tlv())
    return Run(
        root,
        board,
        manifest_file,
        outputs,
        dict(result.counts),
        transport=transport,
        dealer=dealer,
        other_key_record=other_key_record,
    )


# --- the whole ceremony and election -------------------------------------------------------------


def test_the_guardians_post_transport_keys_then_accept_their_shares(run: Run) -> None:
    assert sorted(p.name for p in entry_files(run.transport)) == [
        f"ceremony-transport-g{g}.entry" for g in GUARDIANS
    ]
    for g in GUARDIANS:
        assert (
            "next: evote guardian round, accept the dealer's key" in run.outputs[f"transport-{g}"]
        )
        accepted = run.outputs[f"accept-{g}"]
        assert "you accept the dealer's key and your key share" in accepted
        assert "your Paillier key share is accepted" in accepted
        assert "nothing to post this round" in accepted
    assert not (run.root / "none").exists() or not any((run.root / "none").iterdir())


def test_the_decrypted_tally_is_the_voters_choices(run: Run) -> None:
    assert "it is the sum of 2 counted ballots" in run.outputs["decrypt-1"]
    assert run.counts["referendum"] == (1, 1)
    assert run.counts["head"] == (0, 0, 2, 0, 0)
    assert run.counts["council"] == (0, 0, 0, 1, 2, 0, 0, 0, 0, 0)


def test_check_result_passes_the_final_record(run: Run) -> None:
    check_result_passes(run)


def test_status_tells_the_scheme_and_the_step(run: Run, tmp_path: Path) -> None:
    output = ok(guardian("status", "--key-file", run.key(1)))
    assert "scheme B (threshold Paillier, a dealer): your key share is accepted" in output
    assert "step key-checked" in output
    assert "answered the tally" in output
    key, _ = copy_key(run, "transport-g2", tmp_path)
    output = ok(guardian("status", "--key-file", key))
    assert "your key share is not accepted yet" in output
    assert "next: accept the dealer's key" in output


def test_export_writes_only_the_guardians_own_entries(run: Run, tmp_path: Path) -> None:
    ok(guardian("export", "--key-file", run.key(1), "--outbox", tmp_path))
    written = {p.name: p.read_bytes() for p in entry_files(tmp_path)}
    assert sorted(written) == [
        "ceremony-transport-g1.entry",
        "decryption-share-g1.entry",
        "paillier-key-check-g1.entry",
    ]
    assert written["ceremony-transport-g1.entry"] == (
        (run.transport / "ceremony-transport-g1.entry").read_bytes()
    )


def test_the_same_tally_gets_the_same_answer_again(run: Run, tmp_path: Path) -> None:
    same_answer_again(run, 3, tmp_path)


# --- refusals ------------------------------------------------------------------------------------


def _round_refused(key: Path, run: Run, inbox: Path, out: Path, message: str) -> None:
    before = key.read_bytes()
    args = ["--manifest", run.manifest_file, "--inbox", inbox, "--outbox", out]
    refused(guardian("round", "--key-file", key, *args), message)
    assert key.read_bytes() == before
    assert not out.exists()


def test_a_share_that_does_not_check_is_refused_and_changes_nothing(
    run: Run, tmp_path: Path
) -> None:
    key, _ = copy_key(run, "transport-g2", tmp_path)
    altered = DealerOutput(
        OUTPUT.public_key,
        tuple(PaillierKeyShare(s.guardian, s.secret + 1) for s in OUTPUT.shares),
    )
    inbox = run.board.dealer_files(
        dealing_for(run.board.manifest, run.transport, altered), tmp_path / "bad"
    )
    _round_refused(key, run, inbox, tmp_path / "out", "guardian 2 refuses its Paillier key share")


def test_a_tampered_dealt_key_is_refused(run: Run, tmp_path: Path) -> None:
    key, _ = copy_key(run, "transport-g2", tmp_path)
    good = dealing_for(run.board.manifest, run.transport)
    tampered = Dealing(
        DealtKey(good.dealt.base_hash, good.dealt.transport, other_dealt(3, 2).public_key),
        good.sealed,
    )
    inbox = run.board.dealer_files(tampered, tmp_path / "tampered")
    _round_refused(key, run, inbox, tmp_path / "out", "refuses its Paillier key share")


def test_a_dealers_key_of_another_election_is_refused(run: Run, tmp_path: Path) -> None:
    key, _ = copy_key(run, "transport-g2", tmp_path)
    inbox = tmp_path / "other"
    inbox.mkdir()
    for path in entry_files(run.dealer):
        entry = Entry.decode(path.read_bytes())
        forged = Entry.create(entry.kind, bytes(32), entry.body, [run.board.dealer])
        (inbox / path.name).write_bytes(forged.encoded)
    _round_refused(key, run, inbox, tmp_path / "out", "election")


def test_decrypting_or_checking_before_accepting_is_refused(run: Run, tmp_path: Path) -> None:
    key, before = copy_key(run, "transport-g2", tmp_path)
    out = tmp_path / "out"
    refused(
        guardian("decrypt", "--key-file", key, "--record", run.tallied_record, "--outbox", out),
        "holds no key share",
    )
    refused(
        guardian("key-check", "--key-file", key, "--outbox", out), "comes after the key ceremony"
    )
    assert key.read_bytes() == before
    assert not out.exists()


def test_a_record_whose_dealers_key_is_not_the_accepted_one_is_refused(
    run: Run, tmp_path: Path
) -> None:
    key, before = copy_key(run, "finished", tmp_path)
    args = ["--record", run.other_key_record, "--outbox", tmp_path / "out"]
    refused(guardian("decrypt", "--key-file", key, *args), "is not the key you accepted")
    assert key.read_bytes() == before


def test_a_second_tally_is_refused(run: Run, tmp_path: Path) -> None:
    second_tally_refused(run, tmp_path, counted=1)
