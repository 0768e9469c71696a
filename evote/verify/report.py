"""The verifier's report: per check pass, fail or skipped, with counts and every failure.

:class:`VerificationReport` is plain data. It renders as a table for people
(:meth:`VerificationReport.render`, with rich) and as JSON for programs
(:meth:`VerificationReport.to_json`). :func:`describe_entry` renders one record entry as
readable JSON for ``evote record show``.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final, Literal, cast

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from evote.board.entry import Entry
from evote.crypto import encoding
from evote.crypto.group import Point, Scalar
from evote.election.manifest import Manifest
from evote.errors import CheckFailed, EvoteError
from evote.record import kinds

Status = Literal["pass", "fail", "skipped"]
JsonValue = None | bool | int | float | str | list["JsonValue"] | dict[str, "JsonValue"]

#: Failures printed per check in the table view; the JSON form always holds all of them.
SHOWN_PER_CHECK: Final = 20
#: The first finding is cut to this length in the table (it is printed in full below it).
DETAIL_CHARACTERS: Final = 72


@dataclass(frozen=True, slots=True)
class Failure:
    """One failure: where (entry index, kind, field), what, and the error class behind it."""

    message: str
    entry: int | None
    kind: str | None
    field: str | None
    error: str

    @classmethod
    def of(cls, failure: CheckFailed) -> Failure:
        cause = failure.cause
        return cls(
            str(failure),
            failure.entry,
            failure.kind,
            failure.field,
            type(cause).__name__ if cause is not None else type(failure).__name__,
        )

    def to_json(self) -> dict[str, JsonValue]:
        return {
            "message": self.message,
            "entry": self.entry,
            "kind": self.kind,
            "field": self.field,
            "error": self.error,
        }


@dataclass(frozen=True, slots=True)
class CheckResult:
    """The outcome of one numbered check of docs/election-record.md."""

    number: int
    name: str
    title: str
    status: Status
    checked: int
    failures: tuple[Failure, ...] = ()
    skipped_because: str | None = None

    @property
    def failed(self) -> int:
        """How many items failed: distinct entries, plus failures that name no entry."""
        entries = {failure.entry for failure in self.failures if failure.entry is not None}
        return len(entries) + sum(failure.entry is None for failure in self.failures)

    def to_json(self) -> dict[str, JsonValue]:
        return {
            "number": self.number,
            "name": self.name,
            "title": self.title,
            "status": self.status,
            "checked": self.checked,
            "failed": self.failed,
            "failures": [failure.to_json() for failure in self.failures],
            "skipped_because": self.skipped_because,
        }


@dataclass(frozen=True, slots=True)
class VerificationReport:
    """Every check's outcome for one record."""

    record: str
    election_id: str | None
    election_id_given: bool
    manifest_name: str | None
    entries: int | None
    checks: tuple[CheckResult, ...]
    notes: tuple[str, ...]
    seconds: float

    @property
    def passed(self) -> bool:
        """True only if every check passed (a skipped check is not a pass)."""
        return all(check.status == "pass" for check in self.checks)

    def check(self, name: str) -> CheckResult:
        for check in self.checks:
            if check.name == name:
                return check
        raise KeyError(name)

    def statuses(self) -> dict[str, Status]:
        return {check.name: check.status for check in self.checks}

    def failed_checks(self) -> set[str]:
        return {check.name for check in self.checks if check.status == "fail"}

    def to_json(self) -> dict[str, JsonValue]:
        return {
            "record": self.record,
            "election_id": self.election_id,
            "election_id_given": self.election_id_given,
            "manifest_name": self.manifest_name,
            "entries": self.entries,
            "passed": self.passed,
            "seconds": round(self.seconds, 3),
            "notes": list(self.notes),
            "checks": [check.to_json() for check in self.checks],
        }

    def to_json_text(self) -> str:
        return json.dumps(self.to_json(), indent=2, ensure_ascii=False)

    def table(self) -> Table:
        title = f"Election record {self.record}"
        if self.manifest_name:
            title += f": {self.manifest_name}"
        table = Table(title=escape(title), title_justify="left")
        table.add_column("#", justify="right", no_wrap=True)
        table.add_column("check", no_wrap=True)
        table.add_column("status", no_wrap=True)
        table.add_column("checked", justify="right", no_wrap=True)
        table.add_column("failed", justify="right", no_wrap=True)
        table.add_column("first finding")
        styles = {"pass": "green", "fail": "bold red", "skipped": "yellow"}
        for check in self.checks:
            detail = check.failures[0].message if check.failures else check.skipped_because or ""
            if len(detail) > DETAIL_CHARACTERS:
                detail = detail[: DETAIL_CHARACTERS - 1] + "…"
            table.add_row(
                str(check.number),
                check.name,
                f"[{styles[check.status]}]{check.status}[/]",
                str(check.checked),
                str(check.failed) if check.status == "fail" else "",
                escape(detail),
            )
        return table

    def render(self, console: Console) -> None:
        """The table, every failure (up to :data:`SHOWN_PER_CHECK` per check), the notes and
        the verdict."""
        console.print(self.table())
        for check in self.checks:
            if not check.failures:
                continue
            console.print(
                f"[bold]{check.number}. {check.name}[/]: {len(check.failures)} failure(s)"
            )
            for failure in check.failures[:SHOWN_PER_CHECK]:
                console.print(f"  - {escape(failure.message)}", soft_wrap=True)
            hidden = len(check.failures) - SHOWN_PER_CHECK
            if hidden > 0:
                console.print(f"  … and {hidden} more (see --json)")
        for note in self.notes:
            console.print(f"note: {escape(note)}", soft_wrap=True)
        if self.passed:
            console.print(f"[bold green]VERIFIED[/]: all {len(self.checks)} checks pass.")
        else:
            failed = [check.name for check in self.checks if check.status == "fail"]
            skipped = [check.name for check in self.checks if check.status == "skipped"]
            line = f"[bold red]NOT VERIFIED[/]: {len(failed)} check(s) failed ({', '.join(failed)})"
            if skipped:
                line += f"; {len(skipped)} skipped ({', '.join(skipped)})"
            console.print(line + ".")


# --- entries as readable JSON (``evote record show``) ---------------------------------------------

_FIELDS: Final[dict[str, tuple[str, ...]]] = {
    kinds.CEREMONY_TRANSPORT: ("guardian", "transport_key"),
    kinds.CEREMONY_COMMIT: ("guardian", "commitment_hash"),
    kinds.GUARDIAN_KEY: ("guardian", "commitments", "proofs"),
    kinds.CEREMONY_SHARES: ("guardian", "sealed"),
    kinds.CEREMONY_COMPLAINT: ("complainer", "accused", "reason"),
    kinds.CEREMONY_SHARE_REVEAL: ("dealer", "recipient", "share"),
    kinds.JOINT_KEY: ("key", "extended_hash", "verification_keys"),
    kinds.KEY_CHECK: ("guardian", "share", "proof"),
    kinds.PAILLIER_KEY: ("base_hash", "transport_key", "key"),
    kinds.PAILLIER_SHARE: ("guardian", "sealed"),
    kinds.PAILLIER_KEY_CHECK: ("guardian", "share"),
    kinds.CREDENTIALS: ("credentials",),
    kinds.OPEN: ("phase", "time"),
    kinds.CLOSE: ("phase", "time"),
    kinds.BALLOT: ("ballot_id", "credential", "sequence", "style", "contests"),
    kinds.AUDIT: ("ballot", "seed", "votes"),
    kinds.TALLY: ("counted", "totals"),
    kinds.DECRYPTION_SHARE: ("guardian", "shares"),
    kinds.RESULT: ("guardians", "counts", "outcomes"),
}
_PER_PART: Final = ("totals", "shares", "counts")


def tlv_json(value: encoding.Decoded) -> JsonValue:
    """A decoded TLV value as JSON: bytes, points and scalars as hex; lists as lists."""
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, Point | Scalar):
        return value.encode().hex()
    if isinstance(value, list):
        return [tlv_json(item) for item in value]
    return value


def _labelled(kind: str, value: encoding.Decoded, manifest: Manifest | None) -> JsonValue:
    """Name the fields of a body ``[tag, field…]`` after docs/election-record.md, if it fits."""
    names = _FIELDS.get(kind)
    if (
        names is None
        or not isinstance(value, list)
        or len(value) != len(names) + 1
        or not isinstance(value[0], str)
    ):
        return tlv_json(value)
    out: dict[str, JsonValue] = {"tag": value[0]}
    for name, item in zip(names, value[1:], strict=True):
        if name == "ballot" and kind == kinds.AUDIT:
            out[name] = _labelled(kinds.BALLOT, item, manifest)
        elif name == "contests" and kind == kinds.BALLOT:
            out[name] = _contests(item, value[4], manifest)
        elif name in _PER_PART and isinstance(item, list):
            out[name] = _per_part(item)
        else:
            out[name] = tlv_json(item)
    return out


def _contests(
    value: encoding.Decoded, style: encoding.Decoded, manifest: Manifest | None
) -> JsonValue:
    """A ballot's contests by part: each option's ``α‖β`` and proof, and the total's proof."""
    try:
        if manifest is None or not isinstance(style, str) or not isinstance(value, list):
            raise LookupError
        parts = manifest.style(style).parts
    except (LookupError, EvoteError):
        return tlv_json(value)
    if len(parts) != len(value):
        return tlv_json(value)
    out: dict[str, JsonValue] = {}
    for part, contest in zip(parts, value, strict=True):
        if not isinstance(contest, list) or not contest:
            return tlv_json(value)
        options: list[JsonValue] = []
        for option in contest[:-1]:
            if not isinstance(option, list) or len(option) != 2:
                return tlv_json(value)
            options.append({"ciphertext": tlv_json(option[0]), "proof": tlv_json(option[1])})
        out[part] = {"options": options, "total_proof": tlv_json(contest[-1])}
    return out


def _per_part(items: Sequence[encoding.Decoded]) -> JsonValue:
    pairs = [item for item in items if isinstance(item, list) and len(item) == 2]
    if len(pairs) != len(items) or not all(isinstance(pair[0], str) for pair in pairs):
        return tlv_json(list(items))
    return {str(pair[0]): tlv_json(pair[1]) for pair in pairs}


def describe_body(kind: str, body: bytes, manifest: Manifest | None = None) -> JsonValue:
    """An entry body as readable JSON; a body that does not decode is shown as hex.

    With the election's ``manifest``, a ballot's contests are labelled by part.
    """
    if kind == kinds.MANIFEST:
        try:
            return cast(JsonValue, Manifest.from_tlv(body).to_mapping())
        except EvoteError:
            pass
    try:
        value = encoding.decode(body)
    except EvoteError as error:
        return {"undecodable": str(error), "hex": body.hex()}
    return _labelled(kind, value, manifest)


def describe_entry(
    index: int, entry: Entry, manifest: Manifest | None = None
) -> dict[str, JsonValue]:
    """One entry: index, kind, election, tracking code, signers (hex) and the decoded body."""
    return {
        "index": index,
        "kind": entry.kind,
        "election_id": entry.election_id.hex(),
        "tracking_code": entry.tracking_code.hex(),
        "signers": [key.encode().hex() for key in entry.signers],
        "body": describe_body(entry.kind, entry.body, manifest),
    }
