"""`evote ceremony run` and `evote ceremony verify-transcript` on the shipped scripts.

The shipped scripts are rehearsed through the command line, their transcripts verify (the
tally's and the dealer's also against their exported records), an altered transcript does
not, and a script whose expectation is not met fails at the step it names. The scheme B
dealer script also rehearses a guardian refusing a bad share; the scheme B tally script runs
from the dealer's key to the result with a guardian absent, and a decryption with too few
guardians, or with a guardian's bad shares, is rehearsed in either scheme on the same path.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner, Result

from evote.board.entry import Entry
from evote.board.record import read_entries
from evote.ceremony import messages
from evote.ceremony.messages import SealedShares
from evote.ceremony.rounds import CeremonyRun, Message, Post, Tamper, run_ceremony
from evote.ceremony.script import Script, parse_script
from evote.ceremony.transcript import StepRecord, Transcript, transcript_digest
from evote.cli import main
from evote.crypto.signing import SigningKey
from evote.election.manifest import Manifest
from evote.errors import CeremonyError
from evote.mock import ceremony_run
from evote.mock.ceremony_run import run_script
from evote.verify.runner import verify_record

CEREMONIES = Path(__file__).resolve().parents[2] / "ceremonies"
KEY_GENERATION = CEREMONIES / "key-generation-5-of-3.yaml"
TALLY = CEREMONIES / "tally-decryption-2-absent.yaml"
DEALER = CEREMONIES / "paillier-dealer-3-of-2.yaml"
PAILLIER_TALLY = CEREMONIES / "paillier-tally-1-absent.yaml"


@dataclass(frozen=True)
class Rehearsal:
    result: Result
    transcript: Path
    record: Path

    def document(self) -> dict[str, Any]:
        data = json.loads(self.transcript.read_text(encoding="utf-8"))
        assert isinstance(data, dict)
        return data

    def parsed(self) -> Transcript:
        return Transcript.from_json_text(self.transcript.read_text(encoding="utf-8"))

    def passed_steps(self) -> dict[str, StepRecord]:
        """Every step by its action, all of them passed."""
        steps = self.parsed().body.steps
        assert [step.status for step in steps] == ["passed"] * len(steps)
        return {step.action: step for step in steps}


def invoke(*args: str) -> Result:
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def said(result: Result) -> str:
    """Standard output with rich's line wrapping undone."""
    return " ".join(result.stdout.split())


def rehearse(script: Path, directory: Path) -> Rehearsal:
    transcript, record = directory / "transcript.json", directory / "record"
    result = invoke(
        "ceremony", "run", str(script), "--transcript", str(transcript), "--record", str(record)
    )
    return Rehearsal(result, transcript, record)


@pytest.fixture(scope="module")
def key_generation(tmp_path_factory: pytest.TempPathFactory) -> Rehearsal:
    return rehearse(KEY_GENERATION, tmp_path_factory.mktemp("key-generation"))


@pytest.fixture(scope="module")
def tally(tmp_path_factory: pytest.TempPathFactory) -> Rehearsal:
    return rehearse(TALLY, tmp_path_factory.mktemp("tally"))


@pytest.fixture(scope="module")
def dealer(tmp_path_factory: pytest.TempPathFactory) -> Rehearsal:
    return rehearse(DEALER, tmp_path_factory.mktemp("dealer"))


@pytest.fixture(scope="module")
def paillier_tally(tmp_path_factory: pytest.TempPathFactory) -> Rehearsal:
    return rehearse(PAILLIER_TALLY, tmp_path_factory.mktemp("paillier-tally"))


def write(document: dict[str, Any], path: Path) -> Path:
    path.write_text(json.dumps(document, indent=2, ensure_ascii=False), encoding="utf-8")
    return path


# --- the shipped scripts ---------------------------------------------------------------------


def passed_and_verifies(rehearsal: Rehearsal, steps: int) -> None:
    """The rehearsal passed all ``steps`` steps, and its transcript verifies against its
    exported record."""
    assert rehearsal.result.exit_code == 0, rehearsal.result.output
    assert f"CEREMONY PASSED: {steps} steps" in said(rehearsal.result)
    verified = invoke(
        "ceremony", "verify-transcript", str(rehearsal.transcript), "--record",
        str(rehearsal.record),
    )  # fmt: skip
    assert verified.exit_code == 0, verified.output
    assert "VERIFIED" in said(verified)
    assert "matches the record" in said(verified)


def test_key_generation_runs_and_its_transcript_verifies(key_generation: Rehearsal) -> None:
    passed_and_verifies(key_generation, 11)


def test_key_generation_transcript_lists_every_round(key_generation: Rehearsal) -> None:
    transcript = Transcript.from_json_text(key_generation.transcript.read_text(encoding="utf-8"))
    steps = transcript.body.steps
    assert all(step.status == "passed" for step in steps)
    kinds = [entry.kind for step in steps for entry in step.entries]
    assert kinds == [
        "manifest",
        *["ceremony-transport"] * 5,
        *["ceremony-commit"] * 5,
        *["guardian-key"] * 5,
        *["ceremony-shares"] * 5,
        "joint-key",
        *["key-check"] * 5,
    ]
    indices = [entry.index for step in steps for entry in step.entries]
    assert indices == list(range(len(indices)))
    assert steps[5].observed["complaints"] == 0
    assert steps[9].observed["verified"] == 5
    assert [w.role for w in transcript.body.witnesses] == ["witness-1", "witness-2"]
    assert transcript.body.final_checkpoint is not None
    assert transcript.body.final_checkpoint.count("witness-") == 3  # cosigned in step 11


def test_tally_decrypts_without_guardians_2_and_5_and_the_record_verifies(
    tally: Rehearsal,
) -> None:
    assert tally.result.exit_code == 0, tally.result.output
    transcript = Transcript.from_json_text(tally.transcript.read_text(encoding="utf-8"))
    steps = {step.action: step for step in transcript.body.steps}
    decrypt, result = steps["decrypt"], steps["result"]
    assert decrypt.observed["absent"] == ["guardian-2", "guardian-5"]
    assert [entry.kind for entry in decrypt.entries] == ["decryption-share"] * 3
    assert result.observed["guardians"] == ["guardian-1", "guardian-3", "guardian-4"]
    assert result.observed["matches-voters"] is True
    assert steps["verify-record"].observed["verdict"] == "pass"
    # The exported record passes the independent verifier again, with the election id.
    report = verify_record(tally.record, election_id=bytes.fromhex(transcript.body.election_id))
    assert report.passed, report.failed_checks()


def test_tally_transcript_verifies_against_its_record(tally: Rehearsal) -> None:
    verified = invoke(
        "ceremony", "verify-transcript", str(tally.transcript), "--record", str(tally.record)
    )
    assert verified.exit_code == 0, verified.output
    assert "VERIFIED" in said(verified)


def test_a_transcript_does_not_match_another_ceremony_record(
    key_generation: Rehearsal, tally: Rehearsal
) -> None:
    verified = invoke(
        "ceremony", "verify-transcript", str(key_generation.transcript), "--record",
        str(tally.record),
    )  # fmt: skip
    assert verified.exit_code == 1
    assert "FAILED" in said(verified)


def test_the_dealer_ceremony_runs_and_its_transcript_verifies(dealer: Rehearsal) -> None:
    passed_and_verifies(dealer, 5)


def test_the_dealer_transcript_shows_the_key_co_signed_and_every_share_accepted(
    dealer: Rehearsal,
) -> None:
    steps = dealer.passed_steps()
    kinds = [entry.kind for step in steps.values() for entry in step.entries]
    assert kinds == [
        "manifest",
        *["ceremony-transport"] * 3,
        "paillier-key",
        *["paillier-share"] * 3,
        *["paillier-key-check"] * 3,
    ]
    assert steps["deal"].observed["signatures"] == 3  # the dealer and officials 1 and 2
    assert steps["deal"].observed["modulus-bits"] == 2048
    accept = steps["accept-shares"].observed
    assert (accept["accepted"], accept["refused"], accept["verified"]) == (3, [], 3)
    assert "reasons" not in accept
    # The exported record's manifest names scheme B.
    manifest = Manifest.from_tlv(Entry.decode(read_entries(dealer.record)[0]).body)
    assert manifest.scheme_name == "paillier"


def dealer_script_dealing_a_bad_share(accept_expects: dict[str, Any]) -> str:
    """The shipped dealer script, with guardian 2 dealt a bad share and step 4 expecting
    ``accept_expects``."""
    document = yaml.safe_load(DEALER.read_text(encoding="utf-8"))
    document["steps"][2]["params"] = {"bad-shares": ["guardian-2"]}
    document["steps"][3]["expect"] = accept_expects
    return yaml.safe_dump(document, sort_keys=False, allow_unicode=True)


def test_a_guardian_refuses_a_bad_share_and_the_step_shows_it() -> None:
    text = dealer_script_dealing_a_bad_share(
        {"entries": 2, "accepted": 2, "refused": ["guardian-2"], "verified": 2}
    )
    run = run_script(parse_script(text), script_file="bad-share.yaml")
    assert run.passed, run.transcript.body.failure
    accept = run.transcript.body.steps[3]
    assert accept.observed["refused"] == ["guardian-2"]
    assert "guardian 2 refuses its Paillier key share" in str(accept.observed["reasons"])
    assert [entry.kind for entry in accept.entries] == ["paillier-key-check"] * 2
    run.transcript.verify()


def test_a_bad_share_fails_the_step_that_expects_every_share_accepted() -> None:
    text = dealer_script_dealing_a_bad_share(
        {"entries": 3, "accepted": 3, "refused": [], "verified": 3}
    )
    run = run_script(parse_script(text), script_file="bad-share.yaml")
    assert not run.passed
    body = run.transcript.body
    assert [step.status for step in body.steps] == ["passed"] * 3 + ["failed", "not run"]
    assert body.failure == (
        "step 4 (Guardians accept their shares and post key checks; accept-shares): "
        "expected entries 3, observed 2; expected accepted 3, observed 2; "
        "expected refused [], observed ['guardian-2']; expected verified 3, observed 2"
    )


# --- scheme B through the tally --------------------------------------------------------------


@pytest.mark.slow
def test_the_scheme_b_tally_runs_and_its_transcript_verifies(paillier_tally: Rehearsal) -> None:
    passed_and_verifies(paillier_tally, 13)


@pytest.mark.slow
def test_scheme_b_decrypts_without_guardian_2_and_the_result_is_the_voters(
    paillier_tally: Rehearsal,
) -> None:
    steps = paillier_tally.passed_steps()
    decrypt, result = steps["decrypt"], steps["result"]
    assert steps["tally"].observed["counted"] == 4
    assert [entry.kind for entry in decrypt.entries] == ["decryption-share"] * 2
    assert (decrypt.observed["absent"], decrypt.observed["not-counted"]) == (["guardian-2"], [])
    assert result.observed["guardians"] == ["guardian-1", "guardian-3"]
    assert result.observed["matches-voters"] is True
    assert steps["verify-record"].observed["verdict"] == "pass"
    manifest = Manifest.from_tlv(Entry.decode(read_entries(paillier_tally.record)[0]).body)
    assert manifest.scheme_name == "paillier"


def one_voter(document: dict[str, Any]) -> None:
    """Scheme B ballots cost about a second each: one voter is enough to decrypt something."""
    vote, tally_step = document["steps"][6], document["steps"][8]
    assert (vote["action"], tally_step["action"]) == ("vote", "tally")
    vote["params"]["voters"] = vote["expect"]["ballots"] = 1
    tally_step["expect"]["counted"] = 1


def scheme_b_decrypting(
    by: list[str], params: dict[str, Any], expect: dict[str, Any], result: dict[str, Any]
) -> Script:
    """The shipped scheme B tally script with one voter, step 10 (decrypt) done by ``by`` with
    ``params`` and expecting ``expect``, step 11 (result) expecting ``result``, and no step
    after it."""
    document = yaml.safe_load(PAILLIER_TALLY.read_text(encoding="utf-8"))
    one_voter(document)
    decrypt = document["steps"][9]
    decrypt.update(by=by, params=params, expect=expect)
    document["steps"][10]["expect"] = result
    document["steps"] = document["steps"][:11]
    return parse_script(yaml.safe_dump(document, sort_keys=False, allow_unicode=True))


def test_a_scheme_b_decrypt_with_fewer_than_the_quorum_present_fails_the_step() -> None:
    """The parser refuses such a step; the runner refuses it too (a script built in code) and
    nobody posts a share."""
    script = scheme_b_decrypting(
        ["guardian-1", "guardian-3"], {"absent": ["guardian-2"]}, {"verified": 2}, {"entries": 1}
    )
    decrypt = script.steps[9]
    alone = dataclasses.replace(
        decrypt, by=("guardian-1",), params={"absent": ("guardian-2", "guardian-3")}
    )
    run = run_script(
        dataclasses.replace(script, steps=(*script.steps[:9], alone)), script_file="alone.yaml"
    )
    body = run.transcript.body
    assert [step.status for step in body.steps] == ["passed"] * 9 + ["failed"]
    assert body.failure == (
        "step 10 (Decrypt with guardians 1 and 3 (2 absent); decrypt): 1 of 3 guardians present; "
        "decrypting needs 2, so nobody decrypts: come back with more guardians"
    )
    assert body.steps[9].entries == ()
    run.transcript.verify()


@pytest.mark.slow
def test_a_scheme_b_guardian_posting_bad_shares_is_not_counted() -> None:
    script = scheme_b_decrypting(
        ["guardians"],
        {"absent": [], "bad-shares": ["guardian-3"]},
        {"entries": 3, "verified": 2, "absent": [], "not-counted": ["guardian-3"]},
        {"entries": 1, "guardians": ["guardian-1", "guardian-2"], "matches-voters": True},
    )
    run = run_script(script, script_file="bad-decryption-share.yaml")
    assert run.passed, run.transcript.body.failure
    decrypt = run.transcript.body.steps[9]
    assert "guardian 3's share of" in str(decrypt.observed["reasons"])
    assert [entry.kind for entry in decrypt.entries] == ["decryption-share"] * 3
    run.transcript.verify()


def test_a_bad_share_that_leaves_too_few_guardians_fails_the_decrypt_step() -> None:
    """Scheme A on the same path: guardian 3 of the 3 present posts bad shares, so 2 verify
    where the quorum is 3; the shares are on the board, and the step fails naming guardian 3."""
    document = yaml.safe_load(TALLY.read_text(encoding="utf-8"))
    document["steps"][7]["params"]["bad-shares"] = ["guardian-3"]
    run = run_script(
        parse_script(yaml.safe_dump(document, sort_keys=False, allow_unicode=True)),
        script_file="bad-decryption-share.yaml",
    )
    body = run.transcript.body
    assert [step.status for step in body.steps] == ["passed"] * 7 + ["failed"] + ["not run"] * 3
    assert body.failure is not None
    assert body.failure.startswith(
        "step 8 (Decrypt with guardians 1, 3 and 4 (2 and 5 absent); decrypt): only 2 "
        "guardians' shares verify and decrypting needs 3 (guardian-3's are not counted: "
        "guardian 3's share of "
    )
    assert [entry.kind for entry in body.steps[7].entries] == ["decryption-share"] * 3


# --- tampering -------------------------------------------------------------------------------


def test_an_altered_transcript_fails(key_generation: Rehearsal, tmp_path: Path) -> None:
    document = key_generation.document()
    entry = document["transcript"]["steps"][3]["entries"][0]
    entry["tracking_code"] = "00" * 32
    verified = invoke("ceremony", "verify-transcript", str(write(document, tmp_path / "t.json")))
    assert verified.exit_code == 1
    assert "the digest does not match the transcript" in said(verified)
    assert "witness-1's signature does not verify" in said(verified)


def test_an_altered_digest_breaks_the_signatures(key_generation: Rehearsal, tmp_path: Path) -> None:
    document = key_generation.document()
    document["transcript"]["steps"][0]["title"] = "Publish another manifest"
    transcript = Transcript.from_json_text(json.dumps(document))
    document["digest"] = transcript_digest(transcript.raw).hex()  # consistent, but unsigned
    verified = invoke("ceremony", "verify-transcript", str(write(document, tmp_path / "t.json")))
    assert verified.exit_code == 1
    assert "digest does not match" not in said(verified)
    assert "signature does not verify" in said(verified)


def test_a_missing_signature_fails(key_generation: Rehearsal, tmp_path: Path) -> None:
    document = key_generation.document()
    document["signatures"] = document["signatures"][:1]
    verified = invoke("ceremony", "verify-transcript", str(write(document, tmp_path / "t.json")))
    assert verified.exit_code == 1
    assert "witness-2 did not sign" in said(verified)


def test_a_pinned_witness_key_must_match(key_generation: Rehearsal) -> None:
    document = key_generation.document()
    actual = document["transcript"]["witnesses"][0]["key"]
    other = SigningKey.generate().verify_key.encode().hex()
    path = str(key_generation.transcript)
    good = invoke("ceremony", "verify-transcript", path, "--witness-key", f"witness-1={actual}")
    assert good.exit_code == 0, good.output
    bad = invoke("ceremony", "verify-transcript", path, "--witness-key", f"witness-1={other}")
    assert bad.exit_code == 1
    assert "witness-1's key in the transcript is not the pinned key" in said(bad)


def test_a_transcript_whose_statuses_were_edited_is_refused(
    key_generation: Rehearsal, tmp_path: Path
) -> None:
    document = key_generation.document()
    expectation = document["transcript"]["steps"][5]["expectations"][1]
    expectation["observed"] = 2  # a complaint hidden behind "met": true
    verified = invoke("ceremony", "verify-transcript", str(write(document, tmp_path / "t.json")))
    assert verified.exit_code == 1
    assert "met contradicts its expected and observed values" in verified.output


# --- a failing expectation -------------------------------------------------------------------


def failing_script(tmp_path: Path) -> Path:
    """The key generation script, but expecting one complaint where there are none."""
    document = yaml.safe_load(KEY_GENERATION.read_text(encoding="utf-8"))
    document["steps"][5]["expect"]["complaints"] = 1
    path = tmp_path / "expects-a-complaint.yaml"
    path.write_text(yaml.safe_dump(document, sort_keys=False, allow_unicode=True))
    return path


def test_an_unmet_expectation_fails_the_run_naming_the_step(tmp_path: Path) -> None:
    transcript = tmp_path / "failed.json"
    result = invoke(
        "ceremony", "run", str(failing_script(tmp_path)), "--transcript", str(transcript)
    )
    assert result.exit_code == 1
    output = said(result)
    assert (
        "step 6 (Round 4: check shares, complain; check-and-complain): expected complaints 1, "
        "observed 0" in output
    )
    assert "CEREMONY FAILED" in output
    parsed = Transcript.from_json_text(transcript.read_text(encoding="utf-8"))
    assert [step.status for step in parsed.body.steps] == ["passed"] * 5 + ["failed"] + [
        "not run"
    ] * 5
    # The transcript of a failed rehearsal is still signed, and says that it failed.
    parsed.verify()
    verified = invoke("ceremony", "verify-transcript", str(transcript))
    assert verified.exit_code == 1
    assert "authentic, but the ceremony failed" in said(verified)


def test_a_cheating_guardian_fails_the_step_that_expects_no_complaints(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Guardian 2 seals a damaged share to guardian 4 (the rounds' tamper hook): guardian 4
    complains in round 4, so the step expecting no complaints fails and the run stops."""

    def damaged(kind: str, guardian: int, message: Message) -> Message:
        if kind == messages.SHARES and guardian == 2 and isinstance(message, SealedShares):
            return SealedShares(
                2,
                tuple(
                    (to, bytes([box[0] ^ 1]) + box[1:] if to == 4 else box)
                    for to, box in message.sealed
                ),
            )
        return message

    def cheating(manifest: Manifest, post: Post, tamper: Tamper = damaged) -> CeremonyRun:
        return run_ceremony(manifest, post, damaged)

    monkeypatch.setattr(ceremony_run, "run_ceremony", cheating)
    script = parse_script(KEY_GENERATION.read_text(encoding="utf-8"))
    run = run_script(script, script_file=KEY_GENERATION.name)
    assert not run.passed
    steps = run.transcript.body.steps
    assert steps[5].status == "failed"
    assert steps[5].observed["complaints"] == 1
    assert [entry.kind for entry in steps[5].entries] == ["ceremony-complaint"]
    assert run.transcript.body.failure == (
        "step 6 (Round 4: check shares, complain; check-and-complain): "
        "expected entries 0, observed 1; expected complaints 0, observed 1"
    )
    assert all(step.status == "not run" for step in steps[6:])
    run.transcript.verify()


def test_an_error_in_a_step_is_reported_as_that_step(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object) -> None:
        raise CeremonyError("guardian 3 has no key share yet")

    monkeypatch.setattr(ceremony_run, "post_key_checks", refuse)
    script = parse_script(KEY_GENERATION.read_text(encoding="utf-8"))
    run = run_script(script, script_file=KEY_GENERATION.name)
    body = run.transcript.body
    assert body.failure == "step 10 (Key checks; key-checks): guardian 3 has no key share yet"
    assert [step.status for step in body.steps[9:]] == ["failed", "not run"]
    assert body.steps[9].entries == ()


def test_a_script_error_is_refused_before_anything_runs(tmp_path: Path) -> None:
    document = yaml.safe_load(KEY_GENERATION.read_text(encoding="utf-8"))
    document["steps"][3]["action"] = "reveal-everything"
    path = tmp_path / "broken.yaml"
    path.write_text(yaml.safe_dump(document, sort_keys=False, allow_unicode=True))
    result = CliRunner().invoke(main, ["ceremony", "run", str(path)])
    assert result.exit_code == 1
    assert "step 4 (Round 2: reveal; reveal-everything): unknown action" in result.output


def test_an_existing_record_directory_is_refused(key_generation: Rehearsal) -> None:
    result = CliRunner().invoke(
        main, ["ceremony", "run", str(KEY_GENERATION), "--record", str(key_generation.record)]
    )
    assert result.exit_code == 1
    assert "already holds a record" in result.output
