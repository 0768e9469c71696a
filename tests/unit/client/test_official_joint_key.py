"""Officials sign the joint key from the command line (`evote official sign` on a guardian's
acknowledgement): only the key the guardians' ceremony on the board gives, only once the whole
ceremony is on the board and checks, and only before a joint key is posted; `evote post`
refuses a joint key that lacks a guardian's or the officials' signatures."""

from __future__ import annotations

import dataclasses

import pytest

from evote.board.entry import Entry, merge_signatures
from evote.ceremony.messages import JointKey
from evote.client.official.errors import EntryRefused, StepRefused
from evote.client.official.posting import check_entry_to_post
from evote.client.official.reading import BoardView
from evote.client.official.signing import sign_entry
from evote.record import kinds
from tests.unit.verify import builder
from tests.unit.verify.builder import ELECTION_ID, GUARDIANS, MANIFEST, OFFICIALS, STRANGER

E = builder.election()
JOINT_AT = E.at(kinds.JOINT_KEY)
BODY = E.entries[JOINT_AT].body


def view(entries: list[Entry]) -> BoardView:
    """The board as the officials' client checked it (the checkpoints play no part here)."""
    return BoardView(MANIFEST, tuple(entries), ())


def ceremony_done() -> BoardView:
    """The manifest and the guardians' whole ceremony; no joint key yet."""
    return view(list(E.entries[:JOINT_AT]))


def acknowledgement(guardian: int, body: bytes = BODY) -> Entry:
    """Guardian ``guardian``'s joint-key entry from the ceremony's last round."""
    return Entry.create(kinds.JOINT_KEY, ELECTION_ID, body, [GUARDIANS[guardian - 1]])


def test_an_official_signs_a_guardians_acknowledgement_of_the_right_key() -> None:
    signed = sign_entry(ceremony_done(), acknowledgement(1), [OFFICIALS[0]])
    assert set(signed.signers) == {GUARDIANS[0].verify_key, OFFICIALS[0].verify_key}
    assert signed.body == BODY


def test_a_joint_key_the_commitments_do_not_give_is_refused() -> None:
    honest = JointKey.from_tlv(BODY)
    keys = honest.verification_keys
    wrong = dataclasses.replace(honest, verification_keys=(keys[1], keys[0], *keys[2:]))
    with pytest.raises(EntryRefused, match="not the one the guardians' commitments"):
        sign_entry(ceremony_done(), acknowledgement(1, wrong.to_tlv()), [OFFICIALS[0]])


def test_no_joint_key_is_signed_before_the_ceremony_is_on_the_board() -> None:
    missing = next(i for i, e in enumerate(E.entries) if e.kind == kinds.CEREMONY_SHARES)
    short = view([e for i, e in enumerate(E.entries[:JOINT_AT]) if i != missing])
    with pytest.raises(StepRefused, match="not complete or does not check"):
        sign_entry(short, acknowledgement(2), [OFFICIALS[0]])


def test_no_second_joint_key_is_signed() -> None:
    posted = view(list(E.entries[: JOINT_AT + 1]))
    with pytest.raises(StepRefused, match=f"already on the board \\(entry {JOINT_AT}\\)"):
        sign_entry(posted, acknowledgement(1), [OFFICIALS[1]])


def test_only_officials_and_guardians_sign_a_joint_key() -> None:
    strange = merge_signatures([acknowledgement(1)], [STRANGER])
    with pytest.raises(EntryRefused, match="not the manifest's officials' and guardians'"):
        sign_entry(ceremony_done(), strange, [OFFICIALS[0]])
    with pytest.raises(EntryRefused, match="not one of the manifest's officials' keys"):
        sign_entry(ceremony_done(), acknowledgement(1), [GUARDIANS[1]])


def test_posting_a_joint_key_needs_every_guardian_and_the_officials_quorum() -> None:
    board = ceremony_done()
    officials = sign_entry(board, acknowledgement(1), OFFICIALS[:2])
    with pytest.raises(EntryRefused, match="signatures of guardian\\(s\\) 2, 3"):
        check_entry_to_post(board, officials)
    guardians = merge_signatures([acknowledgement(1), acknowledgement(2), acknowledgement(3)])
    with pytest.raises(EntryRefused, match="2 more official\\(s\\)"):
        check_entry_to_post(board, guardians)
    complete = merge_signatures([officials, guardians])
    assert check_entry_to_post(board, complete) is None
    assert check_entry_to_post(view([*board.entries, complete]), complete) == JOINT_AT
