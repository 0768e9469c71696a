"""``evote serve``: run the services of one election until interrupted."""

from __future__ import annotations

import signal
import threading
from pathlib import Path
from types import FrameType

import click

from evote.cli import main
from evote.cli.setup import read_seed
from evote.services.server import PROOF_WORKERS, PUBLIC_SERVICES, serve_election_tls

PUBLIC_DEFAULT = "127.0.0.1:50051"
CONTROL_DEFAULT = "127.0.0.1:50052"


@main.command("serve")
@click.option(
    "--data-dir",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    required=True,
    help="The election's data dir: board.sqlite3 with the manifest as entry 0.",
)
@click.option(
    "--log-key",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    required=True,
    help="File with the log's signing-key seed (hex): the key the manifest names.",
)
@click.option("--public", "public_address", default=PUBLIC_DEFAULT, show_default=True)
@click.option("--control", "control_address", default=CONTROL_DEFAULT, show_default=True)
@click.option(
    "--service",
    "services",
    type=click.Choice(PUBLIC_SERVICES),
    multiple=True,
    help="What the public port offers (repeat; default: all). E.g. only `board` after voting.",
)
@click.option(
    "--proof-workers",
    type=click.IntRange(min=0),
    default=PROOF_WORKERS,
    show_default=True,
    help="Processes that check ballots' proofs (0: the public port's handler threads do).",
)
def serve(
    data_dir: Path,
    log_key: Path,
    public_address: str,
    control_address: str,
    proof_workers: int,
    services: tuple[str, ...],
) -> None:
    """Serve the election whose board is in DATA_DIR until interrupted (Ctrl-C or SIGTERM).

    The public port (server-auth TLS) has the board, the ballot box and the registry; the
    control port (mutual TLS, role certificates) has Control. The election CA and the server
    certificate are made in DATA_DIR by `evote setup` (clients trust DATA_DIR/ca.pem). The
    server holds no party's key: the credential authority signs the credential list on its own
    machine (`evote registry close --key`).
    """
    stop = threading.Event()

    def interrupted(signum: int, frame: FrameType | None) -> None:
        stop.set()

    servers = serve_election_tls(
        data_dir,
        read_seed(log_key),
        public_address=public_address,
        control_address=control_address,
        proof_workers=proof_workers,
        public_services=services or PUBLIC_SERVICES,
    )
    previous = {
        number: signal.signal(number, interrupted) for number in (signal.SIGINT, signal.SIGTERM)
    }
    try:
        for name, address, running in (
            ("public ", public_address, servers.public),
            ("control", control_address, servers.control),
        ):
            host = address.rsplit(":", 1)[0]
            click.echo(f"{name} {host}:{running.port}", err=True)
        click.echo(f"CA      {data_dir / 'ca.pem'}", err=True)
        stop.wait()
    finally:
        click.echo("stopping ...", err=True)
        servers.stop(5.0)
        for number, handler in previous.items():
            signal.signal(number, handler)
