"""The `mxhub` console script: one group, one module per command group under mxhub/commands."""

from __future__ import annotations

import importlib
import logging

import click

# (module, attribute): commands are registered when their module exists, so the CLI grows with them.
COMMANDS = [
    ("mxhub.commands.demo", "demo"),
    ("mxhub.commands.site", "site"),
    ("mxhub.commands.hub", "hub"),
    ("mxhub.commands.index", "index"),
    ("mxhub.commands.reprocess", "reprocess"),
    ("mxhub.commands.lims", "lims"),
    ("mxhub.commands.export", "export"),
]


@click.group(
    help="Federated metadata hub for macromolecular crystallography.\n\n"
    "Every option can also be set with the MXHUB_* environment variable named in its help."
)
@click.version_option(package_name="mxhub")
@click.option(
    "--log-level",
    default="warning",
    envvar="MXHUB_LOG_LEVEL",
    show_default=True,
    type=click.Choice(["debug", "info", "warning", "error"]),
    help="[env MXHUB_LOG_LEVEL]",
)
@click.pass_context
def main(ctx: click.Context, log_level: str) -> None:
    logging.basicConfig(level=log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    from mxhub import tracing

    try:  # traces only when an OTEL_* exporter is configured (docs/operations.md)
        tracing.configure(f"mxhub-{ctx.invoked_subcommand or 'cli'}")
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None


for module_name, attr in COMMANDS:
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name != module_name:
            raise
        continue
    main.add_command(getattr(module, attr))
