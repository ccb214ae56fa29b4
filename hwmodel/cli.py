"""CLI of the hwmodel package: specs, mapping, Timeloop drop-ins and layer tables."""

from __future__ import annotations

import typer

from mascot.cli_assembly import register_modules


def register(app: typer.Typer) -> None:
    register_modules(app, "hwmodel", ("cli_specs", "cli_timeloop", "cli_timeloop_import", "cli_map", "cli_tables", "cli_compare"))
