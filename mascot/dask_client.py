"""Connecting to a user's Dask cluster (``--dask ADDRESS``) with one clear error when it fails.

Layer tables, surrogate data sets and DSE studies all fan out to the same kind of cluster.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
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


_NOTHING = object()


def map_unordered(address: str, fn: Callable[..., Any], calls: Iterable[tuple[Any, tuple[Any, ...]]], *,
                  shared: Any = _NOTHING, timeout_s: int = CONNECT_TIMEOUT_S) -> Iterator[tuple[Any, Any]]:
    """``(key, fn(*args))`` for every ``(key, args)`` of ``calls``, run on the cluster, yielded as they finish.

    ``shared`` (e.g. a cost backend holding a surrogate model) is scattered to every worker once and
    passed as ``fn``'s first argument, instead of being pickled into every task. Tasks are impure
    (``pure=False``): two equal calls both run. The client is closed however the caller stops.
    """
    client = connect(address, timeout_s)
    from distributed import as_completed

    try:
        with client.as_current():
            head: tuple[Any, ...] = ()
            if shared is not _NOTHING:
                [shared_future] = client.scatter([shared], broadcast=True)
                head = (shared_future,)
            futures = {client.submit(fn, *head, *args, pure=False): key for key, args in calls}
            for future in as_completed(futures):
                yield futures[future], future.result()
    finally:
        client.close()
