"""Ceremony scripts: the YAML a ceremony is read from, parsed and checked into typed steps.

A script is written for people first, in the spirit of the DNSSEC root key ceremony scripts:
who takes part (``roles``), what must hold before it starts (``preconditions``), and numbered
``steps``, each saying who acts (``by``), what every participant checks (``checks``), what is
signed (``signs``) and what must come out (``expect``). Each step names one ``action``, an
evote operation that ``evote ceremony run`` executes in a rehearsal; the expectations are
what the runner compares with what it observed. ``sign-off`` names the witnesses who sign
the transcript. The format is described in ``ceremonies/README.md``.

A script rehearses one scheme (``election.scheme``): ``elgamal`` (scheme A, the guardians'
dealer-free ceremony, the default) or ``paillier`` (scheme B, a trusted ``dealer`` role deals
threshold Paillier keys). Each action says which schemes it belongs to: the key ceremonies
differ, and everything from the credential list to the verifier is the same for both, so one
script format carries either scheme's election from the manifest to the result.

This module is pure: :func:`parse_script` takes the text of a script and returns a
:class:`Script` or raises :class:`ScriptError`, whose message names the step (its number,
title and action) and the field at fault.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Final

import yaml

from evote.election.manifest import ELGAMAL, PAILLIER, SCHEME_NAMES, SchemeName
from evote.errors import EvoteError

FORMAT: Final = "evote-ceremony/v1"


class ScriptError(EvoteError):
    """A ceremony script is malformed or inconsistent; the message names the step and field."""


class RoleKind(StrEnum):
    ADMINISTRATOR = "administrator"
    OFFICIAL = "official"
    GUARDIAN = "guardian"
    WITNESS = "witness"
    CREDENTIAL_AUTHORITY = "credential-authority"
    DEALER = "dealer"


#: ``by:`` may name a whole group of roles by its plural.
GROUPS: Final = {
    "officials": RoleKind.OFFICIAL,
    "guardians": RoleKind.GUARDIAN,
    "witnesses": RoleKind.WITNESS,
}


class ValueType(StrEnum):
    """The type of an action's parameter or expectation."""

    COUNT = "a whole number, 0 or more"
    FLAG = "true or false"
    TEXT = "a line of text"
    GUARDIANS = "a list of guardian role ids"


Value = int | bool | str | tuple[str, ...]


@dataclass(frozen=True, slots=True)
class ActionSpec:
    """What an action does, who may act, its parameters and what can be expected of it.

    ``rank`` orders the once-only actions of an election (``None``: may repeat anywhere after
    the manifest); ``covers`` is the last rank a compound action stands for; one of
    ``requires`` must have happened in an earlier step (the one of the script's scheme: the
    election after the key ceremony needs scheme A's key checks or scheme B's accepted
    shares); ``officials`` marks actions whose entry an official quorum signs (the officials
    named in ``by``); ``schemes`` are the schemes whose scripts may use it (ranks are compared
    only within one scheme's actions).
    """

    name: str
    summary: str
    actors: frozenset[RoleKind]
    expects: Mapping[str, ValueType]
    params: Mapping[str, ValueType]
    requires: tuple[str, ...]
    rank: int | None
    covers: int | None = None
    officials: bool = False
    schemes: frozenset[SchemeName] = frozenset(SCHEME_NAMES)

    @property
    def last_rank(self) -> int | None:
        return self.covers if self.covers is not None else self.rank


_ALL: Final = frozenset(RoleKind)
_ENTRIES: Final = {"entries": ValueType.COUNT}


def _spec(
    name: str,
    summary: str,
    actors: set[RoleKind],
    *,
    requires: str | tuple[str, ...] | None,
    rank: int | None,
    expects: Mapping[str, ValueType] | None = None,
    params: Mapping[str, ValueType] | None = None,
    covers: int | None = None,
    officials: bool = False,
    schemes: tuple[SchemeName, ...] = (ELGAMAL,),
) -> ActionSpec:
    return ActionSpec(
        name,
        summary,
        frozenset({*actors, RoleKind.ADMINISTRATOR}),
        {**_ENTRIES, **(expects or {})},
        dict(params or {}),
        (requires,) if isinstance(requires, str) else requires or (),
        rank,
        covers,
        officials,
        frozenset(schemes),
    )


_G, _O, _W, _CA, _D = (
    RoleKind.GUARDIAN,
    RoleKind.OFFICIAL,
    RoleKind.WITNESS,
    RoleKind.CREDENTIAL_AUTHORITY,
    RoleKind.DEALER,
)

ACTIONS: Final[Mapping[str, ActionSpec]] = {
    spec.name: spec
    for spec in (
        _spec(
            "publish-manifest",
            "the officials named sign the manifest; it becomes entry 0",
            {_O},
            requires=None,
            rank=0,
            officials=True,
            schemes=SCHEME_NAMES,
        ),
        _spec(
            "transport-keys",
            "round 0: each guardian posts a ceremony-only X25519 key",
            {_G},
            requires="publish-manifest",
            rank=1,
            schemes=SCHEME_NAMES,
        ),
        _spec(
            "deal",
            "scheme B: the dealer deals the threshold Paillier key and seals each guardian's "
            "share; the officials named check the key and co-sign it",
            {_D, _O},
            requires="transport-keys",
            rank=2,
            expects={"signatures": ValueType.COUNT, "sealed": ValueType.COUNT},
            params={"bad-shares": ValueType.GUARDIANS},
            officials=True,
            schemes=(PAILLIER,),
        ),
        _spec(
            "accept-shares",
            "scheme B: each guardian opens and checks its share, then posts its key check; a "
            "bad share is refused",
            {_G},
            requires="deal",
            rank=3,
            expects={
                "accepted": ValueType.COUNT,
                "refused": ValueType.GUARDIANS,
                "verified": ValueType.COUNT,
            },
            schemes=(PAILLIER,),
        ),
        _spec(
            "commit",
            "round 1: each guardian posts the hash of its Feldman commitments",
            {_G},
            requires="transport-keys",
            rank=2,
        ),
        _spec(
            "reveal",
            "round 2: each guardian reveals its commitments with Schnorr proofs",
            {_G},
            requires="commit",
            rank=3,
            expects={"verified": ValueType.COUNT},
        ),
        _spec(
            "seal-shares",
            "round 3: each guardian seals one share to every other guardian",
            {_G},
            requires="reveal",
            rank=4,
        ),
        _spec(
            "check-and-complain",
            "round 4: each guardian opens and checks its shares, and complains about bad ones",
            {_G},
            requires="seal-shares",
            rank=5,
            expects={"complaints": ValueType.COUNT},
        ),
        _spec(
            "answer-complaints",
            "round 4: each accused guardian reveals the disputed share in clear",
            {_G},
            requires="check-and-complain",
            rank=6,
            expects={"answers": ValueType.COUNT},
        ),
        _spec(
            "judge",
            "the public judgement, recomputed from the board alone",
            {_G, _O, _W},
            requires="answer-complaints",
            rank=7,
            expects={
                "qualified": ValueType.COUNT,
                "disqualified": ValueType.COUNT,
                "unfounded-complaints": ValueType.COUNT,
            },
        ),
        _spec(
            "joint-key",
            "round 5: the officials named and every guardian sign the joint key",
            {_G, _O},
            requires="judge",
            rank=8,
            expects={"signatures": ValueType.COUNT},
            officials=True,
        ),
        _spec(
            "key-checks",
            "every guardian proves on the board that its key share decrypts",
            {_G},
            requires="joint-key",
            rank=9,
            expects={"verified": ValueType.COUNT},
        ),
        _spec(
            "key-generation",
            "the whole key generation (rounds 0 to 5 and the key checks) as one step",
            {_G, _O},
            requires="publish-manifest",
            rank=1,
            covers=9,
            expects={
                "complaints": ValueType.COUNT,
                "qualified": ValueType.COUNT,
                "key-checks": ValueType.COUNT,
            },
            officials=True,
        ),
        _spec(
            "publish-credentials",
            "the credential authority publishes one credential per registered voter",
            {_CA},
            requires=("key-checks", "accept-shares"),
            rank=10,
            expects={"credentials": ValueType.COUNT},
            schemes=SCHEME_NAMES,
        ),
        _spec(
            "open",
            "the officials named open the election",
            {_O},
            requires="publish-credentials",
            rank=11,
            officials=True,
            schemes=SCHEME_NAMES,
        ),
        _spec(
            "vote",
            "simulated voters encrypt and cast ballots; the ballot box checks each one",
            set(),
            requires="open",
            rank=12,
            expects={"ballots": ValueType.COUNT, "rejected": ValueType.COUNT},
            params={"voters": ValueType.COUNT},
            schemes=SCHEME_NAMES,
        ),
        _spec(
            "close",
            "the officials named close the election; the log's witnesses cosign the close",
            {_O},
            requires="open",
            rank=13,
            expects={"cosignatures": ValueType.COUNT},
            officials=True,
            schemes=SCHEME_NAMES,
        ),
        _spec(
            "tally",
            "the officials named post the encrypted tally of the counted ballots",
            {_O},
            requires="close",
            rank=14,
            expects={"counted": ValueType.COUNT},
            officials=True,
            schemes=SCHEME_NAMES,
        ),
        _spec(
            "decrypt",
            "the guardians named post decryption shares with proofs; the absent ones do not; "
            "shares whose proofs fail are not counted",
            {_G},
            requires="tally",
            rank=15,
            expects={
                "verified": ValueType.COUNT,
                "absent": ValueType.GUARDIANS,
                "not-counted": ValueType.GUARDIANS,
            },
            params={"absent": ValueType.GUARDIANS, "bad-shares": ValueType.GUARDIANS},
            schemes=SCHEME_NAMES,
        ),
        _spec(
            "result",
            "the officials named combine the shares and post the result",
            {_O},
            requires="decrypt",
            rank=16,
            expects={"guardians": ValueType.GUARDIANS, "matches-voters": ValueType.FLAG},
            officials=True,
            schemes=SCHEME_NAMES,
        ),
        _spec(
            "verify-record",
            "the record is exported and the independent verifier runs on it",
            {_W, _O, _G},
            requires="result",
            rank=17,
            expects={"verdict": ValueType.TEXT, "failed-checks": ValueType.COUNT},
            schemes=SCHEME_NAMES,
        ),
        _spec(
            "witness-checkpoint",
            "the log's witnesses check consistency and cosign the newest checkpoint",
            {_W},
            requires="publish-manifest",
            rank=None,
            expects={"cosignatures": ValueType.COUNT},
            schemes=SCHEME_NAMES,
        ),
    )
}


@dataclass(frozen=True, slots=True)
class Role:
    id: str
    kind: RoleKind
    name: str
    duty: str
    guardian: int | None = None


@dataclass(frozen=True, slots=True)
class ElectionSettings:
    """The rehearsal's election: contests preset, quorums, registered voters, log witnesses,
    and the scheme (``elgamal``, scheme A, unless the script says ``paillier``)."""

    name: str
    contests: str
    guardian_quorum: int
    official_quorum: int
    voters: int
    log_witnesses: int
    log_witness_quorum: int
    scheme: SchemeName = ELGAMAL


@dataclass(frozen=True, slots=True)
class Expectation:
    name: str
    value: Value


@dataclass(frozen=True, slots=True)
class Step:
    number: int
    title: str
    action: str
    by: tuple[str, ...]
    checks: tuple[str, ...]
    signs: tuple[str, ...]
    expect: tuple[Expectation, ...]
    params: Mapping[str, Value]
    rehearsal_only: bool = False

    @property
    def label(self) -> str:
        return f"step {self.number} ({self.title}; {self.action})"

    @property
    def spec(self) -> ActionSpec:
        return ACTIONS[self.action]

    def count(self, name: str) -> int:
        """A whole-number parameter (the script was checked, so it is there and typed)."""
        value = self.params.get(name)
        if isinstance(value, bool) or not isinstance(value, int):
            raise ScriptError(f"{self.label}: params.{name} must be a whole number")
        return value

    def roles(self, name: str) -> tuple[str, ...]:
        """A list-of-roles parameter; empty if it was left out."""
        value = self.params.get(name, ())
        if not isinstance(value, tuple):
            raise ScriptError(f"{self.label}: params.{name} must be a list of roles")
        return value


@dataclass(frozen=True, slots=True)
class SignOff:
    by: tuple[str, ...]
    statement: str


@dataclass(frozen=True, slots=True)
class Script:
    title: str
    purpose: str
    roles: tuple[Role, ...]
    election: ElectionSettings
    preconditions: tuple[str, ...]
    steps: tuple[Step, ...]
    sign_off: SignOff
    sha256: bytes

    def role(self, role_id: str) -> Role:
        for role in self.roles:
            if role.id == role_id:
                return role
        raise ScriptError(f"there is no role {role_id!r}")

    def of_kind(self, kind: RoleKind) -> tuple[Role, ...]:
        return tuple(role for role in self.roles if role.kind == kind)

    @property
    def guardians(self) -> tuple[Role, ...]:
        """The guardian roles, by guardian index 1..n."""
        return tuple(sorted(self.of_kind(RoleKind.GUARDIAN), key=lambda r: r.guardian or 0))

    def guardian_index(self, role_id: str) -> int:
        index = self.role(role_id).guardian
        if index is None:
            raise ScriptError(f"role {role_id!r} is not a guardian")
        return index

    def guardian_role(self, index: int) -> str:
        for role in self.guardians:
            if role.guardian == index:
                return role.id
        raise ScriptError(f"there is no guardian {index}")


# --- parsing -------------------------------------------------------------------------------

_TOP: Final = {
    "format",
    "title",
    "purpose",
    "roles",
    "election",
    "preconditions",
    "steps",
    "sign-off",
}
_ROLE_KEYS: Final = {"kind", "name", "duty", "guardian"}
_ELECTION_KEYS: Final = {
    "name",
    "contests",
    "guardian-quorum",
    "official-quorum",
    "voters",
    "log-witnesses",
    "log-witness-quorum",
    "scheme",
}
_STEP_KEYS: Final = {
    "step",
    "title",
    "by",
    "action",
    "params",
    "checks",
    "signs",
    "expect",
    "rehearsal-only",
}


def _mapping(value: object, where: str) -> Mapping[str, object]:
    if not isinstance(value, Mapping) or not all(isinstance(k, str) for k in value):
        raise ScriptError(f"{where} must be a mapping with text keys")
    return value


def _keys(data: Mapping[str, object], required: set[str], allowed: set[str], where: str) -> None:
    missing = sorted(required - set(data))
    if missing:
        raise ScriptError(f"{where}: missing {', '.join(missing)}")
    unknown = sorted(set(data) - allowed)
    if unknown:
        raise ScriptError(f"{where}: unknown field(s) {', '.join(unknown)}")


def _text(value: object, where: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ScriptError(f"{where} must be non-empty text")
    return " ".join(value.split())


def _count(value: object, where: str, minimum: int = 0) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ScriptError(f"{where} must be a whole number, {minimum} or more; got {value!r}")
    return value


def _texts(value: object, where: str, *, allow_empty: bool = False) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or (not value and not allow_empty):
        raise ScriptError(f"{where} must be a list of text lines")
    return tuple(_text(item, f"{where}[{i}]") for i, item in enumerate(value))


def parse_script(text: str) -> Script:
    """Parse and check a ceremony script; raise :class:`ScriptError` naming what is wrong."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise ScriptError(f"the script is not valid YAML: {error}") from error
    top = _mapping(data, "the script")
    _keys(top, _TOP, _TOP, "the script")
    if top["format"] != FORMAT:
        raise ScriptError(f"format must be {FORMAT!r}, got {top['format']!r}")
    roles = _roles(top["roles"])
    election = _election(top["election"], roles)
    steps = _steps(top["steps"], roles, election)
    sign_off = _sign_off(top["sign-off"], roles)
    return Script(
        title=_text(top["title"], "title"),
        purpose=_text(top["purpose"], "purpose"),
        roles=roles,
        election=election,
        preconditions=_texts(top["preconditions"], "preconditions"),
        steps=steps,
        sign_off=sign_off,
        sha256=hashlib.sha256(text.encode("utf-8")).digest(),
    )


def _roles(value: object) -> tuple[Role, ...]:
    roles = []
    for role_id, item in _mapping(value, "roles").items():
        where = f"role {role_id!r}"
        if role_id in GROUPS:
            raise ScriptError(f"{where}: {role_id!r} is reserved for the whole group")
        fields = _mapping(item, where)
        _keys(fields, {"kind", "name", "duty"}, _ROLE_KEYS, where)
        try:
            kind = RoleKind(str(fields["kind"]))
        except ValueError:
            kinds = ", ".join(kind.value for kind in RoleKind)
            raise ScriptError(f"{where}: kind must be one of {kinds}") from None
        guardian = None
        if kind == RoleKind.GUARDIAN:
            if "guardian" not in fields:
                raise ScriptError(f"{where}: a guardian role needs its index (guardian: N)")
            guardian = _count(fields["guardian"], f"{where}.guardian", minimum=1)
        elif "guardian" in fields:
            raise ScriptError(f"{where}: only guardian roles have a guardian index")
        name = _text(fields["name"], f"{where}.name")
        roles.append(Role(role_id, kind, name, _text(fields["duty"], f"{where}.duty"), guardian))
    indices = sorted(role.guardian for role in roles if role.guardian is not None)
    if indices != list(range(1, len(indices) + 1)):
        raise ScriptError(f"roles: guardian indices must be 1 to {len(indices)}, got {indices}")
    for kind in (RoleKind.OFFICIAL, RoleKind.GUARDIAN, RoleKind.WITNESS):
        if not any(role.kind == kind for role in roles):
            raise ScriptError(f"roles: a ceremony needs at least one {kind.value}")
    if sum(role.kind == RoleKind.CREDENTIAL_AUTHORITY for role in roles) > 1:
        raise ScriptError("roles: there is at most one credential authority")
    if sum(role.kind == RoleKind.DEALER for role in roles) > 1:
        raise ScriptError("roles: there is at most one dealer")
    return tuple(roles)


def _election(value: object, roles: Sequence[Role]) -> ElectionSettings:
    fields = _mapping(value, "election")
    required = _ELECTION_KEYS - {"voters", "scheme"}
    _keys(fields, required, _ELECTION_KEYS, "election")
    guardians = sum(role.kind == RoleKind.GUARDIAN for role in roles)
    officials = sum(role.kind == RoleKind.OFFICIAL for role in roles)
    settings = ElectionSettings(
        name=_text(fields["name"], "election.name"),
        contests=_text(fields["contests"], "election.contests"),
        guardian_quorum=_count(fields["guardian-quorum"], "election.guardian-quorum", 1),
        official_quorum=_count(fields["official-quorum"], "election.official-quorum", 1),
        voters=_count(fields.get("voters", 0), "election.voters"),
        log_witnesses=_count(fields["log-witnesses"], "election.log-witnesses", 1),
        log_witness_quorum=_count(fields["log-witness-quorum"], "election.log-witness-quorum", 1),
        scheme=_scheme(fields.get("scheme", ELGAMAL)),
    )
    dealers = sum(role.kind == RoleKind.DEALER for role in roles)
    if settings.scheme == PAILLIER and not dealers:
        raise ScriptError(
            "roles: scheme paillier (scheme B) needs a dealer role (kind: dealer), who deals "
            "the key"
        )
    if settings.scheme != PAILLIER and dealers:
        raise ScriptError(
            f"roles: scheme {settings.scheme} has no dealer (the guardians make the key); "
            "remove the dealer role or set election.scheme: paillier"
        )
    for quorum, count, what in (
        (settings.guardian_quorum, guardians, "guardian-quorum"),
        (settings.official_quorum, officials, "official-quorum"),
        (settings.log_witness_quorum, settings.log_witnesses, "log-witness-quorum"),
    ):
        if quorum > count:
            raise ScriptError(f"election.{what} is {quorum}, but there are only {count}")
    return settings


def _scheme(value: object) -> SchemeName:
    for name in SCHEME_NAMES:
        if value == name:
            return name
    raise ScriptError(
        f"election.scheme must be one of {', '.join(SCHEME_NAMES)}; got {value!r} "
        "(elgamal is scheme A, the guardians' ceremony; paillier is scheme B, with a dealer)"
    )


def _steps(value: object, roles: Sequence[Role], election: ElectionSettings) -> tuple[Step, ...]:
    if not isinstance(value, list) or not value:
        raise ScriptError("steps must be a non-empty list")
    steps: list[Step] = []
    done: set[str] = set()
    last_rank = -1
    for position, item in enumerate(value, 1):
        step = _step(item, position, roles, election)
        spec = step.spec
        needed = [name for name in spec.requires if election.scheme in ACTIONS[name].schemes]
        if needed and done.isdisjoint(needed):
            raise ScriptError(
                f"{step.label}: needs a {' or '.join(map(repr, needed))} step before it"
            )
        if spec.rank is not None:
            if spec.rank <= last_rank or step.action in done:
                raise ScriptError(
                    f"{step.label}: out of order or repeated; the order is "
                    f"{', '.join(_ordered_actions(election.scheme))}"
                )
            last_rank = spec.last_rank if spec.last_rank is not None else spec.rank
        done.add(step.action)
        if spec.rank is not None and spec.covers is not None:
            low, high = spec.rank, spec.covers
            done.update(
                other.name
                for other in ACTIONS.values()
                if other.rank is not None and low <= other.rank <= high
            )
        steps.append(step)
    if "verify-record" in done and steps[-1].action != "verify-record":
        raise ScriptError(
            f"{steps[-1].label}: verify-record must be the last step (it checks the whole record)"
        )
    return tuple(steps)


def _ordered_actions(scheme: SchemeName) -> list[str]:
    ranked = [
        spec
        for spec in ACTIONS.values()
        if spec.rank is not None and spec.covers is None and scheme in spec.schemes
    ]
    return [spec.name for spec in sorted(ranked, key=lambda spec: spec.rank or 0)]


def _scheme_actions(scheme: SchemeName) -> list[str]:
    return sorted(spec.name for spec in ACTIONS.values() if scheme in spec.schemes)


def _step(item: object, position: int, roles: Sequence[Role], election: ElectionSettings) -> Step:
    raw = _mapping(item, f"step {position}")
    title = raw.get("title")
    action = raw.get("action")
    label = f"step {position}" + (f" ({title}; {action})" if title and action else "")
    _keys(raw, _STEP_KEYS - {"params", "rehearsal-only"}, _STEP_KEYS, label)
    if raw["step"] != position:
        raise ScriptError(f"{label}: is numbered {raw['step']!r}; steps are numbered 1, 2, 3, …")
    if not isinstance(action, str) or action not in ACTIONS:
        raise ScriptError(
            f"{label}: unknown action {action!r}; the actions are {', '.join(sorted(ACTIONS))}"
        )
    spec = ACTIONS[action]
    if election.scheme not in spec.schemes:
        raise ScriptError(
            f"{label}: a scheme {election.scheme} script cannot use it; its actions are "
            f"{', '.join(_scheme_actions(election.scheme))}"
        )
    by = _actors(raw["by"], roles, spec, label)
    params = _values(raw.get("params", {}), spec.params, roles, f"{label}: params")
    expect_fields = _values(raw["expect"], spec.expects, roles, f"{label}: expect")
    if not expect_fields:
        raise ScriptError(f"{label}: expect must name at least one expected output")
    rehearsal_only = raw.get("rehearsal-only", False)
    if not isinstance(rehearsal_only, bool):
        raise ScriptError(f"{label}: rehearsal-only must be true or false")
    step = Step(
        number=position,
        title=_text(title, f"{label}: title"),
        action=action,
        by=by,
        checks=_texts(raw["checks"], f"{label}: checks"),
        signs=_texts(raw["signs"], f"{label}: signs"),
        expect=tuple(Expectation(name, v) for name, v in expect_fields.items()),
        params=params,
        rehearsal_only=rehearsal_only,
    )
    _check_step(step, roles, election)
    return step


def _actors(value: object, roles: Sequence[Role], spec: ActionSpec, label: str) -> tuple[str, ...]:
    items = _texts(value, f"{label}: by")
    by: list[str] = []
    known = {role.id: role for role in roles}
    for item in items:
        if item in GROUPS:
            members = [role.id for role in roles if role.kind == GROUPS[item]]
        elif item in known:
            members = [item]
        else:
            raise ScriptError(f"{label}: by names {item!r}, which is neither a role nor a group")
        for member in members:
            role = known[member]
            if role.kind not in spec.actors:
                allowed = ", ".join(sorted(kind.value for kind in spec.actors))
                raise ScriptError(
                    f"{label}: {member} ({role.kind.value}) cannot act in {spec.name}; "
                    f"it takes: {allowed}"
                )
            if member not in by:
                by.append(member)
    return tuple(by)


def _values(
    value: object, types: Mapping[str, ValueType], roles: Sequence[Role], where: str
) -> dict[str, Value]:
    fields = _mapping(value, where)
    unknown = sorted(set(fields) - set(types))
    if unknown:
        allowed = ", ".join(sorted(types)) or "none"
        raise ScriptError(f"{where}: unknown {', '.join(unknown)} (allowed: {allowed})")
    guardians = {role.id for role in roles if role.kind == RoleKind.GUARDIAN}
    parsed: dict[str, Value] = {}
    for name, item in fields.items():
        kind, at = types[name], f"{where}.{name}"
        if kind == ValueType.COUNT:
            parsed[name] = _count(item, at)
        elif kind == ValueType.FLAG:
            if not isinstance(item, bool):
                raise ScriptError(f"{at} must be true or false; got {item!r}")
            parsed[name] = item
        elif kind == ValueType.TEXT:
            parsed[name] = _text(item, at)
        else:
            names = _texts(item, at, allow_empty=True)
            strangers = [n for n in names if n not in guardians]
            if strangers or len(set(names)) != len(names):
                raise ScriptError(f"{at} must list distinct guardian roles; got {list(names)}")
            parsed[name] = names
    return parsed


def _check_step(step: Step, roles: Sequence[Role], election: ElectionSettings) -> None:
    """The rules that tie a step's actors and parameters to the election."""
    kind_of = {role.id: role.kind for role in roles}
    guardians = [role.id for role in roles if role.kind == RoleKind.GUARDIAN]
    if step.spec.officials:
        named = sum(kind_of[r] == RoleKind.OFFICIAL for r in step.by)
        if named < election.official_quorum:
            raise ScriptError(
                f"{step.label}: names {named} official(s) to sign; the quorum is "
                f"{election.official_quorum}"
            )
    if step.action == "deal" and not any(kind_of[r] == RoleKind.DEALER for r in step.by):
        raise ScriptError(f"{step.label}: by must name the dealer, who deals the key")
    if step.action == "publish-credentials" and election.voters < 1:
        raise ScriptError(f"{step.label}: election.voters must say how many voters to register")
    if step.action == "vote" and not 1 <= step.count("voters") <= election.voters:
        raise ScriptError(
            f"{step.label}: params.voters must be 1 to the {election.voters} registered"
        )
    if step.action == "decrypt":
        absent = step.roles("absent")
        present = [r for r in step.by if kind_of[r] == RoleKind.GUARDIAN]
        if set(present) & set(absent):
            raise ScriptError(f"{step.label}: a guardian cannot be both present and absent")
        if sorted([*present, *absent]) != sorted(guardians):
            raise ScriptError(
                f"{step.label}: by (present) and params.absent together must name every "
                "guardian exactly once"
            )
        if len(present) < election.guardian_quorum:
            raise ScriptError(
                f"{step.label}: {len(present)} guardians present; decryption needs "
                f"{election.guardian_quorum}"
            )
        if not set(step.roles("bad-shares")) <= set(present):
            raise ScriptError(
                f"{step.label}: params.bad-shares must name present guardians (in by): only "
                "a guardian who decrypts can post a bad share"
            )


def _sign_off(value: object, roles: Sequence[Role]) -> SignOff:
    fields = _mapping(value, "sign-off")
    _keys(fields, {"by", "statement"}, {"by", "statement"}, "sign-off")
    witnesses = [role.id for role in roles if role.kind == RoleKind.WITNESS]
    by: list[str] = []
    for item in _texts(fields["by"], "sign-off.by"):
        members = witnesses if item == "witnesses" else [item]
        for member in members:
            if member not in witnesses:
                raise ScriptError(f"sign-off.by: {member!r} is not a witness role")
            if member not in by:
                by.append(member)
    return SignOff(tuple(by), _text(fields["statement"], "sign-off.statement"))
