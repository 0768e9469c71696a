"""C2SP checkpoints and cosignature/v1: format, log signature, cosignatures and quorum."""

from __future__ import annotations

import base64
import hashlib
import struct

import nacl.signing
import pytest

from evote.board.checkpoint import (
    MAX_TIMESTAMP,
    Checkpoint,
    check_every_signature,
    cosign,
    cosignature_time,
    open_checkpoint,
    sign_checkpoint,
    verify_witnessed,
)
from evote.board.note import (
    NoteSignature,
    SignedNote,
    key_id,
    parse_note,
    sign_note,
)
from evote.crypto.signing import SigningKey
from evote.errors import CheckpointError

# c2sp.org/tlog-checkpoint and c2sp.org/tlog-cosignature: the example checkpoint, its log
# signature and a witness cosignature, and the message the witness signed.
SPEC_BODY = "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n"
SPEC_LOG_LINE = (
    "— example.com/behind-the-sofa Az3grlgtzPICa5OS8npVmf1Myq/5IZniMp+ZJurmRDeOoRDe4URYN7u5/Zhcy"
    "v2q1gGzGku9nTo+zyWE+xeMcTOAYQ8=\n"
)
SPEC_WITNESS_LINE = (
    "— witness.example.com/w1 jWbPPwAAAABkGFDLEZMHwSRaJNiIDoe9DYn/zXcrtPHeolMI5OWXEhZCB9dlrDJsX3"
    "b2oyin1nPZqhf5nNo0xUe+mbIUBkBIfZ+qnA==\n"
)
SPEC_COSIGNED_MESSAGE = (
    "cosignature/v1\n"
    "time 1679315147\n"
    "example.com/behind-the-sofa\n"
    "20852163\n"
    "CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n"
)

ORIGIN = "evote.test/abc"
LOG_KEY = SigningKey(b"\x21" * 32)
OTHER_LOG_KEY = SigningKey(b"\x22" * 32)
WITNESS_KEYS = {f"witness.test/w{i}": SigningKey(bytes([0x30 + i]) * 32) for i in range(3)}
WITNESSES = {name: key.verify_key for name, key in WITNESS_KEYS.items()}
ROOT = hashlib.sha256(b"some root").digest()
CHECKPOINT = Checkpoint(ORIGIN, 7, ROOT)


def signed(checkpoint: Checkpoint = CHECKPOINT, key: SigningKey = LOG_KEY) -> SignedNote:
    return sign_checkpoint(checkpoint, key)


def witnessed(names: list[str], timestamp: int = 1_700_000_000) -> SignedNote:
    note = signed()
    for name in names:
        note = note.with_signature(cosign(note, name, WITNESS_KEYS[name], timestamp))
    return note


# --- the spec's examples ------------------------------------------------------------------------


def test_spec_example_checkpoint_parses() -> None:
    note = parse_note(SPEC_BODY + "\n" + SPEC_LOG_LINE + SPEC_WITNESS_LINE)
    assert note.body == SPEC_BODY
    checkpoint = Checkpoint.parse(note.body)
    assert checkpoint.origin == "example.com/behind-the-sofa"
    assert checkpoint.size == 20852163
    assert checkpoint.root == base64.b64decode("CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=")
    assert checkpoint.extensions == ()
    assert checkpoint.body() == SPEC_BODY
    log, witness = note.signatures
    assert (log.name, log.key_id.hex(), len(log.payload)) == (
        "example.com/behind-the-sofa",
        "033de0ae",
        64,
    )
    # A cosignature/v1 payload: 8-byte big-endian timestamp, then a 64-byte Ed25519 signature;
    # the timestamp is the one in the spec's signed message.
    assert (witness.name, witness.key_id.hex(), len(witness.payload)) == (
        "witness.example.com/w1",
        "8d66cf3f",
        72,
    )
    assert struct.unpack(">Q", witness.payload[:8]) == (1679315147,)
    assert note.text() == SPEC_BODY + "\n" + SPEC_LOG_LINE + SPEC_WITNESS_LINE


def test_cosignature_signs_the_message_the_spec_shows() -> None:
    key = WITNESS_KEYS["witness.test/w0"]
    note = SignedNote(SPEC_BODY, ())
    signature = cosign(note, "witness.test/w0", key, 1679315147)
    assert signature.payload[:8] == (1679315147).to_bytes(8, "big")
    # Checked with libsodium directly, over the literal message of tlog-cosignature.
    nacl.signing.VerifyKey(key.verify_key.encode()).verify(
        SPEC_COSIGNED_MESSAGE.encode(), signature.payload[8:]
    )


def test_cosignature_key_id_uses_algorithm_4() -> None:
    key = WITNESS_KEYS["witness.test/w0"]
    signature = cosign(signed(), "witness.test/w0", key, 5)
    expected = hashlib.sha256(b"witness.test/w0\n\x04" + key.verify_key.encode()).digest()[:4]
    assert signature.key_id == expected == key_id("witness.test/w0", 4, key.verify_key)


def test_log_signature_key_id_uses_algorithm_1_and_the_origin() -> None:
    (signature,) = signed().signatures
    assert signature.name == ORIGIN
    expected = hashlib.sha256(ORIGIN.encode() + b"\n\x01" + LOG_KEY.verify_key.encode()).digest()
    assert signature.key_id == expected[:4]


# --- checkpoint bodies --------------------------------------------------------------------------


def test_body_round_trip() -> None:
    body = CHECKPOINT.body()
    assert body == f"{ORIGIN}\n7\n{base64.b64encode(ROOT).decode()}\n"
    assert Checkpoint.parse(body) == CHECKPOINT


def test_body_round_trip_with_extensions() -> None:
    checkpoint = Checkpoint(ORIGIN, 0, ROOT, ("phase open", "x"))
    assert checkpoint.body().endswith("\nphase open\nx\n")
    assert Checkpoint.parse(checkpoint.body()) == checkpoint


def root_line() -> str:
    return base64.b64encode(ROOT).decode()


@pytest.mark.parametrize("size", ["07", "00", "+7", " 7", "7 ", "-7", "", "٧", "0x7", "7.0"])
def test_non_canonical_size_is_refused(size: str) -> None:
    with pytest.raises(CheckpointError, match="not a canonical decimal"):
        Checkpoint.parse(f"{ORIGIN}\n{size}\n{root_line()}\n")


def test_size_zero_is_canonical() -> None:
    assert Checkpoint.parse(f"{ORIGIN}\n0\n{root_line()}\n").size == 0


def test_non_canonical_root_base64_is_refused() -> None:
    encoded = root_line()
    # 32 bytes encode with one '=': the last character before it carries 2 unused bits.
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
    twin = encoded[:-2] + alphabet[alphabet.index(encoded[-2]) ^ 1] + "="
    assert base64.b64decode(twin) == ROOT
    with pytest.raises(CheckpointError, match="not canonical base64"):
        Checkpoint.parse(f"{ORIGIN}\n7\n{twin}\n")


@pytest.mark.parametrize(
    "root",
    ["!!!", base64.b64encode(ROOT).decode().rstrip("="), "", base64.b64encode(ROOT[:31]).decode()],
    ids=["garbage", "unpadded", "empty", "31-bytes"],
)
def test_bad_root_is_refused(root: str) -> None:
    with pytest.raises(CheckpointError):
        Checkpoint.parse(f"{ORIGIN}\n7\n{root}\n")


def test_empty_extension_line_is_refused() -> None:
    with pytest.raises(CheckpointError, match="empty extension line"):
        Checkpoint.parse(f"{ORIGIN}\n7\n{root_line()}\n\n")
    with pytest.raises(CheckpointError, match="empty extension line"):
        Checkpoint.parse(f"{ORIGIN}\n7\n{root_line()}\next\n\nmore\n")


@pytest.mark.parametrize(
    "body",
    [f"{ORIGIN}\n7\n", f"{ORIGIN}\n7\nAAAA", "", "\n\n\n"],
    ids=["two-lines", "no-final-newline", "empty", "blank-lines"],
)
def test_short_or_unterminated_bodies_are_refused(body: str) -> None:
    with pytest.raises(CheckpointError):
        Checkpoint.parse(body)


@pytest.mark.parametrize("origin", ["", "a b", "a+b"])
def test_bad_origin_is_refused(origin: str) -> None:
    with pytest.raises(CheckpointError):
        Checkpoint(origin, 1, ROOT)
    with pytest.raises(CheckpointError):
        Checkpoint.parse(f"{origin}\n1\n{root_line()}\n")


def test_bad_fields_are_refused() -> None:
    with pytest.raises(CheckpointError):
        Checkpoint(ORIGIN, -1, ROOT)
    with pytest.raises(CheckpointError):
        Checkpoint(ORIGIN, 1, ROOT[:31])


# --- the log's signature ------------------------------------------------------------------------


def test_sign_and_open() -> None:
    note = signed()
    text = note.text()
    checkpoint, opened = open_checkpoint(text, ORIGIN, LOG_KEY.verify_key)
    assert checkpoint == CHECKPOINT
    assert opened == note
    assert parse_note(text).text() == text


def test_open_refuses_a_wrong_log_key() -> None:
    text = signed().text()
    with pytest.raises(CheckpointError, match="no signature from"):
        open_checkpoint(text, ORIGIN, OTHER_LOG_KEY.verify_key)


def test_open_refuses_a_checkpoint_signed_by_another_key() -> None:
    text = signed(key=OTHER_LOG_KEY).text()
    with pytest.raises(CheckpointError, match="no signature from"):
        open_checkpoint(text, ORIGIN, LOG_KEY.verify_key)


def test_open_refuses_a_wrong_origin() -> None:
    text = signed().text()
    with pytest.raises(CheckpointError, match=r"is for log 'evote\.test/abc', not 'evote\.test/x'"):
        open_checkpoint(text, "evote.test/x", LOG_KEY.verify_key)


def test_open_refuses_a_changed_body() -> None:
    good = signed()
    for changed in (Checkpoint(ORIGIN, 8, ROOT), Checkpoint(ORIGIN, 7, bytes(32))):
        forged = SignedNote(changed.body(), good.signatures).text()
        with pytest.raises(CheckpointError, match="does not verify"):
            open_checkpoint(forged, ORIGIN, LOG_KEY.verify_key)


def test_open_refuses_a_log_signature_under_another_name() -> None:
    body = CHECKPOINT.body()
    text = SignedNote(body, (sign_note(body, "evote.test/other", LOG_KEY),)).text()
    with pytest.raises(CheckpointError, match="no signature from"):
        open_checkpoint(text, ORIGIN, LOG_KEY.verify_key)


def test_open_refuses_a_cosignature_in_place_of_the_log_signature() -> None:
    # The log key used as a cosigner (algorithm 4) has another key ID: not a log signature.
    note = SignedNote(CHECKPOINT.body(), ())
    note = note.with_signature(cosign(note, ORIGIN, LOG_KEY, 1))
    with pytest.raises(CheckpointError, match="no signature from"):
        open_checkpoint(note.text(), ORIGIN, LOG_KEY.verify_key)


def test_extensions_are_covered_by_the_log_signature() -> None:
    with_extension = Checkpoint(ORIGIN, 7, ROOT, ("phase closed",))
    good = signed(with_extension)
    forged = SignedNote(good.body.replace("closed", "opened"), good.signatures).text()
    with pytest.raises(CheckpointError, match="does not verify"):
        open_checkpoint(forged, ORIGIN, LOG_KEY.verify_key)


# --- cosignatures -------------------------------------------------------------------------------


@pytest.mark.parametrize("timestamp", [0, 1, 1679315147, MAX_TIMESTAMP])
def test_cosign_and_cosignature_time_round_trip(timestamp: int) -> None:
    name = "witness.test/w1"
    note = signed()
    note = note.with_signature(cosign(note, name, WITNESS_KEYS[name], timestamp))
    reparsed = parse_note(note.text())
    assert cosignature_time(reparsed, name, WITNESSES[name]) == timestamp


@pytest.mark.parametrize("timestamp", [-1, MAX_TIMESTAMP + 1, 2**64])
def test_cosign_refuses_out_of_range_timestamps(timestamp: int) -> None:
    with pytest.raises(CheckpointError, match="timestamp"):
        cosign(signed(), "witness.test/w1", WITNESS_KEYS["witness.test/w1"], timestamp)


def test_cosign_refuses_a_bad_name() -> None:
    with pytest.raises(CheckpointError, match="invalid key name"):
        cosign(signed(), "bad name", WITNESS_KEYS["witness.test/w1"], 1)


def test_cosignature_over_a_different_body_fails() -> None:
    name = "witness.test/w1"
    other = signed(Checkpoint(ORIGIN, 8, ROOT))
    stolen = cosign(other, name, WITNESS_KEYS[name], 100)
    note = signed().with_signature(stolen)
    with pytest.raises(CheckpointError, match="does not verify"):
        cosignature_time(note, name, WITNESSES[name])


def test_cosignature_with_a_changed_timestamp_fails() -> None:
    name = "witness.test/w1"
    note = signed()
    good = cosign(note, name, WITNESS_KEYS[name], 100)
    for timestamp in (99, 101, 0):
        changed = NoteSignature(name, good.key_id, struct.pack(">Q", timestamp) + good.payload[8:])
        with pytest.raises(CheckpointError, match="does not verify"):
            cosignature_time(note.with_signature(changed), name, WITNESSES[name])


def test_cosignature_with_an_out_of_range_timestamp_fails() -> None:
    name = "witness.test/w1"
    note = signed()
    good = cosign(note, name, WITNESS_KEYS[name], 100)
    changed = NoteSignature(name, good.key_id, struct.pack(">Q", 2**63) + good.payload[8:])
    with pytest.raises(CheckpointError, match="out-of-range timestamp"):
        cosignature_time(note.with_signature(changed), name, WITNESSES[name])


@pytest.mark.parametrize("length", [64, 71, 73])
def test_cosignature_of_the_wrong_length_fails(length: int) -> None:
    name = "witness.test/w1"
    note = signed()
    good = cosign(note, name, WITNESS_KEYS[name], 100)
    changed = NoteSignature(name, good.key_id, (good.payload * 2)[:length])
    with pytest.raises(CheckpointError, match="wrong length"):
        cosignature_time(note.with_signature(changed), name, WITNESSES[name])


def test_missing_cosignature_is_reported() -> None:
    with pytest.raises(CheckpointError, match=r"no cosignature from witness witness\.test/w1"):
        cosignature_time(signed(), "witness.test/w1", WITNESSES["witness.test/w1"])


def test_a_plain_note_signature_is_not_a_cosignature() -> None:
    # Same name and key, algorithm 1 instead of 4: another key ID, so it is not found.
    name = "witness.test/w1"
    body = CHECKPOINT.body()
    note = signed().with_signature(sign_note(body, name, WITNESS_KEYS[name]))
    with pytest.raises(CheckpointError, match="no cosignature"):
        cosignature_time(note, name, WITNESSES[name])


# --- quorum -------------------------------------------------------------------------------------


def test_verify_witnessed_quorum_met() -> None:
    text = witnessed(["witness.test/w0", "witness.test/w2"]).text()
    assert verify_witnessed(text, ORIGIN, LOG_KEY.verify_key, WITNESSES, 2) == CHECKPOINT
    assert verify_witnessed(text, ORIGIN, LOG_KEY.verify_key, WITNESSES, 1) == CHECKPOINT


def test_verify_witnessed_quorum_not_met() -> None:
    text = witnessed(["witness.test/w0"]).text()
    with pytest.raises(CheckpointError, match="has 1 valid cosignatures, needs 2"):
        verify_witnessed(text, ORIGIN, LOG_KEY.verify_key, WITNESSES, 2)
    with pytest.raises(CheckpointError, match="has 0 valid cosignatures, needs 1"):
        verify_witnessed(signed().text(), ORIGIN, LOG_KEY.verify_key, WITNESSES, 1)


def test_a_bad_cosignature_does_not_count() -> None:
    note = witnessed(["witness.test/w0"])
    name = "witness.test/w1"
    stolen = cosign(signed(Checkpoint(ORIGIN, 8, ROOT)), name, WITNESS_KEYS[name], 1)
    text = note.with_signature(stolen).text()
    with pytest.raises(CheckpointError, match=r"has 1 valid cosignatures, needs 2 \(.*does not"):
        verify_witnessed(text, ORIGIN, LOG_KEY.verify_key, WITNESSES, 2)


def test_one_witness_signing_twice_does_not_count_twice() -> None:
    name = "witness.test/w0"
    note = witnessed([name])
    again = cosign(note, name, WITNESS_KEYS[name], 2_000_000_000)
    with pytest.raises(CheckpointError, match="already carries"):
        note.with_signature(again)
    # Even smuggled in as a second line under another (unknown) name, it counts once.
    smuggled = NoteSignature("witness.test/w9", again.key_id, again.payload)
    text = note.with_signature(smuggled).text()
    with pytest.raises(CheckpointError, match="has 1 valid cosignatures, needs 2"):
        verify_witnessed(text, ORIGIN, LOG_KEY.verify_key, WITNESSES, 2)


def test_unknown_signers_are_ignored_by_verify_witnessed() -> None:
    stranger = SigningKey(b"\x44" * 32)
    note = witnessed(["witness.test/w0", "witness.test/w1"])
    note = note.with_signature(cosign(note, "stranger.test/w", stranger, 1))
    verify_witnessed(note.text(), ORIGIN, LOG_KEY.verify_key, WITNESSES, 2)


def test_verify_witnessed_requires_the_log_signature() -> None:
    note = witnessed(["witness.test/w0", "witness.test/w1"])
    with pytest.raises(CheckpointError, match="no signature from"):
        verify_witnessed(note.text(), ORIGIN, OTHER_LOG_KEY.verify_key, WITNESSES, 2)


@pytest.mark.parametrize("quorum", [0, -1, 4])
def test_impossible_quorum_is_refused(quorum: int) -> None:
    text = witnessed(list(WITNESSES)).text()
    with pytest.raises(CheckpointError, match="impossible"):
        verify_witnessed(text, ORIGIN, LOG_KEY.verify_key, WITNESSES, quorum)


# --- every signature line accounted for ---------------------------------------------------------


def test_check_every_signature_accepts_the_log_and_listed_witnesses() -> None:
    note = witnessed(list(WITNESSES))
    check_every_signature(note, ORIGIN, LOG_KEY.verify_key, WITNESSES)
    check_every_signature(signed(), ORIGIN, LOG_KEY.verify_key, WITNESSES)


def test_check_every_signature_refuses_an_unknown_signer() -> None:
    stranger = SigningKey(b"\x44" * 32)
    note = witnessed(["witness.test/w0"])
    note = note.with_signature(cosign(note, "stranger.test/w", stranger, 1))
    with pytest.raises(CheckpointError, match=r"unknown signer 'stranger\.test/w'"):
        check_every_signature(note, ORIGIN, LOG_KEY.verify_key, WITNESSES)


def test_check_every_signature_refuses_a_listed_name_with_another_key() -> None:
    stranger = SigningKey(b"\x44" * 32)
    note = signed()
    note = note.with_signature(cosign(note, "witness.test/w0", stranger, 1))
    with pytest.raises(CheckpointError, match=r"unknown signer 'witness\.test/w0'"):
        check_every_signature(note, ORIGIN, LOG_KEY.verify_key, WITNESSES)


def test_check_every_signature_refuses_a_second_log_line_with_another_key() -> None:
    note = signed()
    note = note.with_signature(sign_note(note.body, ORIGIN, OTHER_LOG_KEY))
    # Both lines verify on their own, and a C2SP client would ignore the unknown one...
    open_checkpoint(note.text(), ORIGIN, LOG_KEY.verify_key)
    # ...but in a record every line must be accounted for.
    with pytest.raises(CheckpointError, match=f"unknown signer '{ORIGIN}'"):
        check_every_signature(note, ORIGIN, LOG_KEY.verify_key, WITNESSES)


def test_check_every_signature_refuses_a_bad_witness_line() -> None:
    name = "witness.test/w1"
    stolen = cosign(signed(Checkpoint(ORIGIN, 8, ROOT)), name, WITNESS_KEYS[name], 1)
    note = signed().with_signature(stolen)
    with pytest.raises(CheckpointError, match="does not verify"):
        check_every_signature(note, ORIGIN, LOG_KEY.verify_key, WITNESSES)


def test_check_every_signature_refuses_a_witness_plain_signature() -> None:
    # A listed witness name with its key, but algorithm 1: the key ID is not the cosigner's.
    name = "witness.test/w1"
    note = signed().with_signature(sign_note(CHECKPOINT.body(), name, WITNESS_KEYS[name]))
    with pytest.raises(CheckpointError, match="unknown signer"):
        check_every_signature(note, ORIGIN, LOG_KEY.verify_key, WITNESSES)


def test_check_every_signature_requires_the_log_signature() -> None:
    body = CHECKPOINT.body()
    note = SignedNote(body, ())
    name = "witness.test/w1"
    note = note.with_signature(cosign(note, name, WITNESS_KEYS[name], 1))
    with pytest.raises(CheckpointError, match="no signature from"):
        check_every_signature(note, ORIGIN, LOG_KEY.verify_key, WITNESSES)
