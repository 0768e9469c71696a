"""The election manifest: what is being decided, how it is counted, and who holds which key.

Officials write it as YAML or JSON (:func:`Manifest.from_mapping`); it has one canonical TLV form
(:meth:`Manifest.to_tlv`), whose SHA-256 is the election id and whose ``H32("manifest", …)``
is ``H_M`` in every proof. Contests are of three kinds (design: local-elections §1):

``referendum``
    a yes/no question; options ``yes`` and ``no``; counted by :func:`counting.referendum`.
``candidates``
    a choice among candidates with ``min_marks``..``max_marks`` marks per ballot (plurality,
    multi-seat plurality, approval); counted by plurality for ``seats`` winners, or by absolute
    majority with runoff detection.
``open_list``
    party lists with an optional candidate preference, per territorial district. In district
    ``d`` the options are one per party (the party only) and one per (party, candidate) of that
    party's list in ``d``; a ballot marks exactly one of them, so "a preference for another
    party's candidate" cannot be expressed and the party-only fallback is the party option.

A *ballot style* is the list of contest parts one voter receives: a contest id, or
``contest/district`` for an open list.

**The scheme.** ``scheme`` names the homomorphic scheme (crypto spec §2):

* scheme A, ``elgamal`` (the default): ``H_P`` of exponential ElGamal on edwards25519, whose key
  the guardians make in the dealer-free ceremony. The canonical form has 15 items.
* scheme B, ``paillier``: threshold Paillier with a key dealt by one trusted dealer. The key does
  not exist when the officials sign, so ``scheme`` is the *family* hash
  (:data:`evote.crypto.paillier.FAMILY_HASH`: 2048-bit ``n``, κ = 256, SHA-512 TLV, version 1)
  and not a key-dependent ``H_P``; the election context binds the key the dealer posts
  (:mod:`evote.election.context`). The canonical form has a 16th item,
  ``["threshold-paillier", 2048, dealer key, DEALER_TRUST]``: the dealer's Ed25519 key (it signs
  the key and the sealed shares) and the dealer trust assumption in plain words, so that the
  signed manifest itself states what every voter is asked to trust.

The YAML form says which scheme in words: ``scheme: {name: elgamal}`` or
``scheme: {name: paillier, dealer: <hex key>}`` (a plain ``scheme: elgamal`` works too);
:meth:`Manifest.to_mapping` adds the description and, for scheme B, the trust statement.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Final, Literal, cast

from evote.crypto import encoding
from evote.crypto.encoding import Decoded
from evote.crypto.hashing import hash32
from evote.crypto.paillier import FAMILY_HASH as PAILLIER_FAMILY
from evote.crypto.paillier import FAMILY_MODULUS_BITS as PAILLIER_MODULUS_BITS
from evote.crypto.paillier import MAX_GUARDIANS as PAILLIER_MAX_GUARDIANS
from evote.crypto.scheme import SCHEME_A
from evote.crypto.signing import VerifyKey
from evote.election.contest import ContestShape
from evote.errors import DecodeError, InvalidInput

MANIFEST_TAG: Final = "evote/v1/manifest"
REVOTE_LAST_COUNTS: Final = "last-counts"
_ID_PATTERN: Final = re.compile(r"[a-z0-9][a-z0-9_-]{0,63}")

#: The two schemes a manifest can name, in words.
SchemeName = Literal["elgamal", "paillier"]
ELGAMAL: Final = "elgamal"
PAILLIER: Final = "paillier"
SCHEME_NAMES: Final[tuple[SchemeName, ...]] = (ELGAMAL, PAILLIER)
#: What each scheme is, as the YAML form says it.
SCHEME_DESCRIPTIONS: Final[dict[str, str]] = {
    ELGAMAL: (
        "scheme A: exponential ElGamal on the prime-order subgroup of edwards25519; the "
        "guardians make the election key together in a dealer-free ceremony"
    ),
    PAILLIER: (
        f"scheme B: threshold Paillier with a {PAILLIER_MODULUS_BITS}-bit modulus and 256-bit "
        "proof challenges; one trusted dealer makes the key and deals a share to each guardian"
    ),
}
#: The dealer trust assumption of scheme B, in the canonical form of every scheme B manifest.
DEALER_TRUST: Final = (
    "The dealer makes the Paillier key and learns its factorization, so it can decrypt every "
    "ballot; a dealer that made a bad modulus can also let a voter prove an invalid vote. The "
    "secrecy of every ballot and the soundness of the ballot proofs rest on the dealer having "
    "been honest and having erased its secrets."
)
_PAILLIER_FAMILY_NAME: Final = "threshold-paillier"

ContestKind = Literal["referendum", "candidates", "open_list"]
MajorityBase = Literal["participants", "valid_votes"]
_MAJORITY_BASES: Final = ("participants", "valid_votes")


def _check_id(value: str, what: str) -> str:
    if not _ID_PATTERN.fullmatch(value):
        raise InvalidInput(f"{what} {value!r}: use lowercase letters, digits, '-' and '_'")
    return value


@dataclass(frozen=True, slots=True)
class Party:
    id: str
    name: str
    #: The first candidate of the party's single list (takes its first single-district seat).
    first_candidate: str


@dataclass(frozen=True, slots=True)
class District:
    """A territorial district of an open-list contest: each party's ordered list there."""

    id: str
    lists: tuple[tuple[str, tuple[str, ...]], ...]

    def list_of(self, party: str) -> tuple[str, ...]:
        return dict(self.lists).get(party, ())


@dataclass(frozen=True, slots=True)
class OpenListRule:
    """Parameters of the open-list seat allocation (local-elections §1.3); none is a constant."""

    seats: int
    threshold: Fraction = Fraction(5, 100)
    preference_share: Fraction = Fraction(1, 4)
    guarantee_one_seat: bool = True


@dataclass(frozen=True, slots=True)
class Contest:
    """One contest. ``options`` are (id, label) pairs; for an open list they are per district."""

    id: str
    kind: ContestKind
    title: str
    candidates: tuple[str, ...] = ()
    min_marks: int = 0
    max_marks: int = 1
    seats: int = 1
    rule: Literal["plurality", "absolute_majority", "referendum", "open_list"] = "plurality"
    majority_base: MajorityBase = "participants"
    turnout_quorum: Fraction | None = None
    approval_quorum: Fraction | None = None
    parties: tuple[Party, ...] = ()
    districts: tuple[District, ...] = ()
    open_list: OpenListRule | None = None

    def parts(self) -> tuple[str, ...]:
        """The ballot parts of this contest: its id, or one ``id/district`` per district."""
        if self.kind == "open_list":
            return tuple(f"{self.id}/{district.id}" for district in self.districts)
        return (self.id,)

    def options(self, district: str | None = None) -> tuple[str, ...]:
        """The option ids of this contest (of one district for an open list)."""
        if self.kind == "referendum":
            return ("yes", "no")
        if self.kind == "candidates":
            return self.candidates
        found = [d for d in self.districts if d.id == district]
        if not found:
            raise InvalidInput(f"contest {self.id} has no district {district!r}")
        options: list[str] = []
        for party in self.parties:
            options.append(party.id)
            options.extend(f"{party.id}/{candidate}" for candidate in found[0].list_of(party.id))
        return tuple(options)

    def shape(self, district: str | None = None) -> ContestShape:
        options = self.options(district)
        return ContestShape((1,) * len(options), self.min_marks, self.max_marks)


@dataclass(frozen=True, slots=True)
class BallotStyle:
    id: str
    parts: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Manifest:
    """Everything an election is bound to. Immutable; build it with :meth:`from_mapping`."""

    name: str
    contests: tuple[Contest, ...]
    ballot_styles: tuple[BallotStyle, ...]
    officials: tuple[VerifyKey, ...]
    official_quorum: int
    credential_authority: VerifyKey
    guardians: tuple[VerifyKey, ...]
    guardian_quorum: int
    log_origin: str
    log_key: VerifyKey
    witnesses: tuple[tuple[str, VerifyKey], ...]
    witness_quorum: int
    scheme: bytes = field(default_factory=lambda: SCHEME_A.params_hash)
    revote_policy: str = REVOTE_LAST_COUNTS
    #: Scheme B only: the dealer's Ed25519 key (it signs the Paillier key and the sealed shares).
    dealer: VerifyKey | None = None

    def __post_init__(self) -> None:
        _validate(self)

    # --- derived values ---------------------------------------------------------------------

    def to_tlv(self) -> bytes:
        """The canonical encoding: the bytes of the manifest entry's body."""
        return encoding.encode(_manifest_value(self))

    @property
    def election_id(self) -> bytes:
        """SHA-256 of the canonical encoding: the election's fingerprint."""
        return hashlib.sha256(self.to_tlv()).digest()

    @property
    def scheme_name(self) -> SchemeName:
        """``elgamal`` (scheme A) or ``paillier`` (scheme B), from :attr:`scheme`."""
        return PAILLIER if self.scheme == PAILLIER_FAMILY else ELGAMAL

    def require_dealer(self) -> VerifyKey:
        """The dealer's key of a scheme B manifest; :class:`InvalidInput` for scheme A."""
        if self.dealer is None:
            raise InvalidInput(
                "this election uses scheme A (the guardians' dealer-free ceremony): "
                "it has no dealer"
            )
        return self.dealer

    @property
    def manifest_hash(self) -> bytes:
        """``H_M = H32("manifest", TLV(manifest))``."""
        return hash32("manifest", self.to_tlv())

    def contest(self, contest_id: str) -> Contest:
        for contest in self.contests:
            if contest.id == contest_id:
                return contest
        raise InvalidInput(f"the manifest has no contest {contest_id!r}")

    def part(self, part: str) -> tuple[Contest, str | None]:
        """The contest and district of a ballot part id."""
        contest_id, _, district = part.partition("/")
        contest = self.contest(contest_id)
        if part not in contest.parts():
            raise InvalidInput(f"{part!r} is not a ballot part of contest {contest_id!r}")
        return contest, district or None

    def style(self, style_id: str) -> BallotStyle:
        for style in self.ballot_styles:
            if style.id == style_id:
                return style
        raise InvalidInput(f"the manifest has no ballot style {style_id!r}")

    def witness_keys(self) -> dict[str, VerifyKey]:
        return dict(self.witnesses)

    # --- reading -----------------------------------------------------------------------------

    @classmethod
    def from_mapping(cls, data: Mapping[str, object]) -> Manifest:
        """Build from the officials' YAML/JSON (keys as hex); raise :class:`InvalidInput`."""
        return _from_mapping(data)

    def to_mapping(self) -> dict[str, object]:
        """The inverse of :meth:`from_mapping` (for files and for people)."""
        return _to_mapping(self)

    @classmethod
    def from_tlv(cls, data: bytes) -> Manifest:
        """Parse the canonical encoding; raise :class:`DecodeError`."""
        try:
            manifest = _from_value(encoding.decode(data))
        except InvalidInput as error:
            raise DecodeError(f"manifest: {error}") from error
        if manifest.to_tlv() != data:
            raise DecodeError("manifest: not in canonical form")
        return manifest


# --- validation --------------------------------------------------------------------------------


def _validate(manifest: Manifest) -> None:
    if not manifest.name:
        raise InvalidInput("the manifest needs a name")
    if manifest.scheme == SCHEME_A.params_hash:
        if manifest.dealer is not None:
            raise InvalidInput("scheme A (elgamal) has no dealer: remove the dealer key")
    elif manifest.scheme == PAILLIER_FAMILY:
        if manifest.dealer is None:
            raise InvalidInput("scheme B (paillier) needs the dealer's key (scheme.dealer)")
        if len(manifest.guardians) > PAILLIER_MAX_GUARDIANS:
            raise InvalidInput(
                f"scheme B deals to at most {PAILLIER_MAX_GUARDIANS} guardians, "
                f"got {len(manifest.guardians)}"
            )
    else:
        raise InvalidInput("unknown encryption scheme parameters")
    if manifest.revote_policy != REVOTE_LAST_COUNTS:
        raise InvalidInput(f"unknown revote policy {manifest.revote_policy!r}")
    ids = [contest.id for contest in manifest.contests]
    if not ids or len(set(ids)) != len(ids):
        raise InvalidInput("contest ids must be present and distinct")
    for contest in manifest.contests:
        _validate_contest(contest)
    all_parts = {part for contest in manifest.contests for part in contest.parts()}
    style_ids = [style.id for style in manifest.ballot_styles]
    if not style_ids or len(set(style_ids)) != len(style_ids):
        raise InvalidInput("ballot style ids must be present and distinct")
    for style in manifest.ballot_styles:
        _check_id(style.id, "ballot style")
        if not style.parts or len(set(style.parts)) != len(style.parts):
            raise InvalidInput(f"ballot style {style.id}: list each contest part once")
        unknown = set(style.parts) - all_parts
        if unknown:
            raise InvalidInput(f"ballot style {style.id}: unknown parts {sorted(unknown)}")
        contests = [part.partition("/")[0] for part in style.parts]
        if sorted(contests) != sorted(ids):
            raise InvalidInput(
                f"ballot style {style.id}: every style holds every contest once "
                "(one district of an open list)"
            )
    _check_quorum(len(manifest.officials), manifest.official_quorum, "officials")
    _check_quorum(len(manifest.guardians), manifest.guardian_quorum, "guardians")
    _check_quorum(len(manifest.witnesses), manifest.witness_quorum, "witnesses")
    if manifest.witness_quorum * 2 <= len(manifest.witnesses):
        raise InvalidInput("the witness quorum must be a majority (k > n/2)")
    names = [name for name, _ in manifest.witnesses]
    if len(set(names)) != len(names):
        raise InvalidInput("witness names must be distinct")
    keys = [*manifest.officials, manifest.credential_authority, *manifest.guardians]
    keys += [manifest.log_key, *(key for _, key in manifest.witnesses)]
    if manifest.dealer is not None:
        keys.append(manifest.dealer)
    if len(set(keys)) != len(keys):
        raise InvalidInput("every role must have its own key: a key appears twice")


def _check_quorum(count: int, quorum: int, what: str) -> None:
    if not 1 <= quorum <= count:
        raise InvalidInput(f"{what}: quorum {quorum} of {count} is impossible")


def _check_fraction(value: Fraction | None, what: str) -> None:
    if value is not None and not 0 <= value <= 1:
        raise InvalidInput(f"{what} must lie between 0 and 1, got {value}")


def _validate_contest(contest: Contest) -> None:
    _check_id(contest.id, "contest")
    if not contest.title:
        raise InvalidInput(f"contest {contest.id} needs a title")
    if contest.majority_base not in _MAJORITY_BASES:
        raise InvalidInput(f"contest {contest.id}: unknown majority base {contest.majority_base!r}")
    _check_fraction(contest.turnout_quorum, f"contest {contest.id}: turnout quorum")
    _check_fraction(contest.approval_quorum, f"contest {contest.id}: approval quorum")
    if contest.kind == "referendum":
        if contest.rule != "referendum" or contest.max_marks != 1:
            raise InvalidInput(f"referendum {contest.id}: one mark, counted as a referendum")
    elif contest.kind == "candidates":
        if contest.rule not in ("plurality", "absolute_majority"):
            raise InvalidInput(f"contest {contest.id}: rule must be plurality or absolute_majority")
        if len(set(contest.candidates)) != len(contest.candidates) or not contest.candidates:
            raise InvalidInput(f"contest {contest.id}: candidates must be present and distinct")
        for candidate in contest.candidates:
            _check_id(candidate, f"contest {contest.id}: candidate")
        if not 1 <= contest.seats <= len(contest.candidates):
            raise InvalidInput(f"contest {contest.id}: {contest.seats} seats is impossible")
        if contest.rule == "absolute_majority" and (contest.seats != 1 or contest.max_marks != 1):
            raise InvalidInput(f"contest {contest.id}: absolute majority elects one with one mark")
    elif contest.kind == "open_list":
        _validate_open_list(contest)
    else:
        raise InvalidInput(f"contest {contest.id}: unknown kind {contest.kind!r}")
    if contest.kind != "open_list":
        try:
            contest.shape()  # checks 0 ≤ min ≤ max ≤ number of options
        except InvalidInput as error:
            raise InvalidInput(f"contest {contest.id}: {error}") from error
    _check_kind_fields(contest)


def _check_kind_fields(contest: Contest) -> None:
    """Fields of other kinds keep their defaults, so a manifest has one canonical form."""
    stray = []
    if contest.kind != "candidates" and (contest.candidates or contest.seats != 1):
        stray.append("candidates/seats")
    if contest.kind != "open_list" and (contest.parties or contest.districts or contest.open_list):
        stray.append("parties/districts/counting")
    if contest.kind != "referendum" and (contest.turnout_quorum or contest.approval_quorum):
        stray.append("turnout_quorum/approval_quorum")
    if stray:
        raise InvalidInput(f"contest {contest.id} ({contest.kind}) cannot have {', '.join(stray)}")


def _validate_open_list(contest: Contest) -> None:
    if contest.rule != "open_list" or contest.open_list is None:
        raise InvalidInput(f"open list {contest.id}: needs open_list counting parameters")
    if contest.min_marks not in (0, 1) or contest.max_marks != 1:
        raise InvalidInput(f"open list {contest.id}: a ballot marks one party (or one candidate)")
    rule = contest.open_list
    _check_fraction(rule.threshold, f"open list {contest.id}: threshold")
    _check_fraction(rule.preference_share, f"open list {contest.id}: preference share")
    if rule.seats < 1:
        raise InvalidInput(f"open list {contest.id}: the council needs at least one seat")
    party_ids = [party.id for party in contest.parties]
    if not party_ids or len(set(party_ids)) != len(party_ids):
        raise InvalidInput(f"open list {contest.id}: parties must be present and distinct")
    names = []
    for party in contest.parties:
        _check_id(party.id, f"open list {contest.id}: party")
        if not party.name or not party.first_candidate:
            raise InvalidInput(f"open list {contest.id}: party {party.id} needs a name and leader")
        _check_id(party.first_candidate, f"open list {contest.id}: first candidate")
        names.append(party.first_candidate)
    district_ids = [district.id for district in contest.districts]
    if not district_ids or len(set(district_ids)) != len(district_ids):
        raise InvalidInput(f"open list {contest.id}: districts must be present and distinct")
    for district in contest.districts:
        _check_id(district.id, f"open list {contest.id}: district")
        listed = [party_id for party_id, _ in district.lists]
        if len(set(listed)) != len(listed):
            raise InvalidInput(f"open list {contest.id}/{district.id}: a party has two lists")
        for party_id, candidates in district.lists:
            if party_id not in party_ids:
                raise InvalidInput(
                    f"open list {contest.id}/{district.id}: unknown party {party_id}"
                )
            for candidate in candidates:
                _check_id(candidate, f"open list {contest.id}/{district.id}: candidate")
            names.extend(candidates)
    if len(set(names)) != len(names):
        raise InvalidInput(
            f"open list {contest.id}: a candidate stands twice (on two lists, or also first "
            "on a single list)"
        )


# --- canonical TLV ---------------------------------------------------------------------------


def _fraction_value(value: Fraction | None) -> list[int]:
    return [] if value is None else [value.numerator, value.denominator]


def _contest_value(contest: Contest) -> list[encoding.Value]:
    rule = contest.open_list
    return [
        contest.id,
        contest.kind,
        contest.title,
        list(contest.candidates),
        contest.min_marks,
        contest.max_marks,
        contest.seats,
        contest.rule,
        contest.majority_base,
        _fraction_value(contest.turnout_quorum),
        _fraction_value(contest.approval_quorum),
        [[p.id, p.name, p.first_candidate] for p in contest.parties],
        [[d.id, [[party, list(names)] for party, names in d.lists]] for d in contest.districts],
        []
        if rule is None
        else [
            rule.seats,
            _fraction_value(rule.threshold),
            _fraction_value(rule.preference_share),
            int(rule.guarantee_one_seat),
        ],
    ]


def _manifest_value(m: Manifest) -> list[encoding.Value]:
    value: list[encoding.Value] = [
        MANIFEST_TAG,
        m.name,
        m.scheme,
        m.revote_policy,
        [_contest_value(contest) for contest in m.contests],
        [[style.id, list(style.parts)] for style in m.ballot_styles],
        [key.encode() for key in m.officials],
        m.official_quorum,
        m.credential_authority.encode(),
        [key.encode() for key in m.guardians],
        m.guardian_quorum,
        m.log_origin,
        m.log_key.encode(),
        [[name, key.encode()] for name, key in m.witnesses],
        m.witness_quorum,
    ]
    return value + _dealer_value(m)


def _dealer_value(m: Manifest) -> list[encoding.Value]:
    """Scheme B's 16th item (none for scheme A, whose canonical form is unchanged)."""
    if m.dealer is None:
        return []
    return [[_PAILLIER_FAMILY_NAME, PAILLIER_MODULUS_BITS, m.dealer.encode(), DEALER_TRUST]]


def _dealer_from(fields: list[Decoded]) -> VerifyKey | None:
    """The dealer of a scheme B manifest's 16th item, its words checked; ``None`` without one."""
    if len(fields) == 15:
        return None
    if len(fields) != 16 or fields[2] != PAILLIER_FAMILY:
        raise DecodeError(f"manifest: expected 15 items (16 for scheme B), got {len(fields)}")
    items = encoding.expect_list(fields[15], 4, what="manifest.dealer")
    if items[0] != _PAILLIER_FAMILY_NAME or items[1] != PAILLIER_MODULUS_BITS:
        raise DecodeError(
            f"manifest.dealer: expected {_PAILLIER_FAMILY_NAME!r} with a "
            f"{PAILLIER_MODULUS_BITS}-bit modulus"
        )
    if items[3] != DEALER_TRUST:
        raise DecodeError("manifest.dealer: the dealer trust statement is not the one of scheme B")
    return _key(items[2], "dealer key")


def _fraction_from(value: Decoded, what: str) -> Fraction | None:
    items = encoding.expect_list(value, what=what)
    if not items:
        return None
    if len(items) != 2:
        raise DecodeError(f"{what}: a fraction is [numerator, denominator]")
    numerator = encoding.expect_int(items[0], what=what)
    denominator = encoding.expect_int(items[1], what=what)
    if denominator == 0:
        raise DecodeError(f"{what}: zero denominator")
    return Fraction(numerator, denominator)


def _texts(value: Decoded, what: str) -> tuple[str, ...]:
    return tuple(
        encoding.expect_text(item, what=what) for item in encoding.expect_list(value, what=what)
    )


def _key(value: Decoded, what: str) -> VerifyKey:
    return VerifyKey.decode(encoding.expect_bytes(value, 32, what=what))


def _contest_from(value: Decoded) -> Contest:
    f = encoding.expect_list(value, 14, what="contest")
    text = encoding.expect_text
    number = encoding.expect_int
    parties = tuple(
        Party(*(text(x, what="party") for x in encoding.expect_list(p, 3, what="party")))
        for p in encoding.expect_list(f[11], what="parties")
    )
    districts = []
    for item in encoding.expect_list(f[12], what="districts"):
        district_id, lists = encoding.expect_list(item, 2, what="district")
        districts.append(
            District(
                text(district_id, what="district id"),
                tuple(
                    (
                        text(encoding.expect_list(entry, 2, what="list")[0], what="party"),
                        _texts(encoding.expect_list(entry, 2, what="list")[1], what="candidates"),
                    )
                    for entry in encoding.expect_list(lists, what="lists")
                ),
            )
        )
    rule_items = encoding.expect_list(f[13], what="open list rule")
    open_list = None
    if rule_items:
        if len(rule_items) != 4:
            raise DecodeError("open list rule: expected 4 items")
        open_list = OpenListRule(
            number(rule_items[0], what="seats"),
            _fraction_from(rule_items[1], "threshold") or Fraction(0),
            _fraction_from(rule_items[2], "preference share") or Fraction(0),
            bool(number(rule_items[3], what="guarantee")),
        )
    return Contest(
        id=text(f[0], what="contest id"),
        kind=cast(ContestKind, text(f[1], what="contest kind")),
        title=text(f[2], what="contest title"),
        candidates=_texts(f[3], "candidates"),
        min_marks=number(f[4], what="min_marks"),
        max_marks=number(f[5], what="max_marks"),
        seats=number(f[6], what="seats"),
        rule=cast(Literal["plurality"], text(f[7], what="rule")),
        majority_base=cast(MajorityBase, text(f[8], what="majority base")),
        turnout_quorum=_fraction_from(f[9], "turnout quorum"),
        approval_quorum=_fraction_from(f[10], "approval quorum"),
        parties=parties,
        districts=tuple(districts),
        open_list=open_list,
    )


def _from_value(value: Decoded) -> Manifest:
    f = encoding.expect_list(value, what="manifest")
    dealer = _dealer_from(f)
    if f[0] != MANIFEST_TAG:
        raise DecodeError("not an evote v1 manifest")
    text = encoding.expect_text
    number = encoding.expect_int
    return Manifest(
        name=text(f[1], what="name"),
        scheme=encoding.expect_bytes(f[2], 32, what="scheme"),
        revote_policy=text(f[3], what="revote policy"),
        contests=tuple(_contest_from(c) for c in encoding.expect_list(f[4], what="contests")),
        ballot_styles=tuple(
            BallotStyle(
                text(encoding.expect_list(s, 2, what="style")[0], what="style id"),
                _texts(encoding.expect_list(s, 2, what="style")[1], "style parts"),
            )
            for s in encoding.expect_list(f[5], what="ballot styles")
        ),
        officials=tuple(
            _key(k, "official key") for k in encoding.expect_list(f[6], what="officials")
        ),
        official_quorum=number(f[7], what="official quorum"),
        credential_authority=_key(f[8], "credential authority key"),
        guardians=tuple(
            _key(k, "guardian key") for k in encoding.expect_list(f[9], what="guardians")
        ),
        guardian_quorum=number(f[10], what="guardian quorum"),
        log_origin=text(f[11], what="log origin"),
        log_key=_key(f[12], "log key"),
        witnesses=tuple(
            (
                text(encoding.expect_list(w, 2, what="witness")[0], what="witness name"),
                _key(encoding.expect_list(w, 2, what="witness")[1], "witness key"),
            )
            for w in encoding.expect_list(f[13], what="witnesses")
        ),
        witness_quorum=number(f[14], what="witness quorum"),
        dealer=dealer,
    )


# --- the officials' YAML/JSON ---------------------------------------------------------------


_MISSING: Final = object()


def _str(data: Mapping[str, object], key: str, what: str, default: object = _MISSING) -> str:
    value = data.get(key, default)
    if value is _MISSING:
        raise InvalidInput(f"{what}: missing {key!r}")
    if not isinstance(value, str):
        raise InvalidInput(f"{what}: {key!r} must be text")
    return value


def _int(data: Mapping[str, object], key: str, what: str, default: object = _MISSING) -> int:
    value = data.get(key, default)
    if value is _MISSING:
        raise InvalidInput(f"{what}: missing {key!r}")
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidInput(f"{what}: {key!r} must be a whole number")
    return value


def _hex_key(value: object, what: str) -> VerifyKey:
    if not isinstance(value, str):
        raise InvalidInput(f"{what}: a key is 64 hex digits")
    try:
        return VerifyKey.decode(bytes.fromhex(value))
    except (ValueError, DecodeError) as error:
        raise InvalidInput(f"{what}: not a valid Ed25519 public key: {error}") from error


def _fraction_of(value: object, what: str) -> Fraction | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise InvalidInput(f"{what}: write a fraction as '1/2' or a decimal")
    try:
        return Fraction(str(value))
    except (ValueError, ZeroDivisionError) as error:
        raise InvalidInput(f"{what}: {value!r} is not a fraction") from error


def _mapping(value: object, what: str) -> Mapping[str, object]:
    if not isinstance(value, Mapping):
        raise InvalidInput(f"{what} must be a mapping")
    return cast(Mapping[str, object], value)


def _names(value: object, what: str) -> tuple[str, ...]:
    items = _sequence(value, what)
    if not all(isinstance(item, str) for item in items):
        raise InvalidInput(f"{what}: every name must be text (quote numbers)")
    return tuple(str(item) for item in items)


def _bool(value: object, what: str) -> bool:
    if not isinstance(value, bool):
        raise InvalidInput(f"{what}: write true or false")
    return value


def _required_fraction(value: object, what: str) -> Fraction:
    fraction = _fraction_of(value, what)
    if fraction is None:
        raise InvalidInput(f"{what}: a fraction is required here")
    return fraction


def _sequence(value: object, what: str) -> Sequence[object]:
    if not isinstance(value, list | tuple):
        raise InvalidInput(f"{what} must be a list")
    return value


def _contest_from_mapping(data: Mapping[str, object]) -> Contest:
    what = f"contest {data.get('id')!r}"
    kind = _str(data, "kind", what)
    identity = _str(data, "id", what)
    title = _str(data, "title", what)
    min_marks = _int(data, "min_marks", what, 0)
    max_marks = _int(data, "max_marks", what, 1)
    base = cast(MajorityBase, _str(data, "majority_base", what, "participants"))
    turnout = _fraction_of(data.get("turnout_quorum"), f"{what} turnout_quorum")
    approval = _fraction_of(data.get("approval_quorum"), f"{what} approval_quorum")
    if kind == "referendum":
        return Contest(
            identity,
            "referendum",
            title,
            (),
            min_marks,
            max_marks,
            1,
            "referendum",
            base,
            turnout,
            approval,
        )
    if kind == "candidates":
        rule = _str(data, "rule", what, "plurality")
        if rule not in ("plurality", "absolute_majority"):
            raise InvalidInput(f"{what}: rule must be plurality or absolute_majority")
        candidates = _names(data.get("candidates"), f"{what} candidates")
        return Contest(
            identity,
            "candidates",
            title,
            candidates,
            min_marks,
            max_marks,
            _int(data, "seats", what, 1),
            cast(Literal["plurality"], rule),
            base,
            turnout,
            approval,
        )
    if kind == "open_list":
        counting = _mapping(data.get("counting"), f"{what} counting")
        parties = []
        for item in _sequence(data.get("parties"), f"{what} parties"):
            party = _mapping(item, f"{what} party")
            parties.append(
                Party(
                    _str(party, "id", what),
                    _str(party, "name", what),
                    _str(party, "first_candidate", what),
                )
            )
        districts = []
        for item in _sequence(data.get("districts"), f"{what} districts"):
            district = _mapping(item, f"{what} district")
            lists = _mapping(district.get("lists"), f"{what} lists")
            districts.append(
                District(
                    _str(district, "id", what),
                    tuple(
                        (str(party), _names(names, f"{what} list"))
                        for party, names in lists.items()
                    ),
                )
            )
        parameters = OpenListRule(
            seats=_int(counting, "seats", what),
            threshold=_required_fraction(counting.get("threshold", "5/100"), f"{what} threshold"),
            preference_share=_required_fraction(
                counting.get("preference_share", "1/4"), f"{what} preference_share"
            ),
            guarantee_one_seat=_bool(counting.get("guarantee_one_seat", True), f"{what} guarantee"),
        )
        return Contest(
            identity,
            "open_list",
            title,
            (),
            min_marks,
            max_marks,
            1,
            "open_list",
            base,
            turnout,
            approval,
            tuple(parties),
            tuple(districts),
            parameters,
        )
    raise InvalidInput(f"{what}: unknown kind {kind!r}")


def _from_mapping(data: Mapping[str, object]) -> Manifest:
    data = _mapping(data, "the manifest")
    contests = tuple(
        _contest_from_mapping(_mapping(c, "contest"))
        for c in _sequence(data.get("contests"), "contests")
    )
    styles_data = data.get("ballot_styles")
    styles: tuple[BallotStyle, ...]
    if styles_data is None:
        styles = (BallotStyle("default", tuple(p for c in contests for p in c.parts())),)
    else:
        styles = tuple(
            BallotStyle(
                _str(_mapping(s, "ballot style"), "id", "ballot style"),
                _names(_mapping(s, "style").get("parts"), "style parts"),
            )
            for s in _sequence(styles_data, "ballot_styles")
        )
    officials = _mapping(data.get("officials"), "officials")
    guardians = _mapping(data.get("guardians"), "guardians")
    log = _mapping(data.get("log"), "log")
    witnesses = _mapping(data.get("witnesses"), "witnesses")
    scheme, dealer = _scheme_from_mapping(data.get("scheme", ELGAMAL))
    return Manifest(
        name=_str(data, "name", "manifest"),
        contests=contests,
        ballot_styles=styles,
        officials=tuple(
            _hex_key(k, "officials") for k in _sequence(officials.get("keys"), "officials.keys")
        ),
        official_quorum=_int(officials, "quorum", "officials"),
        credential_authority=_hex_key(data.get("credential_authority"), "credential_authority"),
        guardians=tuple(
            _hex_key(k, "guardians") for k in _sequence(guardians.get("keys"), "guardians.keys")
        ),
        guardian_quorum=_int(guardians, "quorum", "guardians"),
        log_origin=_str(log, "origin", "log"),
        log_key=_hex_key(log.get("key"), "log.key"),
        witnesses=tuple(
            (str(name), _hex_key(key, f"witness {name}"))
            for name, key in _mapping(witnesses.get("keys"), "witnesses.keys").items()
        ),
        witness_quorum=_int(witnesses, "quorum", "witnesses"),
        scheme=scheme,
        dealer=dealer,
    )


def _scheme_from_mapping(value: object) -> tuple[bytes, VerifyKey | None]:
    """``scheme: elgamal`` or ``scheme: {name: paillier, dealer: <hex>}``: the scheme's hash and
    the dealer's key. A ``description`` or ``dealer_trust`` given must be the scheme's own words
    (they are what the canonical form says; other words would mislead whoever signs)."""
    data: Mapping[str, object] = (
        {"name": value} if isinstance(value, str) else _mapping(value, "scheme")
    )
    name = _str(data, "name", "scheme")
    if name not in SCHEME_NAMES:
        raise InvalidInput(f"scheme: unknown scheme {name!r}; use {' or '.join(SCHEME_NAMES)}")
    unknown = set(data) - {"name", "description", "dealer", "dealer_trust"}
    if unknown:
        raise InvalidInput(f"scheme: unknown fields {sorted(unknown)}")
    if data.get("description", SCHEME_DESCRIPTIONS[name]) != SCHEME_DESCRIPTIONS[name]:
        raise InvalidInput(
            f"scheme: the description is not the words of scheme {name!r}; leave it out"
        )
    if name == ELGAMAL:
        if "dealer" in data or "dealer_trust" in data:
            raise InvalidInput("scheme: elgamal (scheme A) has no dealer")
        return SCHEME_A.params_hash, None
    if data.get("dealer_trust", DEALER_TRUST) != DEALER_TRUST:
        raise InvalidInput(
            "scheme: dealer_trust is not the trust statement of scheme B; leave it out"
        )
    if "dealer" not in data:
        raise InvalidInput("scheme: paillier (scheme B) needs the dealer's key (scheme.dealer)")
    return PAILLIER_FAMILY, _hex_key(data["dealer"], "scheme.dealer")


def _scheme_to_mapping(m: Manifest) -> dict[str, object]:
    name = m.scheme_name
    out: dict[str, object] = {"name": name, "description": SCHEME_DESCRIPTIONS[name]}
    if m.dealer is not None:
        out.update(dealer=m.dealer.encode().hex(), dealer_trust=DEALER_TRUST)
    return out


def _fraction_text(value: Fraction | None) -> str | None:
    return None if value is None else f"{value.numerator}/{value.denominator}"


def _to_mapping(m: Manifest) -> dict[str, object]:
    contests: list[dict[str, object]] = []
    for c in m.contests:
        item: dict[str, object] = {
            "id": c.id,
            "kind": c.kind,
            "title": c.title,
            "min_marks": c.min_marks,
            "max_marks": c.max_marks,
            "majority_base": c.majority_base,
            "turnout_quorum": _fraction_text(c.turnout_quorum),
            "approval_quorum": _fraction_text(c.approval_quorum),
        }
        if c.kind == "candidates":
            item.update(candidates=list(c.candidates), seats=c.seats, rule=c.rule)
        if c.kind == "open_list" and c.open_list is not None:
            item.update(
                parties=[
                    {"id": p.id, "name": p.name, "first_candidate": p.first_candidate}
                    for p in c.parties
                ],
                districts=[
                    {"id": d.id, "lists": {party: list(names) for party, names in d.lists}}
                    for d in c.districts
                ],
                counting={
                    "seats": c.open_list.seats,
                    "threshold": _fraction_text(c.open_list.threshold),
                    "preference_share": _fraction_text(c.open_list.preference_share),
                    "guarantee_one_seat": c.open_list.guarantee_one_seat,
                },
            )
        contests.append(item)
    return {
        "name": m.name,
        "scheme": _scheme_to_mapping(m),
        "contests": contests,
        "ballot_styles": [{"id": s.id, "parts": list(s.parts)} for s in m.ballot_styles],
        "officials": {"keys": [k.encode().hex() for k in m.officials], "quorum": m.official_quorum},
        "credential_authority": m.credential_authority.encode().hex(),
        "guardians": {"keys": [k.encode().hex() for k in m.guardians], "quorum": m.guardian_quorum},
        "log": {"origin": m.log_origin, "key": m.log_key.encode().hex()},
        "witnesses": {
            "keys": {name: key.encode().hex() for name, key in m.witnesses},
            "quorum": m.witness_quorum,
        },
    }
