"""A content-addressed, concurrent-safe disk cache of :class:`~hwmodel.cost.LayerCost` results.

Why: a cost backend needs milliseconds (analytical) to minutes (Timeloop) per (layer shape, SA),
and the same shapes recur across models, builds and design-space trials. Every result is stored
under a key that hashes *everything that can change it* — backend name, version and options, the
SA spec's content hash and the layer's shape key — so a stale entry can never be returned and
no invalidation logic is needed.

The store is one SQLite file (WAL journal, busy timeout): many processes (parallel builds, DSE
trials, Dask workers on one host) can read and write it at once without corrupting it, and a
build killed half-way keeps everything it already committed.

Location: ``$MASCOT_CACHE_DIR``, else ``$XDG_CACHE_HOME/mascot``, else ``~/.cache/mascot``.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from mascot.errors import MascotError

from hwmodel.cost import LayerCost

CACHE_FILE_NAME = "layer_costs.sqlite"
_SCHEMA_VERSION = 1
_SQL_CHUNK = 500  # below SQLite's host-parameter limit


def default_cache_dir() -> Path:
    """``$MASCOT_CACHE_DIR`` > ``$XDG_CACHE_HOME/mascot`` > ``~/.cache/mascot``."""
    explicit = os.environ.get("MASCOT_CACHE_DIR")
    if explicit:
        return Path(explicit).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    if xdg:
        return Path(xdg).expanduser() / "mascot"
    return Path.home() / ".cache" / "mascot"


def cost_key(backend_name: str, backend_version: str, options: Mapping[str, Any], sa_hash: str, shape_key: tuple) -> str:
    """The content hash identifying one (backend configuration, SA, layer shape) result."""
    payload = json.dumps(
        [_SCHEMA_VERSION, backend_name, backend_version, dict(options), sa_hash, list(shape_key)],
        sort_keys=True,
        default=str,
    )
    return hashlib.sha256(payload.encode()).hexdigest()


def cost_to_json(cost: LayerCost) -> str:
    return json.dumps(
        {
            "cycles": int(cost.cycles),
            "energy_pj": float(cost.energy_pj),
            "dram_read_bytes": int(cost.dram_read_bytes),
            "dram_write_bytes": int(cost.dram_write_bytes),
            "utilization": float(cost.utilization),
            "energy_breakdown_pj": {k: float(v) for k, v in cost.energy_breakdown_pj.items()},
            "mapping": cost.mapping,
            "backend": cost.backend,
        },
        sort_keys=True,
    )


def cost_from_json(text: str) -> LayerCost:
    return LayerCost(**json.loads(text))


class CostCache:
    """Key → :class:`LayerCost` store in one SQLite file; safe across processes.

    Use as a context manager or call :meth:`close`. Reads and writes are batched: one
    ``SELECT ... IN`` per 500 keys and one transaction per :meth:`put_many`.
    """

    def __init__(self, directory: str | Path | None = None, timeout_s: float = 60.0):
        self.directory = Path(directory) if directory is not None else default_cache_dir()
        self.path = self.directory / CACHE_FILE_NAME
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            self._conn = sqlite3.connect(self.path, timeout=timeout_s, isolation_level=None)
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute("PRAGMA synchronous=NORMAL")
            self._conn.execute("CREATE TABLE IF NOT EXISTS costs (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
        except (OSError, sqlite3.Error) as exc:
            raise MascotError(
                f"cannot open the layer-cost cache: {exc}",
                path=self.path,
                hint="set MASCOT_CACHE_DIR to a writable folder, or pass --no-cache",
            ) from None

    def get_many(self, keys: Iterable[str]) -> dict[str, LayerCost]:
        """The cached costs among ``keys`` (missing keys are simply absent)."""
        keys = list(dict.fromkeys(keys))
        found: dict[str, LayerCost] = {}
        for start in range(0, len(keys), _SQL_CHUNK):
            chunk = keys[start : start + _SQL_CHUNK]
            marks = ",".join("?" * len(chunk))
            for key, value in self._conn.execute(f"SELECT key, value FROM costs WHERE key IN ({marks})", chunk):
                found[key] = cost_from_json(value)
        return found

    def put_many(self, items: Mapping[str, LayerCost]) -> None:
        """Store ``items`` in one transaction (a concurrent writer waits for the lock)."""
        if not items:
            return
        rows = [(k, cost_to_json(v)) for k, v in items.items()]
        with self._conn:
            self._conn.execute("BEGIN IMMEDIATE")
            self._conn.executemany("INSERT OR REPLACE INTO costs (key, value) VALUES (?, ?)", rows)

    def __len__(self) -> int:
        return int(self._conn.execute("SELECT COUNT(*) FROM costs").fetchone()[0])

    def clear(self) -> None:
        with self._conn:
            self._conn.execute("DELETE FROM costs")

    def close(self) -> None:
        self._conn.close()

    def __enter__(self) -> "CostCache":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
