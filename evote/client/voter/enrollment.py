"""Enrolling: the voter's credential is made on this device and sent, public part only, with
the one-time code from the voter's letter.

Retrying is safe. ``credential.key`` is written before the code is sent and ``voter.json``
only after the registry answered, so an enrollment whose answer was lost is repeated with the
same credential, and the registry answers a repeated code and credential with OK.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from pathlib import Path

from evote.client.channels import TIMEOUT, BoardClient, RegistrationStatus, RegistryClient
from evote.client.voter.calls import calling, connect
from evote.client.voter.directory import VoterDir, VoterState
from evote.client.voter.errors import EnrollmentRefused, VoterError
from evote.client.voter.setup import fetch_setup
from evote.crypto.keystore import MODERATE, KdfLimits
from evote.election.manifest import Manifest
from evote.record.registry import MAX_CODE_CHARS


@dataclass(frozen=True, slots=True)
class Enrolled:
    """What an enrollment left: the voter state written, the checked manifest, and the
    registry's count of enrolled voters."""

    state: VoterState
    manifest: Manifest
    registration: RegistrationStatus


def check_code(code: str) -> None:
    """Refuse, before anything is sent, a code the registry could never know."""
    if not code.strip() or len(code) > MAX_CODE_CHARS:
        raise EnrollmentRefused(
            f"an enrollment code has 1 to {MAX_CODE_CHARS} characters: copy it from your letter"
        )


def check_not_enrolled(voter: VoterDir) -> None:
    """Refuse a second enrollment in one voter directory, before anything is asked or sent."""
    if voter.enrolled():
        state = voter.load_state()
        raise VoterError(
            f"{voter.path} already holds an enrollment, in election {state.election_id.hex()}: "
            "nothing was changed (a voter directory serves one enrollment)"
        )


def enroll(
    directory: Path,
    *,
    server: str,
    ca_pem: bytes,
    election_id: bytes,
    code: str,
    passphrase: bytes,
    limits: KdfLimits = MODERATE,
    timeout: float = TIMEOUT,
) -> Enrolled:
    """Enroll a credential made on this device with the one-time ``code``.

    Checks the election's setup on the board first (nothing is sent for a wrong election id),
    writes the sealed credential, sends the code and the public credential, and writes the
    voter state only once the registry answered OK. A credential left by an earlier attempt
    whose answer was lost is used again (``passphrase`` must open it), so that retry gets OK.
    If the registry refuses the code and this call made the credential, it is removed.
    """
    voter = VoterDir(directory)
    check_not_enrolled(voter)
    check_code(code)
    with connect(server, ca_pem) as channel:
        with calling(server, "read"):
            setup = fetch_setup(BoardClient(channel, timeout), election_id)
        created = not voter.has_credential()
        made_directory = not directory.exists()
        if created:
            credential = voter.new_credential(election_id, passphrase, limits)
        else:
            credential = voter.credential(election_id, passphrase)
        try:
            with calling(server, "enroll"):
                status = RegistryClient(channel, timeout).enroll(
                    code, credential.verify_key.encode()
                )
        except EnrollmentRefused:
            # Refused for sure: the new credential is enrolled nowhere. Any other failure may
            # have lost an answer, so the credential stays for the retry.
            if created:
                voter.key_path.unlink(missing_ok=True)
                if made_directory:
                    with contextlib.suppress(OSError):
                        directory.rmdir()
            raise
    voter.save_setup(setup.manifest_entry, ca_pem)
    state = VoterState(election_id, server, credential.verify_key)
    voter.save_state(state)
    return Enrolled(state, setup.manifest, status)
