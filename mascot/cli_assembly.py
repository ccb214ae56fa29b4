"""Helper for packages whose commands live in several ``cli_*.py`` modules."""

from __future__ import annotations

import importlib
import importlib.util

import typer


def register_modules(app: typer.Typer, package: str, modules: tuple[str, ...]) -> None:
    """Call ``register(app)`` of each ``package.module`` (one concept per module)."""
    for module in modules:
        name = f"{package}.{module}"
        try:
            found = importlib.util.find_spec(name)
        except ModuleNotFoundError:  # its parent package is not there
            found = None
        if found is None:
            continue
        importlib.import_module(name).register(app)
