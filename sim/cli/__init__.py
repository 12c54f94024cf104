"""The `trnsim` command line: parse, call the library, print. Exit 0 ok, 1 run failed, 2 bad input.

One module per command (or family of commands); each imports the library and the shared helpers
(`sim.cli.common`, and `sim.cli.batch` for the commands of many runs), never another command
module. Only click and the light helpers load before the arguments are parsed (`trnsim --version`
stays fast): a command's module is imported when the command is asked for (or listed), and every
command imports what it needs when it runs. tests/test_cli_conventions.py checks that numpy,
rich, pydantic and simpy stay out of `--version`; tests/test_layers.py checks the imports.
"""

from __future__ import annotations

import click

from sim import __version__
from sim.cli.common import FullHelpGroup


class LazyGroup(FullHelpGroup):
    """A group whose commands are imported from their modules only when used (or listed)."""

    lazy = {
        "run": "sim.cli.run:run",
        "validate": "sim.cli.run:validate",
        "topology": "sim.cli.info:topology",
        "catalogue": "sim.cli.info:catalogue",
        "schema": "sim.cli.info:schema",
        "trace": "sim.cli.trace:trace",
        "sweep": "sim.cli.sweep:sweep",
        "plan": "sim.cli.plan:plan",
        "compare": "sim.cli.compare:compare",
        "show": "sim.cli.runs:show",
        "ls": "sim.cli.runs:ls",
    }

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *self.lazy})

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name in self.lazy and name not in self.commands:
            import importlib

            module, attribute = self.lazy[name].split(":")
            self.add_command(getattr(importlib.import_module(module), attribute), name)
        return super().get_command(ctx, name)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 120})
@click.version_option(__version__, prog_name="trnsim")
def main() -> None:
    """trnsim: how busy would this Trainium cluster be, how long would jobs wait, what would it cost?"""
