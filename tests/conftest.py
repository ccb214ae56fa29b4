"""Shared test set-up: headless plotting and a private cache directory per test session."""

from __future__ import annotations

import os

import matplotlib

matplotlib.use("Agg")


def pytest_configure(config):  # noqa: D103 - pytest hook
    if "MASCOT_CACHE_DIR" not in os.environ:
        import tempfile

        os.environ["MASCOT_CACHE_DIR"] = tempfile.mkdtemp(prefix="mascot-test-cache-")
