"""Connecting to a user's Dask cluster (``--dask ADDRESS``) with one clear error when it fails.

Layer tables, surrogate data sets and DSE studies all fan out to the same kind of cluster.
"""

from __future__ import annotations

from typing import Any

from mascot.errors import MascotError

CONNECT_TIMEOUT_S = 15


def connect(address: str, timeout_s: int = CONNECT_TIMEOUT_S) -> Any:
    """A ``distributed.Client`` for ``address`` (not set as the default client)."""
    try:
        from distributed import Client
    except ImportError:
        raise MascotError("--dask needs the `distributed` package", hint="pip install 'mascot[dask]'") from None
    try:
        return Client(address, timeout=f"{timeout_s}s", set_as_default=False)
    except (OSError, TimeoutError, ValueError) as exc:
        raise MascotError(f"cannot reach the Dask scheduler at {address!r}: {exc}",
                          hint="start one with `dask scheduler` + `dask worker ADDRESS`, or drop --dask") from None
