"""C2SP signed notes: key IDs, known answers, text round trip and strict parsing."""

from __future__ import annotations

import base64
import hashlib
import struct

import pytest

from evote.board.note import (
    ALGORITHM_COSIGNATURE_V1,
    ALGORITHM_ED25519,
    MAX_NOTE_BYTES,
    MAX_SIGNATURES,
    NoteSignature,
    SignedNote,
    key_id,
    parse_note,
    sign_note,
    verify_note,
)
from evote.crypto.signing import SigningKey, VerifyKey
from evote.errors import CheckpointError

# --- known answers ------------------------------------------------------------------------------
# golang.org/x/mod/sumdb/note (note_test.go): the reference implementation of signed notes.
# A vkey is "<name>+<key ID hex>+base64(algorithm byte ‖ public key)"; a skey carries the seed.
PETER_VKEY = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
PETER_SEED = base64.b64decode("AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz")[1:]
ENOCH_VKEY = "EnochRoot+af0cfe78+ATtqJ7zOtqQtYqOo0CpvDXNlMhV3HeJDpjrASKGLWdop"
GO_TEXT = (
    "If you think cryptography is the answer to your problem,\n"
    "then you don't know what your problem is.\n"
)
PETER_SIG = (
    "— PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotp"
    "RZb6KE6RyyBwJnAM=\n"
)
ENOCH_SIG = (
    "— EnochRoot rwz+eBzmZa0SO3NbfRGzPCpDckykFXSdeX+MNtCOXm2/5n2tiOHp+vAF1aGrQ5ovTG01oOTGwnWLox3"
    "3WWd1RvMc+QQ=\n"
)
# transparency-dev/formats (note_cosigv1_test.go): a native cosignature/v1 (0x04) vkey.
REMORA_VKEY = "remora.n621.de+da77ade7+BOvN63jn/bLvkieywe8R6UYAtVtNbZpXh34x7onlmtw2"
# c2sp.org/signed-note: the example note's signature line (no public key is published).
SPEC_SIGNATURE_LINE = (
    "— quasimodo.example/salvatore NnugSzTjtVAewIS+Z/iJhUPeFDkO/5QQ2i5ddnGITLlC+EhfLW9oJKONrMou"
    "FSQU0xMcXxj99ihAQwaqP3ZekRwNtIc=\n"
)

KEY = SigningKey(b"\x11" * 32)
OTHER_KEY = SigningKey(b"\x12" * 32)
NAME = "evote.test/abc"
BODY = "evote.test/abc\n3\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n"


def split_vkey(vkey: str) -> tuple[str, bytes, int, VerifyKey]:
    name, hash_hex, encoded = vkey.split("+")
    raw = base64.b64decode(encoded)
    return name, bytes.fromhex(hash_hex), raw[0], VerifyKey.decode(raw[1:])


@pytest.mark.parametrize("vkey", [PETER_VKEY, ENOCH_VKEY, REMORA_VKEY])
def test_key_id_matches_published_vkeys(vkey: str) -> None:
    name, expected, algorithm, public_key = split_vkey(vkey)
    assert key_id(name, algorithm, public_key) == expected


def test_key_id_construction_byte_by_byte() -> None:
    public_key = KEY.verify_key.encode()
    for algorithm in (ALGORITHM_ED25519, ALGORITHM_COSIGNATURE_V1):
        preimage = NAME.encode("ascii") + b"\x0a" + bytes([algorithm]) + public_key
        assert len(preimage) == len(NAME) + 1 + 1 + 32
        expected = hashlib.sha256(preimage).digest()[:4]
        assert key_id(NAME, algorithm, KEY.verify_key) == expected
    # The algorithm byte separates a log key from the same key used as a witness.
    assert key_id(NAME, ALGORITHM_ED25519, KEY.verify_key) != key_id(
        NAME, ALGORITHM_COSIGNATURE_V1, KEY.verify_key
    )
    assert key_id(NAME, ALGORITHM_ED25519, KEY.verify_key) != key_id(
        NAME + "x", ALGORITHM_ED25519, KEY.verify_key
    )


def test_key_id_uses_utf8_of_the_name() -> None:
    name = "évote.test/ü"
    expected = hashlib.sha256(name.encode("utf-8") + b"\n\x01" + KEY.verify_key.encode()).digest()[
        :4
    ]
    assert key_id(name, ALGORITHM_ED25519, KEY.verify_key) == expected


def test_reproduces_the_go_reference_signature() -> None:
    key = SigningKey(PETER_SEED)
    _, _, _, public_key = split_vkey(PETER_VKEY)
    assert key.verify_key == public_key
    signature = sign_note(GO_TEXT, "PeterNeumann", key)
    assert signature.key_id == bytes.fromhex("c74f20a3")
    assert signature.line() == PETER_SIG
    assert SignedNote(GO_TEXT, (signature,)).text() == GO_TEXT + "\n" + PETER_SIG


def test_opens_the_go_reference_note_with_two_signers() -> None:
    note = parse_note(GO_TEXT + "\n" + PETER_SIG + ENOCH_SIG)
    assert note.body == GO_TEXT
    assert [s.name for s in note.signatures] == ["PeterNeumann", "EnochRoot"]
    assert note.signatures[1].key_id == bytes.fromhex("af0cfe78")
    for vkey in (PETER_VKEY, ENOCH_VKEY):
        name, _, _, public_key = split_vkey(vkey)
        verify_note(note, name, public_key)


def test_the_spec_example_signature_line_has_the_documented_structure() -> None:
    note = parse_note("Ognuno sta solo sul cuor della terra\n\n" + SPEC_SIGNATURE_LINE)
    (signature,) = note.signatures
    assert signature.name == "quasimodo.example/salvatore"
    raw = base64.b64decode(SPEC_SIGNATURE_LINE.split(" ")[2])
    assert signature.key_id == raw[:4] == bytes.fromhex("367ba04b")
    assert signature.payload == raw[4:]
    assert len(signature.payload) == 64  # an Ed25519 signature
    assert signature.line() == SPEC_SIGNATURE_LINE


# --- round trip ---------------------------------------------------------------------------------


def test_text_round_trip() -> None:
    note = SignedNote(BODY, (sign_note(BODY, NAME, KEY), sign_note(BODY, "w.test/1", OTHER_KEY)))
    text = note.text()
    assert text == BODY + "\n" + "".join(s.line() for s in note.signatures)
    assert parse_note(text) == note
    assert parse_note(text).text() == text


def test_signature_line_format() -> None:
    signature = NoteSignature("a.test/b", b"\x01\x02\x03\x04", b"\xff" * 5)
    assert (
        signature.line()
        == "— a.test/b " + base64.b64encode(b"\x01\x02\x03\x04" + b"\xff" * 5).decode() + "\n"
    )


def test_sign_and_verify() -> None:
    note = SignedNote(BODY, (sign_note(BODY, NAME, KEY),))
    verify_note(note, NAME, KEY.verify_key)
    KEY.verify_key.verify(BODY.encode(), note.signatures[0].payload)


def test_verify_refuses_another_key_or_name() -> None:
    note = SignedNote(BODY, (sign_note(BODY, NAME, KEY),))
    with pytest.raises(CheckpointError, match="no signature from"):
        verify_note(note, NAME, OTHER_KEY.verify_key)
    with pytest.raises(CheckpointError, match="no signature from"):
        verify_note(note, "evote.test/other", KEY.verify_key)


def test_verify_refuses_a_known_key_whose_signature_fails() -> None:
    good = sign_note(BODY, NAME, KEY)
    tampered = NoteSignature(
        good.name, good.key_id, bytes([good.payload[0] ^ 1]) + good.payload[1:]
    )
    with pytest.raises(CheckpointError, match="does not verify"):
        verify_note(SignedNote(BODY, (tampered,)), NAME, KEY.verify_key)
    # The signature of one body does not cover another.
    with pytest.raises(CheckpointError, match="does not verify"):
        verify_note(SignedNote(BODY + "x\n", (good,)), NAME, KEY.verify_key)


def test_with_signature_refuses_a_second_line_from_the_same_key() -> None:
    signature = sign_note(BODY, NAME, KEY)
    note = SignedNote(BODY, (signature,))
    with pytest.raises(CheckpointError, match="already carries a signature"):
        note.with_signature(signature)
    other = sign_note(BODY, "w.test/1", OTHER_KEY)
    assert note.with_signature(other).signatures == (signature, other)


@pytest.mark.parametrize("name", ["", "a b", "a+b", "a\tb", "a\u00a0b", "a\u2003b"])
def test_sign_refuses_bad_key_names(name: str) -> None:
    with pytest.raises(CheckpointError, match="invalid key name"):
        sign_note(BODY, name, KEY)


@pytest.mark.parametrize("body", ["", "no newline", "a\n\nb\n", "a\x01\n", "a\tb\n"], ids=repr)
def test_sign_refuses_bad_bodies(body: str) -> None:
    with pytest.raises(CheckpointError, match="note body"):
        sign_note(body, NAME, KEY)


# --- strict parsing -----------------------------------------------------------------------------


def good_text() -> str:
    return SignedNote(BODY, (sign_note(BODY, NAME, KEY),)).text()


def test_good_text_parses() -> None:
    assert parse_note(good_text()).body == BODY


def test_missing_blank_line_is_refused() -> None:
    text = BODY + sign_note(BODY, NAME, KEY).line()
    with pytest.raises(CheckpointError, match="needs an empty line"):
        parse_note(text)


def test_no_signature_is_refused() -> None:
    with pytest.raises(CheckpointError):
        parse_note(BODY + "\n")
    with pytest.raises(CheckpointError):
        parse_note(BODY)


def test_missing_final_newline_is_refused() -> None:
    with pytest.raises(CheckpointError, match="ends in a newline"):
        parse_note(good_text()[:-1])


@pytest.mark.parametrize("encoded", ["!!!!", "AAAA*AAA", "AAAAA", "AAA", "AA==AA=="])
def test_bad_base64_is_refused(encoded: str) -> None:
    with pytest.raises(CheckpointError, match="base64"):
        parse_note(f"{BODY}\n— {NAME} {encoded}\n")


def test_non_canonical_base64_is_refused() -> None:
    line = sign_note(BODY, NAME, KEY).line()
    encoded = line.split(" ")[2].rstrip("\n")
    # 68 bytes encode with one '=' of padding: the last character carries 2 unused bits.
    assert encoded.endswith("=")
    last = encoded[-2]
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
    twin = alphabet[alphabet.index(last) ^ 1]
    non_canonical = encoded[:-2] + twin + "="
    assert base64.b64decode(non_canonical) == base64.b64decode(encoded)
    with pytest.raises(CheckpointError, match="not canonical base64"):
        parse_note(f"{BODY}\n— {NAME} {non_canonical}\n")


def test_signature_of_only_a_key_id_is_refused() -> None:
    encoded = base64.b64encode(b"\x01\x02\x03\x04").decode()
    with pytest.raises(CheckpointError, match="too short"):
        parse_note(f"{BODY}\n— {NAME} {encoded}\n")


@pytest.mark.parametrize("prefix", ["- ", "—", "-- ", "", " — ", "–  ", "—\u00a0"])
def test_missing_em_dash_is_refused(prefix: str) -> None:
    line = sign_note(BODY, NAME, KEY).line()[2:]
    with pytest.raises(CheckpointError):
        parse_note(f"{BODY}\n{prefix}{line}")


def test_missing_em_dash_message() -> None:
    line = sign_note(BODY, NAME, KEY).line()[2:]
    with pytest.raises(CheckpointError, match="starts with an em dash and a space"):
        parse_note(f"{BODY}\n- {line}")


def test_duplicate_signature_line_is_refused() -> None:
    line = sign_note(BODY, NAME, KEY).line()
    with pytest.raises(CheckpointError, match="two signature lines from the same key"):
        parse_note(f"{BODY}\n{line}{line}")


def test_same_name_with_another_key_id_is_not_a_duplicate() -> None:
    lines = sign_note(BODY, NAME, KEY).line() + sign_note(BODY, NAME, OTHER_KEY).line()
    assert len(parse_note(f"{BODY}\n{lines}").signatures) == 2


@pytest.mark.parametrize("character", ["\x00", "\x01", "\t", "\r", "\x1b", "\x1f"], ids=repr)
def test_control_characters_in_the_body_are_refused(character: str) -> None:
    body = BODY.replace("\n3\n", f"\n3{character}\n")
    text = f"{body}\n{sign_note(BODY, NAME, KEY).line()}"
    with pytest.raises(CheckpointError, match="control characters"):
        parse_note(text)


@pytest.mark.parametrize("character", ["\x00", "\x01", "\x1b", "\x1f"], ids=repr)
def test_control_characters_in_a_signature_line_are_refused(character: str) -> None:
    # signed-note: a note MUST NOT contain ASCII control characters other than newline,
    # anywhere, including in a key name (which is not white space, so the name check alone
    # would let it through).
    line = sign_note(BODY, NAME, KEY).line()
    name, _, encoded = line[2:].partition(" ")
    text = f"{BODY}\n— {name}{character}x {encoded}"
    with pytest.raises(CheckpointError, match="control characters"):
        parse_note(text)


def test_carriage_return_line_endings_are_refused() -> None:
    with pytest.raises(CheckpointError):
        parse_note(good_text().replace("\n", "\r\n"))


@pytest.mark.parametrize("name", ["a+b", "a\u00a0b", "a\u2003b"])
def test_bad_key_name_in_a_line_is_refused(name: str) -> None:
    encoded = base64.b64encode(b"\x00" * 68).decode()
    with pytest.raises(CheckpointError, match="invalid key name"):
        parse_note(f"{BODY}\n— {name} {encoded}\n")


def test_empty_line_in_the_body_is_refused() -> None:
    # signed-note allows empty lines in a note's text; a checkpoint has none, and refusing
    # them keeps one text form.
    body = "a\n\nb\n"
    with pytest.raises(CheckpointError, match="cannot contain an empty line"):
        parse_note(body + "\n" + sign_note("b\n", NAME, KEY).line())


def test_trailing_garbage_after_signatures_is_refused() -> None:
    with pytest.raises(CheckpointError):
        parse_note(good_text() + "Unexpected line.\n")
    with pytest.raises(CheckpointError):
        parse_note(good_text() + "\n")


def test_signature_count_limit() -> None:
    lines = [
        NoteSignature(f"w{i}", struct.pack(">I", i), b"\x00" * 64).line()
        for i in range(MAX_SIGNATURES + 1)
    ]
    assert len(parse_note(BODY + "\n" + "".join(lines[:MAX_SIGNATURES])).signatures) == 100
    with pytest.raises(CheckpointError, match=f"at most {MAX_SIGNATURES} signatures"):
        parse_note(BODY + "\n" + "".join(lines))


def test_size_limit() -> None:
    body = "x" * (MAX_NOTE_BYTES - 200) + "\n"
    text = body + "\n" + sign_note(body, NAME, KEY).line()
    assert len(text.encode()) < MAX_NOTE_BYTES
    parse_note(text)
    bigger = "x" * MAX_NOTE_BYTES + "\n"
    with pytest.raises(CheckpointError, match=f"at most {MAX_NOTE_BYTES} bytes"):
        parse_note(bigger + "\n" + sign_note(bigger, NAME, KEY).line())
