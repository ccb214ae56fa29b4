"""CLI of the workloads package: ``mascot models ...`` and ``mascot workload ...``."""

from __future__ import annotations

import typer

from mascot.cli_assembly import register_modules


def register(app: typer.Typer) -> None:
    register_modules(app, "workloads", ("cli_models", "cli_workload"))
