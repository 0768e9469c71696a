"""A ceremony's transcript: what each step did and posted, its digest, the witnesses' signatures.

A transcript is one JSON document::

    {"transcript": {...body...}, "digest": "<hex>", "signatures": [{"role", "key", "signature"}]}

The body lists the script (title, file name, SHA-256 of its text), the election id, the
witnesses who sign (role, name, Ed25519 public key), the statement they sign, and every step in
order: who acted, the action and its parameters, what each participant checks and what is
signed (copied from the script), the status (``passed``, ``failed`` or ``not run``), what was
observed against what was expected, the entries posted (leaf index, kind, tracking code) and
the board's checkpoint (size, root) after the step. It ends with the final checkpoint note and
the outcome.

``digest`` is SHA-256 of the body in canonical JSON (keys sorted, no whitespace, UTF-8, only
text, whole numbers, booleans, null, lists and objects). Each witness signs
``TLV(["evote/v1", "ceremony-transcript", digest])`` with Ed25519. Any change to the body,
however small, changes the digest and so breaks every signature.

This module is pure: it builds, serialises, parses and checks transcripts in memory.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Final, Literal, cast

from evote.board.checkpoint import Checkpoint
from evote.board.note import parse_note
from evote.board.record import Record
from evote.crypto import encoding
from evote.crypto.signing import SigningKey, VerifyKey
from evote.errors import DecodeError, EvoteError, InvalidSignature, VerificationError

FORMAT: Final = "evote/v1/ceremony-transcript"

Json = None | bool | int | str | list["Json"] | dict[str, "Json"]
Status = Literal["passed", "failed", "not run"]
_STATUSES: Final = ("passed", "failed", "not run")


class TranscriptError(VerificationError):
    """A transcript is malformed, altered, or not signed by its witnesses."""


def canonical_json(value: Json) -> bytes:
    """The canonical bytes of a JSON value: sorted keys, no whitespace, UTF-8."""
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode("utf-8")


def transcript_digest(body: Json) -> bytes:
    return hashlib.sha256(canonical_json(body)).digest()


def signed_message(digest: bytes) -> bytes:
    """What each witness signs: the digest, domain-separated."""
    return encoding.encode(["evote/v1", "ceremony-transcript", digest])


# --- the parts of a body ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PostedEntry:
    index: int
    kind: str
    tracking_code: str

    def to_json(self) -> Json:
        return {"index": self.index, "kind": self.kind, "tracking_code": self.tracking_code}


@dataclass(frozen=True, slots=True)
class ExpectationResult:
    name: str
    expected: Json
    observed: Json

    @property
    def met(self) -> bool:
        return self.expected == self.observed

    def to_json(self) -> Json:
        return {
            "name": self.name,
            "expected": self.expected,
            "observed": self.observed,
            "met": self.met,
        }


@dataclass(frozen=True, slots=True)
class StepRecord:
    number: int
    title: str
    action: str
    by: tuple[str, ...]
    rehearsal_only: bool
    params: dict[str, Json]
    checks: tuple[str, ...]
    signs: tuple[str, ...]
    status: Status
    expectations: tuple[ExpectationResult, ...] = ()
    observed: dict[str, Json] = field(default_factory=dict)
    error: str | None = None
    entries: tuple[PostedEntry, ...] = ()
    checkpoint_size: int | None = None
    checkpoint_root: str | None = None

    @property
    def label(self) -> str:
        return f"step {self.number} ({self.title}; {self.action})"

    def to_json(self) -> Json:
        return {
            "number": self.number,
            "title": self.title,
            "action": self.action,
            "by": list(self.by),
            "rehearsal_only": self.rehearsal_only,
            "params": dict(self.params),
            "checks": list(self.checks),
            "signs": list(self.signs),
            "status": self.status,
            "expectations": [e.to_json() for e in self.expectations],
            "observed": dict(self.observed),
            "error": self.error,
            "entries": [e.to_json() for e in self.entries],
            "checkpoint": None
            if self.checkpoint_size is None
            else {"size": self.checkpoint_size, "root": self.checkpoint_root},
        }


@dataclass(frozen=True, slots=True)
class WitnessKey:
    role: str
    name: str
    key: VerifyKey

    def to_json(self) -> Json:
        return {"role": self.role, "name": self.name, "key": self.key.encode().hex()}


@dataclass(frozen=True, slots=True)
class TranscriptBody:
    script_title: str
    script_file: str
    script_sha256: str
    date: str
    election_name: str
    election_id: str
    witnesses: tuple[WitnessKey, ...]
    statement: str
    steps: tuple[StepRecord, ...]
    final_checkpoint: str | None
    outcome: Literal["passed", "failed"]
    failure: str | None

    def to_json(self) -> dict[str, Json]:
        return {
            "format": FORMAT,
            "script": {
                "title": self.script_title,
                "file": self.script_file,
                "sha256": self.script_sha256,
            },
            "date": self.date,
            "election": {"name": self.election_name, "id": self.election_id},
            "witnesses": [w.to_json() for w in self.witnesses],
            "statement": self.statement,
            "steps": [s.to_json() for s in self.steps],
            "final_checkpoint": self.final_checkpoint,
            "outcome": self.outcome,
            "failure": self.failure,
        }

    @property
    def passed(self) -> bool:
        return self.outcome == "passed"


@dataclass(frozen=True, slots=True)
class WitnessSignature:
    role: str
    key: str
    signature: str

    def to_json(self) -> Json:
        return {"role": self.role, "key": self.key, "signature": self.signature}


@dataclass(frozen=True, slots=True)
class Transcript:
    """A body as it was read or built (``raw``, what the digest covers) and its signatures."""

    body: TranscriptBody
    raw: dict[str, Json]
    digest: str
    signatures: tuple[WitnessSignature, ...]

    @classmethod
    def sign(cls, body: TranscriptBody, signers: Sequence[tuple[str, SigningKey]]) -> Transcript:
        """Have each ``(role, key)`` sign the body's digest (the keys must be the body's)."""
        listed = {w.role: w.key for w in body.witnesses}
        raw = body.to_json()
        digest = transcript_digest(raw)
        signatures = []
        for role, key in signers:
            if listed.get(role) != key.verify_key:
                raise TranscriptError(f"{role} is not a witness of this transcript with that key")
            signatures.append(
                WitnessSignature(
                    role, key.verify_key.encode().hex(), key.sign(signed_message(digest)).hex()
                )
            )
        return cls(body, raw, digest.hex(), tuple(signatures))

    def to_json(self) -> dict[str, Json]:
        return {
            "transcript": self.raw,
            "digest": self.digest,
            "signatures": [s.to_json() for s in self.signatures],
        }

    def to_json_text(self) -> str:
        return json.dumps(self.to_json(), indent=2, ensure_ascii=False) + "\n"

    @classmethod
    def from_json_text(cls, text: str) -> Transcript:
        try:
            document = json.loads(text)
        except json.JSONDecodeError as error:
            raise TranscriptError(f"the transcript is not JSON: {error}") from error
        top = _object(document, "the transcript file")
        _fields(top, {"transcript", "digest", "signatures"}, "the transcript file")
        raw = _object(top["transcript"], "transcript")
        signatures = tuple(
            _signature(item, f"signatures[{i}]")
            for i, item in enumerate(_array(top["signatures"], "signatures"))
        )
        return cls(_body(raw), raw, _str(top["digest"], "digest"), signatures)

    def verify(self, pinned: Mapping[str, VerifyKey] | None = None) -> None:
        """Raise :class:`TranscriptError` unless the digest matches the body and every listed
        witness (with the pinned key, if given) signed it, and nobody else did."""
        problems = self.problems(pinned)
        if problems:
            raise TranscriptError("; ".join(problems))

    def problems(self, pinned: Mapping[str, VerifyKey] | None = None) -> list[str]:
        """Everything :meth:`verify` objects to, one message each (empty: the transcript is
        intact and signed by exactly its witnesses)."""
        problems = []
        digest = transcript_digest(self.raw)
        if digest.hex() != self.digest:
            problems.append(
                f"the digest does not match the transcript (recomputed {digest.hex()}): "
                "the transcript was altered"
            )
        listed = {w.role: w for w in self.body.witnesses}
        for role, key in (pinned or {}).items():
            if role not in listed:
                problems.append(f"{role} is not among the transcript's witnesses")
            elif listed[role].key != key:
                problems.append(f"{role}'s key in the transcript is not the pinned key")
        signed: set[str] = set()
        for signature in self.signatures:
            witness = listed.get(signature.role)
            if witness is None:
                problems.append(f"{signature.role} signed but is not a witness of the transcript")
                continue
            if signature.role in signed:
                problems.append(f"{signature.role} signed twice")
                continue
            if signature.key != witness.key.encode().hex():
                problems.append(f"{signature.role} signed with a key that is not theirs")
                continue
            try:
                witness.key.verify(signed_message(digest), bytes.fromhex(signature.signature))
            except (InvalidSignature, ValueError):
                problems.append(f"{signature.role}'s signature does not verify")
                continue
            signed.add(signature.role)
        for role in listed:
            if role not in signed and not any(s.role == role for s in self.signatures):
                problems.append(f"{role} did not sign")
        return problems


def check_against_record(transcript: Transcript, record: Record) -> list[str]:
    """Problems found comparing a transcript with an exported record (none: they agree).

    Every entry the transcript lists must be the record's entry at that index (same kind and
    tracking code), every record entry must be listed, and the record's newest checkpoint must
    be the transcript's final one (same size and root).
    """
    problems = []
    body = transcript.body
    if record.entries and record.entries[0].election_id.hex() != body.election_id:
        problems.append("the record belongs to another election")
    listed: dict[int, PostedEntry] = {}
    for step in body.steps:
        for posted in step.entries:
            listed[posted.index] = posted
            if posted.index >= record.size:
                problems.append(f"{step.label}: entry {posted.index} is not in the record")
                continue
            entry = record.entries[posted.index]
            if entry.kind != posted.kind or entry.tracking_code.hex() != posted.tracking_code:
                problems.append(
                    f"{step.label}: entry {posted.index} in the record is not the one posted"
                )
    unlisted = sorted(set(range(record.size)) - set(listed))
    if unlisted:
        problems.append(f"record entries {unlisted} are not in the transcript")
    if body.final_checkpoint is not None and record.checkpoints:
        try:
            final = Checkpoint.parse(parse_note(body.final_checkpoint).body)
        except EvoteError as error:
            problems.append(f"the transcript's final checkpoint does not parse: {error}")
        else:
            last, _ = record.checkpoints[-1]
            if (last.size, last.root) != (final.size, final.root):
                problems.append(
                    f"the record's newest checkpoint (size {last.size}) is not the transcript's "
                    f"final one (size {final.size})"
                )
    return problems


# --- strict reading of a body ----------------------------------------------------------------


def _object(value: object, where: str) -> dict[str, Json]:
    if not isinstance(value, dict):
        raise TranscriptError(f"{where} must be a JSON object")
    return cast(dict[str, Json], value)


def _array(value: object, where: str) -> list[Json]:
    if not isinstance(value, list):
        raise TranscriptError(f"{where} must be a JSON array")
    return cast(list[Json], value)


def _fields(data: Mapping[str, Json], names: set[str], where: str) -> None:
    if set(data) != names:
        raise TranscriptError(f"{where} must have exactly the fields {', '.join(sorted(names))}")


def _str(value: object, where: str) -> str:
    if not isinstance(value, str):
        raise TranscriptError(f"{where} must be text")
    return value


def _optional_str(value: object, where: str) -> str | None:
    return None if value is None else _str(value, where)


def _int(value: object, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TranscriptError(f"{where} must be a whole number")
    return value


def _strs(value: object, where: str) -> tuple[str, ...]:
    return tuple(_str(item, where) for item in _array(value, where))


def _signature(value: object, where: str) -> WitnessSignature:
    data = _object(value, where)
    _fields(data, {"role", "key", "signature"}, where)
    return WitnessSignature(
        _str(data["role"], where), _str(data["key"], where), _str(data["signature"], where)
    )


def _witness(value: object, where: str) -> WitnessKey:
    data = _object(value, where)
    _fields(data, {"role", "name", "key"}, where)
    try:
        key = VerifyKey.decode(bytes.fromhex(_str(data["key"], where)))
    except (ValueError, DecodeError) as error:
        raise TranscriptError(f"{where}.key is not an Ed25519 public key") from error
    return WitnessKey(_str(data["role"], where), _str(data["name"], where), key)


def _step(value: object, where: str) -> StepRecord:
    data = _object(value, where)
    names = {
        "number",
        "title",
        "action",
        "by",
        "rehearsal_only",
        "params",
        "checks",
        "signs",
        "status",
        "expectations",
        "observed",
        "error",
        "entries",
        "checkpoint",
    }
    _fields(data, names, where)
    status = _str(data["status"], f"{where}.status")
    if status not in _STATUSES:
        raise TranscriptError(f"{where}.status must be one of {', '.join(_STATUSES)}")
    rehearsal_only = data["rehearsal_only"]
    if not isinstance(rehearsal_only, bool):
        raise TranscriptError(f"{where}.rehearsal_only must be true or false")
    expectations = []
    for i, item in enumerate(_array(data["expectations"], f"{where}.expectations")):
        at = f"{where}.expectations[{i}]"
        fields = _object(item, at)
        _fields(fields, {"name", "expected", "observed", "met"}, at)
        result = ExpectationResult(_str(fields["name"], at), fields["expected"], fields["observed"])
        if fields["met"] is not result.met:
            raise TranscriptError(f"{at}.met contradicts its expected and observed values")
        expectations.append(result)
    entries = []
    for i, item in enumerate(_array(data["entries"], f"{where}.entries")):
        at = f"{where}.entries[{i}]"
        fields = _object(item, at)
        _fields(fields, {"index", "kind", "tracking_code"}, at)
        entries.append(
            PostedEntry(
                _int(fields["index"], at),
                _str(fields["kind"], at),
                _str(fields["tracking_code"], at),
            )
        )
    size, root = None, None
    if data["checkpoint"] is not None:
        at = f"{where}.checkpoint"
        checkpoint = _object(data["checkpoint"], at)
        _fields(checkpoint, {"size", "root"}, at)
        size, root = _int(checkpoint["size"], at), _str(checkpoint["root"], at)
    return StepRecord(
        number=_int(data["number"], f"{where}.number"),
        title=_str(data["title"], f"{where}.title"),
        action=_str(data["action"], f"{where}.action"),
        by=_strs(data["by"], f"{where}.by"),
        rehearsal_only=rehearsal_only,
        params=_object(data["params"], f"{where}.params"),
        checks=_strs(data["checks"], f"{where}.checks"),
        signs=_strs(data["signs"], f"{where}.signs"),
        status=cast(Status, status),
        expectations=tuple(expectations),
        observed=_object(data["observed"], f"{where}.observed"),
        error=_optional_str(data["error"], f"{where}.error"),
        entries=tuple(entries),
        checkpoint_size=size,
        checkpoint_root=root,
    )


def _body(raw: dict[str, Json]) -> TranscriptBody:
    names = {
        "format",
        "script",
        "date",
        "election",
        "witnesses",
        "statement",
        "steps",
        "final_checkpoint",
        "outcome",
        "failure",
    }
    _fields(raw, names, "transcript")
    if raw["format"] != FORMAT:
        raise TranscriptError(f"transcript.format must be {FORMAT!r}")
    script = _object(raw["script"], "transcript.script")
    _fields(script, {"title", "file", "sha256"}, "transcript.script")
    election = _object(raw["election"], "transcript.election")
    _fields(election, {"name", "id"}, "transcript.election")
    outcome = raw["outcome"]
    if outcome not in ("passed", "failed"):
        raise TranscriptError("transcript.outcome must be passed or failed")
    steps = tuple(
        _step(item, f"transcript.steps[{i}]")
        for i, item in enumerate(_array(raw["steps"], "transcript.steps"))
    )
    failed = [step for step in steps if step.status == "failed"]
    if (outcome == "passed") != (not failed and all(s.status == "passed" for s in steps)):
        raise TranscriptError("transcript.outcome contradicts the steps' statuses")
    return TranscriptBody(
        script_title=_str(script["title"], "transcript.script.title"),
        script_file=_str(script["file"], "transcript.script.file"),
        script_sha256=_str(script["sha256"], "transcript.script.sha256"),
        date=_str(raw["date"], "transcript.date"),
        election_name=_str(election["name"], "transcript.election.name"),
        election_id=_str(election["id"], "transcript.election.id"),
        witnesses=tuple(
            _witness(item, f"transcript.witnesses[{i}]")
            for i, item in enumerate(_array(raw["witnesses"], "transcript.witnesses"))
        ),
        statement=_str(raw["statement"], "transcript.statement"),
        steps=steps,
        final_checkpoint=_optional_str(raw["final_checkpoint"], "transcript.final_checkpoint"),
        outcome="passed" if outcome == "passed" else "failed",
        failure=_optional_str(raw["failure"], "transcript.failure"),
    )
