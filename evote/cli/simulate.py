"""``evote simulate``: research scenarios measured on the real election code.

Each scenario of the ``simulations`` package is a subcommand with the common options (seed,
trials, output folder, workers, confidence) and its own. Only the defaults are imported with
the command line; the runner (numpy, matplotlib, every scenario) is imported when
``evote simulate`` runs, so other commands stay quick.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from evote.cli import main
from evote.errors import InvalidInput
from simulations import defaults


def _common_options() -> list[click.Parameter]:
    return [
        click.Option(
            ["--seed"],
            type=click.IntRange(min=0),
            default=defaults.SEED,
            show_default=True,
            help="Seed of the simulation's own draws (who checks, whom the attacker picks).",
        ),
        click.Option(
            ["--trials"],
            type=click.IntRange(min=1),
            default=defaults.TRIALS,
            show_default=True,
            help="Trials per measured point.",
        ),
        click.Option(
            ["--out"],
            type=click.Path(file_okay=False, path_type=Path),
            default=defaults.OUT,
            show_default=True,
            help="Folder for SCENARIO.csv and SCENARIO.png (created if missing).",
        ),
        click.Option(
            ["--workers"],
            type=click.IntRange(min=1),
            default=defaults.workers(),
            show_default=True,
            help="Processes that encrypt and verify ballots.",
        ),
        click.Option(
            ["--confidence"],
            type=click.FloatRange(min=0.0, max=1.0, min_open=True, max_open=True),
            default=defaults.CONFIDENCE,
            show_default=True,
            help="Joint confidence of a scenario's intervals (Bonferroni over its points).",
        ),
    ]


_COMMON = ("seed", "trials", "out", "workers", "confidence")
_METAVARS = {
    "int": "N",
    "float": "X",
    "str": "NAME",
    "bool": "",
    "ints": "N,…",
    "floats": "X,…",
    "strs": "NAME,…",
}


def _scenario_command(name: str) -> click.Command:
    from simulations import runner

    scenario = runner.get(name)
    specs = scenario.specs()
    clash = sorted({spec.name for spec in specs} & set(_COMMON))
    if clash:
        raise InvalidInput(f"scenario {name} redefines the common options {', '.join(clash)}")

    def parser(spec: runner.ParamSpec) -> Callable[[click.Context, click.Parameter, Any], Any]:
        def parse(context: click.Context, parameter: click.Parameter, value: Any) -> Any:
            if spec.kind == "bool" or value is None:
                return value
            try:
                return spec.parse(str(value))
            except InvalidInput as error:
                raise click.BadParameter(str(error), context, parameter) from None

        return parse

    parameters = _common_options()
    for spec in specs:
        if spec.kind == "bool":
            flag = spec.name.replace("_", "-")
            parameters.append(
                click.Option(
                    [f"--{flag}/--no-{flag}", spec.name],
                    default=bool(spec.default),
                    show_default=True,
                    help=spec.help,
                )
            )
        else:
            several = spec.kind in ("ints", "floats", "strs")
            choices = (
                f" {'One or more' if several else 'One'} of: {', '.join(spec.choices)}."
                if spec.choices
                else ""
            )
            parameters.append(
                click.Option(
                    [spec.option, spec.name],
                    type=str,
                    metavar=_METAVARS[spec.kind],
                    default=spec.shown_default(),
                    show_default=True,
                    callback=parser(spec),
                    help=spec.help + choices,
                )
            )

    def command(**values: Any) -> None:
        settings = runner.Settings(**{key: values.pop(key) for key in _COMMON})
        options = scenario.options(values)
        with runner.RichTracker() as tracker:
            report = runner.run(scenario, settings, options, tracker)
        runner.print_summary(report)

    return click.Command(
        name,
        callback=command,
        params=parameters,
        help=f"{scenario.title}.\n\n{scenario.question}",
        short_help=scenario.title,
    )


class _Scenarios(click.Group):
    """The scenarios as subcommands, found when ``evote simulate`` is used (not before)."""

    def list_commands(self, context: click.Context) -> list[str]:
        from simulations import runner

        return list(runner.scenarios())

    def get_command(self, context: click.Context, name: str) -> click.Command | None:
        from simulations import runner

        if name not in runner.scenarios():
            return None
        return _scenario_command(name)


@main.group("simulate", cls=_Scenarios, invoke_without_command=True)
@click.option("--list", "show_list", is_flag=True, help="List the scenarios and their questions.")
@click.pass_context
def simulate(context: click.Context, show_list: bool) -> None:
    """Run a research scenario on the real election code (simulations/README.md).

    `evote simulate SCENARIO [options]` runs one: it writes OUT/SCENARIO.csv and
    OUT/SCENARIO.png and prints the measured figures next to the analytical ones, with
    confidence intervals. `evote simulate SCENARIO --help` shows its options.
    """
    if context.invoked_subcommand is not None:
        return
    from simulations import runner

    table = Table(title="Scenarios (evote simulate SCENARIO --help for options)")
    table.add_column("scenario")
    table.add_column("question")
    for name, scenario in runner.scenarios().items():
        table.add_row(name, escape(scenario.question))
    Console().print(table)
    if not show_list:
        click.echo("run one with: evote simulate SCENARIO [options]")
