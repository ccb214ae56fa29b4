"""The assembled `mascot` command: version, help, and user errors as exit status 2."""

from __future__ import annotations

from mascot import __version__
from mascot.cli import main
from mascot.errors import MascotError


def test_version(capsys):
    assert main(["--version"]) == 0
    assert __version__ in capsys.readouterr().out


def test_help_lists_package_commands(capsys):
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    assert "Usage" in out


def test_unknown_command_is_a_usage_error(capsys):
    assert main(["no-such-command"]) == 2


def test_mascot_error_message_names_path_and_hint():
    err = MascotError("bad field x", path="spec.yaml", hint="set x > 0")
    text = str(err)
    assert text.startswith("spec.yaml: bad field x")
    assert "hint: set x > 0" in text


def test_cli_start_up_imports_no_heavy_library():
    """`mascot --help` must stay fast: torch, xgboost, optuna, numba and pandas load only inside commands."""
    import subprocess
    import sys

    code = "import sys, mascot.cli; print(','.join(m for m in ('torch','xgboost','optuna','numba','pandas') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == ""
