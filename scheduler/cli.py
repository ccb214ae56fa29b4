"""CLI of the scheduler package: simulate, compare, train, pipeline."""

from __future__ import annotations

import typer

from mascot.cli_assembly import register_modules


def register(app: typer.Typer) -> None:
    register_modules(app, "scheduler", ("cli_simulate", "cli_train", "pipeline.cli"))
