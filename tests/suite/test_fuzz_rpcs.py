"""Every RPC of every evote service, fed malformed and hostile requests over real TLS.

The election is served as in deployment (:func:`serve_election_tls`: the public port with
server-auth TLS, the control port with role certificates from the election CA, a witness
hosted on the control port) over a staged board that went through registration on the
wire and is open, with one ballot cast and one audited. Each method is called by a client
whose role may call it, with

* requests built from the method's own descriptor, each field hostile: empty, random, huge
  (past the listener's limit), out-of-range numbers, repeated fields thousands long, and
  valid-looking values taken from the real election and broken (a cast ballot with one bit
  flipped or cut short, a ballot for another election, a replayed ballot, an official's mark
  signed by too few officials, a witness's cosignature under another name...);
* raw bytes that are not a protobuf of the request type at all.

After every call: the answer is OK or one of the status codes for bad input with a message a
person can read; the board (its size, every checkpoint and its cosignatures), the registry
and the hosted witness are exactly as before (an accepted call that may change state is
checked for being the change it claims); both ports still answer health checks; and no
credential, enrollment code, tracking code or request blob was logged.

The methods come from the generated descriptors, so a new RPC is fuzzed as soon as it is
added, and the test fails until :data:`PLAN` says what its bad-input answers are.
"""

from __future__ import annotations

import hashlib
import importlib
import logging
import pkgutil
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import grpc
import pytest
from google.protobuf import message_factory
from google.protobuf.descriptor import Descriptor, FieldDescriptor, MethodDescriptor
from google.protobuf.message import DecodeError as ProtobufDecodeError
from google.protobuf.message import Message
from grpc_health.v1 import health_pb2, health_pb2_grpc
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import evote.wire.v1
from evote.board.checkpoint import cosign, cosignature_time, open_checkpoint
from evote.board.entry import Entry
from evote.board.merkle import leaf_hash
from evote.board.note import parse_note
from evote.board.witness import Witness, WitnessState
from evote.crypto.signing import SigningKey
from evote.election.tally import encrypted_tally
from evote.errors import EvoteError
from evote.mock.defaults import REFERENCE_CONTESTS
from evote.mock.staging import StagedElection, stage_election
from evote.record import kinds
from evote.record.kinds import PhaseMark
from evote.record.registry import Counts
from evote.services.auth import (
    METHOD_RULES,
    AuthorizationInterceptor,
    Port,
    channel_credentials,
    channel_options,
)
from evote.services.ca import Role, RoleKind
from evote.services.server import ElectionServers, serve_election_tls, setup_data_dir
from tests.suite.fuzz_mutations import flipped, mutations, pick, spliced, truncated, unreadable
from tests.suite.sizing import size

TIMEOUT = 30.0
WITNESS = "witness-1.evote.test"
OTHER_WITNESS = "witness-2.evote.test"
CODES = tuple(f"fuzz-enrollment-code-{i}" for i in range(4))

#: What a server may answer a request that is malformed, hostile or not allowed.
BAD_INPUT: frozenset[grpc.StatusCode] = frozenset(
    {
        grpc.StatusCode.INVALID_ARGUMENT,
        grpc.StatusCode.FAILED_PRECONDITION,
        grpc.StatusCode.NOT_FOUND,
        grpc.StatusCode.ALREADY_EXISTS,
        grpc.StatusCode.PERMISSION_DENIED,
        grpc.StatusCode.UNAUTHENTICATED,
        grpc.StatusCode.OUT_OF_RANGE,
        grpc.StatusCode.RESOURCE_EXHAUSTED,
    }
)


def wire_modules() -> list[ModuleType]:
    """Every generated ``*_pb2`` module of the wire package (a new .proto is picked up)."""
    package = evote.wire.v1
    return [
        importlib.import_module(f"{package.__name__}.{info.name}")
        for info in pkgutil.iter_modules(package.__path__)
        if info.name.endswith("_pb2")
    ]


def wire_methods() -> dict[str, MethodDescriptor]:
    """``/package.Service/Method`` → descriptor, for every method of every evote service."""
    return {
        f"/{service.full_name}/{method.name}": method
        for module in wire_modules()
        for service in module.DESCRIPTOR.services_by_name.values()
        for method in service.methods
    }


METHODS = wire_methods()


def _input(method: MethodDescriptor) -> Descriptor:
    """The request type of ``method``."""
    request = method.input_type
    assert request is not None
    return request


@dataclass(frozen=True)
class Plan:
    """How hostile calls of one method are judged.

    ``also``: status codes beyond :data:`BAD_INPUT` this method answers bad input with, by
    design. ``changes``: whether an accepted call may change state (then it is checked for
    being exactly the change it claims); otherwise an accepted call must change nothing.
    """

    risk: str
    also: frozenset[grpc.StatusCode] = frozenset()
    changes: bool = False


PLAN: dict[str, Plan] = {
    "/evote.wire.v1.Board/GetCheckpoint": Plan("sizes past the board or never signed"),
    "/evote.wire.v1.Board/GetEntries": Plan("a start past the board, a page limit of 2^32-1"),
    "/evote.wire.v1.Board/GetInclusionProof": Plan("an index outside the tree, tree sizes 0/huge"),
    "/evote.wire.v1.Board/GetConsistencyProof": Plan("old size past the new one, sizes past"),
    "/evote.wire.v1.Board/GetReceipt": Plan("tracking codes of the wrong length or unknown"),
    "/evote.wire.v1.BallotBox/Cast": Plan(
        "tampered, foreign, replayed, unlisted, out-of-sequence and oversized ballots"
    ),
    "/evote.wire.v1.BallotBox/Audit": Plan("tampered audits, ballots sent as audits"),
    "/evote.wire.v1.Registry/Enroll": Plan("codes used, unknown or huge; credentials not points"),
    "/evote.wire.v1.Registry/Status": Plan("a request with unknown fields"),
    "/evote.wire.v1.Control/Post": Plan(
        "every entry of the board replayed by every role, marks out of place or under-signed, "
        "entries of other roles, tampered entries"
    ),
    "/evote.wire.v1.Control/ImportRoll": Plan("rolls after registration closed, 5000 codes"),
    "/evote.wire.v1.Control/CloseRegistration": Plan("closing again (idempotent: no change)"),
    "/evote.wire.v1.Control/AddCosignature": Plan(
        "another witness's line, tampered lines, sizes never signed"
    ),
    # C2SP tlog-witness: a log that names the wrong previous size is told to retry from the
    # size the witness knows (ABORTED, with that size in the trailing metadata).
    "/evote.wire.v1.Witness/AddCheckpoint": Plan(
        "forged or tampered checkpoints, wrong proofs, a stale old size",
        also=frozenset({grpc.StatusCode.ABORTED}),
        changes=True,
    ),
}

#: A client per role, for each role kind the method table allows.
ROLES: dict[RoleKind, tuple[Role, ...]] = {
    RoleKind.OFFICIAL: (Role.official(),),
    RoleKind.GUARDIAN: (Role.for_guardian(1), Role.for_guardian(2)),
    RoleKind.CREDENTIAL_AUTHORITY: (Role.credential_authority(),),
    RoleKind.DEALER: (Role.dealer(),),
    RoleKind.WITNESS: (Role.for_witness(WITNESS),),
    RoleKind.BOARD: (Role.board(),),
    RoleKind.ADMIN: (Role.admin(),),
}


# ---------------------------------------------------------------------------------------------
# The running election


@dataclass
class Corpus:
    """Valid-looking values from the real election, for the fields of hostile requests."""

    entries: list[bytes]
    hashes: list[bytes]
    keys: list[bytes]
    strings: list[str]
    numbers: list[int]

    def __repr__(self) -> str:
        return f"Corpus({len(self.entries)} entries, {len(self.strings)} strings)"

    def blobs_for(self, name: str) -> list[bytes]:
        """The real values a bytes field of this name holds (entries for ``entry``...)."""
        if "entry" in name:
            return self.entries
        if "credential" in name:
            return self.keys
        if "code" in name or "proof" in name or "path" in name:
            return self.hashes
        return [*self.entries, *self.hashes, *self.keys]

    def texts_for(self, name: str) -> list[str]:
        """The real values a string field of this name holds (codes, notes, cosignatures)."""
        if "code" in name:
            return [s for s in self.strings if "\n" not in s and not s.startswith("— ")]
        if "checkpoint" in name:
            return [s for s in self.strings if s.count("\n") > 2]
        if "line" in name:
            return [s for s in self.strings if s.startswith("— ")]
        return self.strings


@dataclass(frozen=True)
class State:
    """Everything a call could change: the board, the registry and the hosted witness."""

    board_size: int
    checkpoints: tuple[str, ...]
    registry: Counts
    witness: WitnessState


class Captured(logging.Handler):
    """Every log record of the services while the fuzz runs (from every thread)."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def text(self, record: logging.LogRecord) -> str:
        if record.exc_info:
            return f"{record.getMessage()}\n{logging.Formatter().formatException(record.exc_info)}"
        return record.getMessage()


class Served:
    """The running election, its clients, the corpus, the captured logs and the tally of
    answers (a plain class: Hypothesis prints it in a failing example)."""

    def __init__(
        self,
        staged: StagedElection,
        servers: ElectionServers,
        witness: Witness,
        public: grpc.Channel,
        control: dict[Role, grpc.Channel],
        logs: Captured,
    ) -> None:
        self.staged = staged
        self.servers = servers
        self.witness = witness
        self.public = public
        self.control = control
        self.corpus = Corpus([], [], [], [], [])
        self.logs = logs
        self.counts: dict[str, Counter[str]] = {}
        #: Negative controls only: skip the health checks (a stand-in server has none), and
        #: interfere between a call and the check of the state.
        self.check_health = True
        self.meddle: Callable[[], None] | None = None

    def __repr__(self) -> str:
        return f"Served({self.servers.public.address}, {self.servers.control.address})"

    def state(self) -> State:
        board = self.servers.board
        return State(
            board.size,
            tuple(board.checkpoints()),
            self.servers.registry.counts(),
            self.witness.state,
        )

    def channel(self, role: Role | None) -> grpc.Channel:
        return self.public if role is None else self.control[role]

    def serving(self) -> bool:
        """Both ports answer health checks with SERVING."""
        for channel in (self.public, *self.control.values()):
            answer = health_pb2_grpc.HealthStub(channel).Check(
                health_pb2.HealthCheckRequest(), timeout=TIMEOUT
            )
            if answer.status != health_pb2.HealthCheckResponse.SERVING:
                return False
        return True


def _secure(address: str, ca_pem: bytes, leaf: Any = None) -> grpc.Channel:
    return grpc.secure_channel(
        address, channel_credentials(ca_pem, leaf), options=channel_options(retry=False)
    )


def _register_and_open(staged: StagedElection, served: Served) -> None:
    """Registration on the wire (roll, enrollments, close), the officials' open mark, one
    ballot cast and one audited, and a witness's cosignature handed in."""
    from evote.wire.v1 import ballot_box_pb2, control_pb2

    def control(role: Role, method: str, request: Message) -> bytes:
        stub: grpc.UnaryUnaryMultiCallable[bytes, bytes] = served.control[role].unary_unary(
            f"/evote.wire.v1.Control/{method}", request_serializer=None
        )
        return stub(request.SerializeToString(), timeout=TIMEOUT)

    def public(path: str, request: Message) -> None:
        stub: grpc.UnaryUnaryMultiCallable[bytes, bytes] = served.public.unary_unary(
            path, request_serializer=None
        )
        stub(request.SerializeToString(), timeout=TIMEOUT)

    control(
        Role.credential_authority(),
        "ImportRoll",
        control_pb2.ImportRollRequest(enrollment_codes=CODES),
    )
    for code, credential in zip(CODES, staged.credentials, strict=True):
        public(
            "/evote.wire.v1.Registry/Enroll",
            control_pb2.EnrollRequest(
                enrollment_code=code, credential=credential.verify_key.encode()
            ),
        )
    closed = control_pb2.RegistrationStatus.FromString(
        control(Role.credential_authority(), "CloseRegistration", control_pb2.Empty())
    )
    listed = staged.entry(kinds.CREDENTIALS, closed.credential_list, [staged.authority])
    control(Role.credential_authority(), "Post", control_pb2.PostRequest(entry=listed))
    open_mark = staged.mark("open", staged.officials)
    control(Role.official(), "Post", control_pb2.PostRequest(entry=open_mark))
    public("/evote.wire.v1.BallotBox/Cast", ballot_box_pb2.CastRequest(entry=staged.ballot(0)))
    public("/evote.wire.v1.BallotBox/Audit", ballot_box_pb2.AuditRequest(entry=staged.audit(1)))
    board = served.servers.board
    note = parse_note(board.latest_checkpoint())
    line = cosign(note, WITNESS, dict(staged.witnesses)[WITNESS], int(time.time())).line()
    control(
        Role.for_witness(WITNESS),
        "AddCosignature",
        control_pb2.AddCosignatureRequest(size=board.size, line=line.rstrip("\n")),
    )


def _corpus(staged: StagedElection, servers: ElectionServers) -> Corpus:
    """The real election's entries and the hostile variants worth sending in its fields."""
    board = servers.board
    on_board = board.entries(0, board.size)
    officials = staged.officials
    other_election = hashlib.sha256(b"another election").digest()
    by_kind = {Entry.decode(e).kind: Entry.decode(e) for e in on_board}
    cast = by_kind[kinds.BALLOT]
    tally = encrypted_tally(staged.manifest, {})
    shares = staged.trustees[0].decrypt_tally(staged.context, tally.totals)
    hostile = [
        # A ballot signed for another election; one by a credential not on the list; one
        # that skips sequence numbers. (The board's own ballot and audit, replayed, are above.)
        Entry.create(kinds.BALLOT, other_election, cast.body, [staged.credentials[0]]).encoded,
        staged.ballot_by(SigningKey.generate(), 0, "stranger"),
        staged.ballot(2, sequence=5),
        # Officials' marks out of place or under-signed, a tally before the close.
        staged.entry(kinds.OPEN, PhaseMark("open", int(time.time()) + 1).to_tlv(), officials),
        staged.mark("close", officials[:1]),
        staged.entry(kinds.TALLY, tally.to_tlv(), officials),
        # A guardian's decryption shares before any tally; a credential list on a server
        # that keeps the registry; an entry of a kind nobody posts.
        staged.entry(kinds.DECRYPTION_SHARE, shares.to_tlv(), [staged.guardians[0]]),
        staged.entry(kinds.CREDENTIALS, by_kind[kinds.CREDENTIALS].body, [staged.authority]),
        staged.entry("no-such-kind", b"", officials),
    ]
    notes = board.checkpoints()
    checkpoint = parse_note(notes[-1])
    other_line = cosign(checkpoint, OTHER_WITNESS, dict(staged.witnesses)[OTHER_WITNESS], 1)
    sizes = [open_checkpoint(n, staged.origin, staged.log_key.verify_key)[0].size for n in notes]
    return Corpus(
        entries=[*on_board, *hostile],
        hashes=[leaf_hash(e) for e in on_board] + [staged.manifest.election_id, bytes(32)],
        keys=[c.verify_key.encode() for c in staged.credentials]
        + [SigningKey.generate().verify_key.encode(), bytes(32), b"\xff" * 32],
        strings=[
            *CODES,
            "never-on-the-roll",
            *notes,
            *(line for n in notes for line in n.splitlines()[-2:]),
            other_line.line().rstrip("\n"),
        ],
        numbers=sorted({0, 1, *sizes, board.size - 1, board.size + 1, 2**32 - 1, 2**63, 2**64 - 1}),
    )


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    data_dir: Path = tmp_path_factory.mktemp("fuzz-rpcs") / "election"
    staged = stage_election(data_dir, "Fuzz", [REFERENCE_CONTESTS[0]], voters=4, until="keys")
    witness = Witness(
        WITNESS, dict(staged.witnesses)[WITNESS], staged.origin, staged.log_key.verify_key
    )
    servers = serve_election_tls(data_dir, staged.log_key, witness=witness, proof_workers=0)
    ca = setup_data_dir(data_dir)
    public = _secure(servers.public.address, servers.ca_pem)
    control = {
        role: _secure(servers.control.address, servers.ca_pem, ca.issue_client(role))
        for roles in ROLES.values()
        for role in roles
    }
    logs = Captured()
    evote_logger = logging.getLogger("evote")
    level = evote_logger.level
    evote_logger.setLevel(logging.DEBUG)
    evote_logger.addHandler(logs)
    served = Served(staged, servers, witness, public, control, logs)
    try:
        _register_and_open(staged, served)
        served.corpus = _corpus(staged, servers)
        yield served
    finally:
        evote_logger.removeHandler(logs)
        evote_logger.setLevel(level)
        for channel in (public, *control.values()):
            channel.close()
        servers.stop(None)
        total = sum(sum(c.values()) for c in served.counts.values())
        refused = sum(n for c in served.counts.values() for k, n in c.items() if k != "OK")
        print(
            f"\nfuzz rpcs: {total} hostile calls over {len(served.counts)} methods, "
            f"{refused} refused with a bad-input status, {total - refused} answered OK "
            "(reads, idempotent replays); 0 crashes, 0 state changes"
        )
        for path, counts in sorted(served.counts.items()):
            print(f"  {path}: {dict(counts.most_common())}")


# ---------------------------------------------------------------------------------------------
# Hostile requests from descriptors

MIB = 1024 * 1024
#: Past the public port's 256 KiB limit (not the control port's 4 MiB), and past both.
HUGE = (300 * 1024, 4 * MIB + 1)
MANY = 5000


def _integers(bits: int, signed: bool, corpus: Corpus) -> st.SearchStrategy[int]:
    low, high = (-(2 ** (bits - 1)), 2 ** (bits - 1) - 1) if signed else (0, 2**bits - 1)
    edges = [n for n in (*corpus.numbers, low, high, -1, 0, 1) if low <= n <= high]
    return st.one_of(st.sampled_from(edges), st.integers(low, high))


_INTEGER_TYPES: dict[int, tuple[int, bool]] = {
    FieldDescriptor.TYPE_UINT64: (64, False),
    FieldDescriptor.TYPE_FIXED64: (64, False),
    FieldDescriptor.TYPE_UINT32: (32, False),
    FieldDescriptor.TYPE_FIXED32: (32, False),
    FieldDescriptor.TYPE_INT64: (64, True),
    FieldDescriptor.TYPE_SINT64: (64, True),
    FieldDescriptor.TYPE_SFIXED64: (64, True),
    FieldDescriptor.TYPE_INT32: (32, True),
    FieldDescriptor.TYPE_SINT32: (32, True),
    FieldDescriptor.TYPE_SFIXED32: (32, True),
    # Unknown enum values are legal on the wire in proto3: the server must refuse them.
    FieldDescriptor.TYPE_ENUM: (32, True),
}


def _scalar(
    f: FieldDescriptor, corpus: Corpus, *, huge: bool, depth: int
) -> st.SearchStrategy[Any]:
    """Hostile values for one (non-repeated) field; ``huge`` allows values past the limits."""
    if f.type == FieldDescriptor.TYPE_BYTES:
        valid = [*corpus.entries, *corpus.hashes, *corpus.keys]
        fitting = corpus.blobs_for(f.name)
        blobs: list[st.SearchStrategy[bytes]] = [
            pick(fitting),
            mutations(fitting),
            pick(valid),
            mutations(valid),
        ]
        if huge:
            blobs.append(st.sampled_from(HUGE).map(bytes))
        return st.one_of(blobs)
    if f.type == FieldDescriptor.TYPE_STRING:
        fitting_texts = corpus.texts_for(f.name)
        texts = [s.encode() for s in fitting_texts]
        broken = mutations(texts).map(lambda b: b.decode("utf-8", "replace"))
        texts_: list[st.SearchStrategy[str]] = [
            pick(fitting_texts),
            broken,
            pick(corpus.strings),
            st.text(max_size=64),
        ]
        if huge:
            texts_.append(st.sampled_from(HUGE).map(lambda n: "x" * n))
        return st.one_of(texts_)
    if f.type in _INTEGER_TYPES:
        bits, signed = _INTEGER_TYPES[f.type]
        return _integers(bits, signed, corpus)
    if f.type == FieldDescriptor.TYPE_BOOL:
        return st.booleans()
    if f.type in (FieldDescriptor.TYPE_DOUBLE, FieldDescriptor.TYPE_FLOAT):
        return st.floats(width=64 if f.type == FieldDescriptor.TYPE_DOUBLE else 32)
    if f.type == FieldDescriptor.TYPE_MESSAGE:
        assert f.message_type is not None
        if depth < 3:
            return messages(f.message_type, corpus, depth + 1)
        return st.just(message_factory.GetMessageClass(f.message_type)())
    raise AssertionError(f"no hostile values for field {f.full_name} of type {f.type}")


def _field(f: FieldDescriptor, corpus: Corpus, depth: int) -> st.SearchStrategy[Any]:
    if not f.is_repeated:
        return _scalar(f, corpus, huge=True, depth=depth)
    element = _scalar(f, corpus, huge=False, depth=depth)
    return st.one_of(
        st.lists(element, max_size=8),
        element.map(lambda value: [value] * MANY),
        st.lists(_scalar(f, corpus, huge=True, depth=depth), min_size=1, max_size=2),
    )


def messages(descriptor: Descriptor, corpus: Corpus, depth: int = 0) -> st.SearchStrategy[Message]:
    """Messages of ``descriptor``'s type, each field absent or hostile."""
    cls = message_factory.GetMessageClass(descriptor)
    optional = {f.name: _field(f, corpus, depth) for f in descriptor.fields}
    return st.fixed_dictionaries({}, optional=optional).map(lambda kwargs: cls(**kwargs))


#: Bytes no protobuf parser accepts: a reserved wire type, a truncated varint, a length that
#: runs past the end, field number 0, a group that never ends, invalid UTF-8 in field 1
#: (a string in some requests), an over-long varint.
NOT_PROTOBUF = (
    b"\xff",
    b"\x07",
    b"\x08\x80",
    b"\x0a\xff\xff\xff\xff\x0f",
    b"\x0a\x05ab",
    b"\x00\x01",
    b"\x0b",
    b"\x0a\x02\xc3\x28",
    b"\x08" + b"\xff" * 11,
)


def raw_requests(descriptor: Descriptor, corpus: Corpus) -> st.SearchStrategy[bytes]:
    """Byte strings sent as the request: not protobuf, or a hostile message's bytes broken."""
    serialized = messages(descriptor, corpus).map(lambda m: m.SerializeToString())
    small = serialized.filter(lambda b: len(b) < 64 * 1024)
    return st.one_of(
        st.sampled_from(NOT_PROTOBUF),
        st.binary(max_size=512),
        small.flatmap(flipped),
        small.flatmap(truncated),
        small.flatmap(spliced),
    )


# ---------------------------------------------------------------------------------------------
# Judging one call


def _secrets(request: Message) -> set[str]:
    """What must never appear in a log: every long string and blob of the request (codes,
    credentials, tracking codes, entries), their hex, and an entry's tracking code and
    signers."""
    found: set[str] = set()

    def blob(data: bytes) -> None:
        if len(data) >= 8:
            found.add(data.hex())
            found.add(repr(data)[2:40])
        try:
            entry = Entry.decode(data)
        except EvoteError:
            return
        found.add(leaf_hash(data).hex())
        found.update(signer.encode().hex() for signer in entry.signers)

    def walk(message: Message) -> None:
        for f, value in message.ListFields():
            values = value if f.is_repeated else [value]
            for item in values[:10]:
                if isinstance(item, bytes):
                    blob(item)
                elif isinstance(item, str) and len(item.strip()) >= 10:
                    found.add(item[:200])
                elif isinstance(item, Message):
                    walk(item)

    walk(request)
    return found


def _parsed(descriptor: Descriptor, data: bytes) -> Message:
    cls = message_factory.GetMessageClass(descriptor)
    try:
        return cls.FromString(data)
    except ProtobufDecodeError:
        return cls()


def _account_witness(served: Served, request: Message, response: bytes) -> None:
    """An accepted AddCheckpoint moved the witness to the checkpoint it was given, and the
    cosignature it answered verifies over that checkpoint under the witness's key."""
    from evote.wire.v1 import witness_pb2

    assert isinstance(request, witness_pb2.AddCheckpointRequest)
    line = witness_pb2.Cosignature.FromString(response).line
    checkpoint, note = open_checkpoint(
        request.checkpoint, served.staged.origin, served.staged.log_key.verify_key
    )
    state = served.witness.state
    assert (state.size, state.root) == (checkpoint.size, checkpoint.root)
    cosigned = parse_note(f"{note.body}\n{line}\n")  # the body with this cosignature alone
    assert cosignature_time(cosigned, WITNESS, served.witness.verify_key) == state.timestamp


def judge(
    served: Served,
    path: str,
    role: Role | None,
    request: Message | None,
    data: bytes,
) -> str:
    """Send ``data`` to ``path`` as ``role`` and check the answer, the state, health and
    logs; return the answer's status name."""
    method = METHODS[path]
    plan = PLAN[path]
    before = served.state()
    served.logs.records.clear()
    stub: grpc.UnaryUnaryMultiCallable[bytes, bytes] = served.channel(role).unary_unary(
        path, request_serializer=None, response_deserializer=None
    )
    response: bytes | None = None
    try:
        response = stub(data, timeout=TIMEOUT)
        code, details = grpc.StatusCode.OK, ""
    except grpc.RpcError as error:
        code, details = error.code(), error.details() or ""
    shown = f"{path} as {role or 'public'} with {len(data)} bytes ({data[:60]!r}...)"
    if code is not grpc.StatusCode.OK:
        assert code in BAD_INPUT | plan.also, f"{shown}: {code.name} {details!r}"
        problem = unreadable(details)
        assert problem is None, f"{shown}: the message {details[:300]!r} is unclear: {problem}"
    if served.meddle is not None:
        served.meddle()
    after = served.state()
    if code is grpc.StatusCode.OK and plan.changes and after != before:
        assert response is not None
        _account_witness(served, request or _parsed(_input(method), data), response)
        assert (after.board_size, after.checkpoints, after.registry) == (
            before.board_size,
            before.checkpoints,
            before.registry,
        ), f"{shown}: changed more than the witness"
    else:
        assert after == before, f"{shown}: answered {code.name} and changed the state"
    assert not served.check_health or served.serving(), f"{shown}: a port stopped serving"
    secrets = _secrets(request or _parsed(_input(method), data))
    for record in served.logs.records:
        text = served.logs.text(record)
        leaked = [s for s in secrets if s in text]
        assert not leaked, f"{shown}: the log line {text[:200]!r} holds request data"
    served.counts.setdefault(path, Counter())[code.name] += 1
    return code.name


def _roles_for(path: str) -> tuple[Role | None, ...]:
    """The callers of ``path``: anyone on the public port; on the control port each role
    the method table allows (the first is the method's usual caller) and then one it does
    not (an admin, refused PERMISSION_DENIED by the interceptor, which logs the refusal)."""
    rule = METHOD_RULES[path]
    if rule.is_public:
        return (None,)
    allowed = tuple(role for kind in sorted(rule.roles) for role in ROLES[kind])
    return allowed if RoleKind.ADMIN in rule.roles else (*allowed, Role.admin())


# ---------------------------------------------------------------------------------------------
# The tests


def test_every_method_is_planned_and_served() -> None:
    """A new RPC fails here until it is in :data:`PLAN` (and so fuzzed) and in the server's
    method table."""
    assert sorted(METHODS) == sorted(PLAN), (
        "fuzz every RPC: add to PLAN "
        f"{sorted(set(METHODS) - set(PLAN))}, remove {sorted(set(PLAN) - set(METHODS))}"
    )
    assert set(METHODS) <= set(METHOD_RULES)
    assert len(METHODS) >= 14


MESSAGES = size(10, 250)
RAW = size(6, 120)
_FUZZ = settings(
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    derandomize=False,
)


@pytest.mark.parametrize("path", sorted(PLAN))
@settings(_FUZZ, max_examples=MESSAGES)
@given(data=st.data())
def test_hostile_messages(served: Served, path: str, data: st.DataObject) -> None:
    """Hostile messages of the method's request type: refused cleanly, nothing changed."""
    method = METHODS[path]
    role = data.draw(st.sampled_from(_roles_for(path)), label="role")
    request = data.draw(messages(_input(method), served.corpus), label="request")
    judge(served, path, role, request, request.SerializeToString())


@pytest.mark.parametrize("path", sorted(PLAN))
@settings(_FUZZ, max_examples=RAW)
@given(data=st.data())
def test_raw_bytes(served: Served, path: str, data: st.DataObject) -> None:
    """Bytes that are not a request of the method's type: INVALID_ARGUMENT, never INTERNAL."""
    method = METHODS[path]
    role = data.draw(st.sampled_from(_roles_for(path)), label="role")
    raw = data.draw(raw_requests(_input(method), served.corpus), label="raw")
    judge(served, path, role, None, raw)


@pytest.mark.parametrize("raw", NOT_PROTOBUF)
def test_bytes_that_are_not_protobuf_are_invalid_arguments(served: Served, raw: bytes) -> None:
    """Each request type that cannot parse ``raw`` gets INVALID_ARGUMENT naming the problem."""
    refused = 0
    for path, method in sorted(METHODS.items()):
        try:
            message_factory.GetMessageClass(_input(method)).FromString(raw)
        except ProtobufDecodeError:
            code = judge(served, path, _roles_for(path)[0], None, raw)
            assert code == "INVALID_ARGUMENT", path
            refused += 1
    assert refused >= 1


def test_replays_and_tampered_ballots(served: Served) -> None:
    """The named attacks on the ballot box, each answered as designed: the replayed ballot
    gets its original receipt; one flipped bit, another election, an unlisted credential and
    a skipped sequence number are INVALID_ARGUMENT."""
    staged = served.staged
    board = served.servers.board
    cast = next(e for e in board.entries(0, board.size) if Entry.decode(e).kind == kinds.BALLOT)
    ballot = "/evote.wire.v1.BallotBox/Cast"
    from evote.wire.v1 import ballot_box_pb2

    def cast_answer(entry: bytes) -> str:
        request = ballot_box_pb2.CastRequest(entry=entry)
        return judge(served, ballot, None, request, request.SerializeToString())

    assert cast_answer(cast) == "OK"
    for position in (0, len(cast) // 2, len(cast) - 1):
        bad = cast[:position] + bytes([cast[position] ^ 1]) + cast[position + 1 :]
        assert cast_answer(bad) == "INVALID_ARGUMENT", position
    other = Entry.create(
        kinds.BALLOT,
        hashlib.sha256(b"elsewhere").digest(),
        Entry.decode(cast).body,
        [staged.credentials[0]],
    )
    assert cast_answer(other.encoded) == "INVALID_ARGUMENT"
    assert cast_answer(staged.ballot_by(SigningKey.generate())) == "INVALID_ARGUMENT"
    assert cast_answer(staged.ballot(2, sequence=5)) == "INVALID_ARGUMENT"


def test_every_entry_replayed_by_every_role(served: Served) -> None:
    """Every entry of the board and every hostile entry of the corpus, posted by each role
    that may post and cast and audited on the public port: replays get their receipts
    (nothing appended), the rest the precise refusal, and nothing changes."""
    from evote.wire.v1 import ballot_box_pb2, control_pb2

    answers: Counter[str] = Counter()
    post = "/evote.wire.v1.Control/Post"
    for entry in served.corpus.entries:
        for role in _roles_for(post):
            request: Message = control_pb2.PostRequest(entry=entry)
            answers[judge(served, post, role, request, request.SerializeToString())] += 1
        for path, request in (
            ("/evote.wire.v1.BallotBox/Cast", ballot_box_pb2.CastRequest(entry=entry)),
            ("/evote.wire.v1.BallotBox/Audit", ballot_box_pb2.AuditRequest(entry=entry)),
        ):
            answers[judge(served, path, None, request, request.SerializeToString())] += 1
    # Replays are receipts; out-of-place entries preconditions; other roles' kinds denied.
    for expected in ("OK", "FAILED_PRECONDITION", "PERMISSION_DENIED", "INVALID_ARGUMENT"):
        assert answers[expected] > 0, (expected, answers)
    print(f"\nreplayed and hostile entries: {sum(answers.values())} calls, {dict(answers)}")


def test_registration_stays_closed(served: Served) -> None:
    """After the close, no enrollment and no roll gets in: the same enrollment again, a used
    code with another credential and an unknown code are FAILED_PRECONDITION, nothing
    changes; closing again re-derives the same credential list (OK, nothing appended)."""
    from evote.wire.v1 import control_pb2

    staged = served.staged
    enroll = "/evote.wire.v1.Registry/Enroll"
    fresh = SigningKey.generate().verify_key.encode()
    for code, credential in (
        (CODES[0], staged.credentials[0].verify_key.encode()),
        (CODES[1], fresh),
        ("never-on-the-roll", fresh),
    ):
        request = control_pb2.EnrollRequest(enrollment_code=code, credential=credential)
        answer = judge(served, enroll, None, request, request.SerializeToString())
        assert answer == "FAILED_PRECONDITION"
    roll = control_pb2.ImportRollRequest(enrollment_codes=["late-code-1", "late-code-2"])
    authority = Role.credential_authority()
    path = "/evote.wire.v1.Control/ImportRoll"
    assert judge(served, path, authority, roll, roll.SerializeToString()) == "FAILED_PRECONDITION"
    close = control_pb2.Empty()
    path = "/evote.wire.v1.Control/CloseRegistration"
    assert judge(served, path, authority, close, close.SerializeToString()) == "OK"


def test_the_judge_catches_a_broken_server(served: Served) -> None:
    """Negative controls: an RPC answered INTERNAL, a message that dumps bytes, a logged
    credential and a rejected call that changed state each fail :func:`judge`."""
    from evote.wire.v1 import board_pb2, control_pb2

    class Broken(grpc.GenericRpcHandler):
        def service(self, details: grpc.HandlerCallDetails) -> grpc.RpcMethodHandler[Any, Any]:
            def behaviour(request: Message, context: grpc.ServicerContext) -> bytes:
                if isinstance(request, control_pb2.EnrollRequest):
                    logging.getLogger("evote.services.broken").warning(
                        "enrolling %s", request.enrollment_code
                    )
                    context.abort(grpc.StatusCode.PERMISSION_DENIED, "unknown code")
                if isinstance(request, board_pb2.GetReceiptRequest):
                    context.abort(grpc.StatusCode.NOT_FOUND, f"no entry {request.tracking_code!r}")
                raise RuntimeError("a bug")

            cls = message_factory.GetMessageClass(_input(METHODS[details.method]))
            return grpc.unary_unary_rpc_method_handler(
                behaviour, request_deserializer=cls.FromString, response_serializer=bytes
            )

    def broken_server(interceptors: Sequence[grpc.ServerInterceptor]) -> tuple[grpc.Server, int]:
        from concurrent import futures

        server = grpc.server(futures.ThreadPoolExecutor(2), interceptors=list(interceptors))
        server.add_generic_rpc_handlers([Broken()])
        port = server.add_insecure_port("127.0.0.1:0")
        server.start()
        return server, port

    server, port = broken_server(())
    saved = served.public
    try:
        served.public = grpc.insecure_channel(f"127.0.0.1:{port}")
        served.check_health = False
        status = "/evote.wire.v1.Registry/Status"
        enroll = "/evote.wire.v1.Registry/Enroll"
        receipt = "/evote.wire.v1.Board/GetReceipt"
        with pytest.raises(AssertionError, match=r"INTERNAL|UNKNOWN"):
            judge(served, status, None, control_pb2.Empty(), b"")
        # Without the authorization interceptor, gRPC answers undecodable bytes INTERNAL.
        with pytest.raises(AssertionError, match=r"INTERNAL"):
            judge(served, status, None, None, b"\xff")
        lookup = board_pb2.GetReceiptRequest(tracking_code=bytes(range(200)))
        with pytest.raises(AssertionError, match=r"bytes blob|hex"):
            judge(served, receipt, None, lookup, lookup.SerializeToString())
        enrolling = control_pb2.EnrollRequest(enrollment_code="secret-code-123456")
        with pytest.raises(AssertionError, match=r"log line"):
            judge(served, enroll, None, enrolling, enrolling.SerializeToString())
        # The same server behind evote's interceptor: undecodable bytes are INVALID_ARGUMENT.
        server.stop(None)
        ca_pem = served.servers.ca_pem
        server, port = broken_server([AuthorizationInterceptor(ca_pem, (Port.PUBLIC,))])
        served.public.close()
        served.public = grpc.insecure_channel(f"127.0.0.1:{port}")
        assert judge(served, status, None, None, b"\xff") == "INVALID_ARGUMENT"
    finally:
        served.public.close()
        served.public = saved
        served.check_health = True
        server.stop(None)
    # A rejected call that changed state (here: the witness, moved meanwhile) is caught.
    real = served.witness.state

    def move_the_witness() -> None:
        served.witness.state = WitnessState(real.size + 1, real.root, real.timestamp)

    served.meddle = move_the_witness
    past = board_pb2.GetCheckpointRequest(size=2**64 - 1)
    try:
        with pytest.raises(AssertionError, match=r"OUT_OF_RANGE and changed the state"):
            judge(
                served, "/evote.wire.v1.Board/GetCheckpoint", None, past, past.SerializeToString()
            )
    finally:
        served.meddle = None
        served.witness.state = real
