"""What the `evote guardian` command-line tests of both schemes share: the guardians' commands,
the officials and the board played around them, and the checks that read the same in either
scheme.

Scheme A's test (tests/integration/test_guardian_cli.py) runs the guardians' own key
ceremony; scheme B's (test_guardian_cli_paillier.py) has a dealer deal the key. Around the
guardians both need the same officials, board and witness, the same steps before voting and
after the tally, and the same answers to a tally answered twice or to another board's tally;
so each test keeps only its scheme's ceremony, ballots and refusals.
"""

from __future__ import annotations

import shutil
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Self

import yaml
from click.testing import CliRunner, Result

from evote.board.entry import Entry, merge_signatures
from evote.board.export import export_record
from evote.board.log import BulletinBoard
from evote.board.store import MemoryStore
from evote.board.witness import Witness
from evote.ceremony.messages import GuardianKey
from evote.cli import main
from evote.crypto.signing import SigningKey
from evote.election.context import ElectionContext
from evote.election.manifest import Manifest
from evote.election.tally import GuardianShares
from evote.mock.defaults import REFERENCE_CONTESTS
from evote.record import kinds
from evote.record.kinds import CredentialList, PhaseMark

PASSPHRASE = "a guardian's long passphrase"  # noqa: S105 - a test passphrase
ENV = {"EVOTE_PASSPHRASE": PASSPHRASE}
GUARDIANS = (1, 2, 3)
QUORUM = 2
#: The guardians who decrypt the tally (a quorum, guardian 2 absent).
DECIDING = (1, 3)
WITNESS = "witness.guardian-test"
#: When the officials open and close voting, and publish the result (seconds since the epoch).
OPENED_AT = 1_700_000_000
CLOSED_AT = 1_700_003_600
RESULT_AT = 1_700_007_200


def guardian(*args: object, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(main, ["guardian", *map(str, args)], env=ENV if env is None else env)


def ok(result: Result) -> str:
    assert result.exit_code == 0, result.output
    return result.output


def refused(result: Result, message: str) -> str:
    assert result.exit_code == 1, result.output
    assert message in result.output, result.output
    return result.output


def hex_key(key: SigningKey) -> str:
    return key.verify_key.encode().hex()


def entry_files(directory: Path) -> list[Path]:
    return sorted(directory.glob("*.entry"))


# --- the officials, the board and the voters around the guardians --------------------------------


class Board:
    """The officials' side: keys, the manifest (of ``scheme``, scheme A's when ``None``), the
    board, one witness."""

    def __init__(
        self,
        guardian_keys: Sequence[str],
        name: str = "Guardian CLI election",
        *,
        scheme: Mapping[str, str] | None = None,
    ) -> None:
        self.officials = (SigningKey.generate(), SigningKey.generate())
        self.authority = SigningKey.generate()
        self.log_key = SigningKey.generate()
        self.witness_key = SigningKey.generate()
        self.manifest = Manifest.from_mapping(
            {
                "name": name,
                "contests": REFERENCE_CONTESTS,
                "officials": {"keys": [hex_key(k) for k in self.officials], "quorum": 2},
                "credential_authority": hex_key(self.authority),
                "guardians": {"keys": list(guardian_keys), "quorum": QUORUM},
                "log": {"origin": "guardian-test/log", "key": hex_key(self.log_key)},
                "witnesses": {"keys": {WITNESS: hex_key(self.witness_key)}, "quorum": 1},
                **({} if scheme is None else {"scheme": dict(scheme)}),
            }
        )
        self.entries: list[bytes] = []
        self.board = self._new_board()

    @property
    def election_id(self) -> bytes:
        return self.manifest.election_id

    def _new_board(self) -> BulletinBoard:
        self.witness = Witness(
            WITNESS, self.witness_key, self.manifest.log_origin, self.log_key.verify_key
        )
        return BulletinBoard(
            MemoryStore(),
            self.log_key,
            self.manifest.log_origin,
            kinds.entry_rules(self.election_id, self.manifest.scheme_name),
            self.manifest.witness_keys(),
        )

    def fork(self, size: int) -> Self:
        """Another board that holds this board's first ``size`` entries (an equivocating log)."""
        other = type(self).__new__(type(self))
        other.__dict__.update(self.__dict__)
        other.entries = []
        other.board = other._new_board()
        for data in self.entries[:size]:
            other.append(data)
        return other

    def append(self, data: bytes) -> int:
        self.entries.append(data)
        return self.board.append([data]).first_index

    def post(self, kind: str, body: bytes, signers: Sequence[SigningKey]) -> int:
        return self.append(Entry.create(kind, self.election_id, body, signers).encoded)

    def official(self, kind: str, body: bytes) -> int:
        return self.post(kind, body, self.officials)

    def append_files(self, directory: Path) -> None:
        for path in entry_files(directory):
            self.append(path.read_bytes())

    def joint_key(self, acknowledgements: Path) -> None:
        """One joint-key entry: the officials sign the body every guardian acknowledged."""
        acks = [Entry.decode(path.read_bytes()) for path in entry_files(acknowledgements)]
        self.append(merge_signatures(acks, self.officials).encoded)

    def witness_round(self, now: int) -> None:
        latest, size = self.board.latest_checkpoint(), self.board.size
        old = self.witness.state.size
        signature = self.witness.add_checkpoint(
            latest, old, self.board.consistency_proof(old, size), now
        )
        self.board.add_cosignature(size, signature)

    def export(self, directory: Path) -> Path:
        export_record(self.board, directory)
        return directory

    def context(self, reveals: Path) -> ElectionContext:
        keys = sorted(
            (GuardianKey.from_tlv(Entry.decode(p.read_bytes()).body) for p in entry_files(reveals)),
            key=lambda key: key.guardian,
        )
        return ElectionContext.create(self.manifest, [key.commitments for key in keys])

    def open_voting(self, voters: Sequence[SigningKey]) -> int:
        """The authority's credential list, then the officials' opening, witnessed; the
        opening's index."""
        credentials = CredentialList(
            tuple(sorted((v.verify_key for v in voters), key=lambda k: k.encode()))
        )
        self.post(kinds.CREDENTIALS, credentials.to_tlv(), [self.authority])
        opened_at = self.official(kinds.OPEN, PhaseMark("open", OPENED_AT).to_tlv())
        self.witness_round(OPENED_AT)
        return opened_at

    def close(self, *, witnessed: bool = True) -> None:
        self.official(kinds.CLOSE, PhaseMark("close", CLOSED_AT).to_tlv())
        if witnessed:
            self.witness_round(CLOSED_AT)


def identities(root: Path) -> list[str]:
    """Each guardian makes its key file ``root/g<i>.key``; their public keys, in order."""
    keys = []
    for g in GUARDIANS:
        text = ok(guardian("identity", "--key-file", root / f"g{g}.key", "--kdf", "interactive"))
        keys.append(text.split()[2])
    return keys


def publish_manifest(board: Board, path: Path) -> Path:
    """The manifest as the guardians read it (a YAML file), and as entry 0 of the board."""
    path.write_text(yaml.safe_dump(board.manifest.to_mapping()), encoding="utf-8")
    board.official(kinds.MANIFEST, board.manifest.to_tlv())
    return path


def decrypt(
    board: Board,
    root: Path,
    record: Path,
    outputs: dict[str, str],
    where: Manifest | ElectionContext,
) -> dict[int, GuardianShares]:
    """The deciding guardians answer ``record``'s tally in ``root/decryption-shares`` (each
    one's output as ``outputs["decrypt-<i>"]``), and the shares go on the board; by guardian."""
    shares_dir = root / "decryption-shares"
    for g in DECIDING:
        outputs[f"decrypt-{g}"] = ok(
            guardian(
                "decrypt",
                "--key-file",
                root / f"g{g}.key",
                "--record",
                record,
                "--outbox",
                shares_dir,
            )
        )
    board.append_files(shares_dir)
    return {
        body.guardian: body
        for body in (
            GuardianShares.from_tlv(Entry.decode(p.read_bytes()).body, where)
            for p in entry_files(shares_dir)
        )
    }


# --- the whole run and the checks both schemes make of it -----------------------------------------


@dataclass
class GuardianRun:
    """What the module's fixture ran: the guardians' key files, each command's output and the
    decrypted counts; under ``root``, the records it exported and the snapshots it took of key
    files along the way (:func:`snapshot`), by the names below."""

    root: Path
    board: Board
    manifest_file: Path
    outputs: dict[str, str]
    counts: dict[str, tuple[int, ...]]

    def key(self, guardian: int) -> Path:
        return self.root / f"g{guardian}.key"

    @property
    def snapshots(self) -> dict[str, Path]:
        return {path.stem: path for path in (self.root / "snapshots").iterdir()}

    @property
    def tallied_record(self) -> Path:
        """The record up to the officials' tally."""
        return self.root / "tallied-record"

    @property
    def final_record(self) -> Path:
        """The whole record, the result and its witnessed checkpoint included."""
        return self.root / "final-record"

    @property
    def forked_record(self) -> Path:
        """Another board's record after the same opening, with other ballots and its own
        tally (an equivocating log)."""
        return self.root / "forked-record"


def snapshot(root: Path, name: str, guardian: int = 1) -> None:
    """Keep a copy of a guardian's key file as it is now, as ``run.snapshots[name]``."""
    (root / "snapshots").mkdir(exist_ok=True)
    shutil.copy(root / f"g{guardian}.key", root / "snapshots" / f"{name}.key")


def publish_result(board: Board, root: Path, result: bytes) -> None:
    """The officials post the result, the witness cosigns it, and the final record is
    exported."""
    board.official(kinds.RESULT, result)
    board.witness_round(RESULT_AT)
    board.export(root / "final-record")


def copy_key(run: GuardianRun, snapshot: str, tmp_path: Path) -> tuple[Path, bytes]:
    """A copy of a key file snapshot to change freely, and its bytes."""
    target = tmp_path / f"{snapshot}.key"
    shutil.copy(run.snapshots[snapshot], target)
    return target, target.read_bytes()


def check_result_passes(run: GuardianRun) -> None:
    output = ok(
        guardian("check-result", "--record", run.final_record, "--manifest", run.manifest_file)
    )
    assert "verdict: the record checks" in output


def same_answer_again(run: GuardianRun, deciding: int, tmp_path: Path) -> None:
    """A guardian who answered the tally answers it again, byte for byte, and its key file
    does not change."""
    before = run.key(deciding).read_bytes()
    args = ["--record", run.tallied_record, "--outbox", tmp_path]
    assert "you answered this tally before" in ok(
        guardian("decrypt", "--key-file", run.key(deciding), *args)
    )
    name = f"decryption-share-g{deciding}.entry"
    first = (run.root / "decryption-shares" / name).read_bytes()
    assert (tmp_path / name).read_bytes() == first
    assert run.key(deciding).read_bytes() == before


def second_tally_refused(run: GuardianRun, tmp_path: Path, counted: int) -> None:
    """Guardian 1 answered the tally of one board; another board's tally of ``counted``
    ballots (an equivocating log) is refused, though guardian 2, who answered none, would
    answer it."""
    before = run.key(1).read_bytes()
    out = tmp_path / "out"
    args = ["--record", run.forked_record, "--outbox", out]
    refused(
        guardian("decrypt", "--key-file", run.key(1), *args),
        "you already answered another tally of this election",
    )
    assert run.key(1).read_bytes() == before
    assert not out.exists()
    other = tmp_path / "g2.key"
    shutil.copy(run.key(2), other)
    assert f"it is the sum of {counted} counted ballots" in ok(
        guardian("decrypt", "--key-file", other, *args)
    )
    assert (out / "decryption-share-g2.entry").exists()
