"""Printing an election's result: a table of counts per contest part, then the outcomes."""

from __future__ import annotations

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from evote.election.manifest import Manifest
from evote.election.tally import TallyResult


def print_tally_result(console: Console, manifest: Manifest, result: TallyResult) -> None:
    """The counts of every contest part as tables, then each contest's outcome line."""
    for contest in manifest.contests:
        for part in contest.parts():
            _, district = manifest.part(part)
            table = Table(title=escape(f"{contest.title} [{part}]"))
            table.add_column("option")
            table.add_column("votes", justify="right")
            for option, count in zip(contest.options(district), result.counts[part], strict=True):
                table.add_row(escape(option), str(count))
            console.print(table)
    for line in result.outcomes:
        console.print(f"[bold]{escape(line)}[/bold]")
