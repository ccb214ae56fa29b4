"""The ``mascot`` command: assembles the sub-commands every package contributes.

Each working package has a ``cli.py`` exposing ``register(app)``, which adds its sub-command
groups (``mascot models ...``) or top-level commands (``mascot simulate``). This module only
wires them together and turns :class:`~mascot.errors.MascotError` into a one-line message and
exit status 2 (user errors never show a traceback).
"""

from __future__ import annotations

import importlib
import importlib.util
import sys

import typer
from rich.text import Text

from mascot import __version__
from mascot.errors import MascotError
from mascot.ui import err_console

PACKAGES = ("workloads", "hwmodel", "surrogate", "scheduler", "dse")

app = typer.Typer(
    name="mascot",
    help="Multi-Accelerator Scheduling and CO-design Toolkit: which layer of which DNN runs on which "
    "accelerator, when, and on what hardware.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _version_callback(value: bool) -> None:
    if value:
        print(f"mascot {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(False, "--version", callback=_version_callback, is_eager=True, help="Print the version."),
) -> None:
    """mascot command line."""


def _register_packages() -> None:
    for package in PACKAGES:
        module_name = f"{package}.cli"
        if importlib.util.find_spec(package) is None or importlib.util.find_spec(module_name) is None:
            continue
        importlib.import_module(module_name).register(app)


_register_packages()


def main(argv: list[str] | None = None) -> int:
    """Console-script entry point; returns the process exit status."""
    command = typer.main.get_command(app)
    try:
        result = command.main(args=argv, prog_name="mascot", standalone_mode=False)
    except MascotError as exc:
        err_console.print(Text("error: ", style="bold red") + Text(str(exc)), soft_wrap=True)
        return 2
    except typer.Abort:
        err_console.print("aborted")
        return 1
    except typer.Exit as exc:
        return exc.exit_code
    except typer.TyperException as exc:  # usage errors (Typer vendors click's exception classes)
        exc.show()
        return getattr(exc, "exit_code", 2)
    return result if isinstance(result, int) else 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
