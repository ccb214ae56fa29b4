"""Small hand-made and random layer tables (same columns as ``hwmodel.tables``).

Used by tests, examples and the benchmark's fallback: a table is just a DataFrame, so a model can
be written down as literal numbers: chains, diamonds, any DAG.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from scheduler.table import Platform


def layer_rows(
    model: str,
    preds: Sequence[Sequence[int]],
    latency_s: Sequence[Sequence[float]],
    bw_gbps: Sequence[Sequence[float]],
    energy_pj: Sequence[Sequence[float]],
    sa_classes: Sequence[str],
) -> list[dict]:
    """Rows of one model: ``latency_s[i][c]`` is layer ``i`` on SA class ``c``."""
    rows = []
    for i, p in enumerate(preds):
        for c, cls in enumerate(sa_classes):
            lat = float(latency_s[i][c])
            bw = float(bw_gbps[i][c])
            rows.append(
                {
                    "model": model,
                    "layer_index": i,
                    "layer": f"{model}/L{i}",
                    "op_type": "Conv",
                    "kind": "conv",
                    "macs": 0,
                    "preds": [int(q) for q in p],
                    "sa_class": cls,
                    "cycles": int(round(lat * 1e9)),
                    "latency_s": lat,
                    "energy_pj": float(energy_pj[i][c]),
                    "dram_bytes": int(round(bw * lat * 1e9)),
                    "bw_bytes_per_cycle": bw,  # at 1 GHz, GB/s == bytes/cycle
                    "bw_gbps": bw,
                    "backend": "literal",
                }
            )
    return rows


def random_table(
    rng: np.random.Generator,
    n_models: int = 3,
    sa_classes: Sequence[str] = ("a", "b"),
    max_layers: int = 8,
    max_bw_gbps: float = 12.0,
) -> pd.DataFrame:
    """Random DAG models (each layer depends on 1-2 earlier layers) with random costs."""
    rows: list[dict] = []
    C = len(sa_classes)
    for k in range(n_models):
        n = int(rng.integers(1, max_layers + 1))
        preds = []
        for i in range(n):
            if i == 0:
                preds.append([])
            else:
                cnt = int(rng.integers(1, min(2, i) + 1))
                preds.append(sorted(set(rng.choice(i, size=cnt, replace=False).tolist())))
        lat = rng.uniform(1e-5, 2e-4, size=(n, C))
        bw = rng.uniform(0.0, max_bw_gbps, size=(n, C))
        en = rng.uniform(1e5, 1e7, size=(n, C))
        rows += layer_rows(f"m{k}", preds, lat, bw, en, sa_classes)
    return pd.DataFrame(rows)


def literal_platform(
    classes: Sequence[str] = ("a", "a", "b"), dram_gbps: float = 16.0, static_power_w: float = 0.01, name: str = "toy"
) -> Platform:
    """A platform whose instances are given by class name (static power per instance, 1 GHz)."""
    counts: dict[str, int] = {}
    names = []
    for c in classes:
        names.append(f"{c}{counts.get(c, 0)}")
        counts[c] = counts.get(c, 0) + 1
    return Platform(
        system_name=name,
        instance_names=tuple(names),
        class_names=tuple(classes),
        static_power_w=tuple(static_power_w for _ in classes),
        clock_ghz=tuple(1.0 for _ in classes),
        dram_gbps=dram_gbps,
    )


def random_trace(
    rng: np.random.Generator, models: Sequence[str], n_jobs: int = 20, mean_gap_s: float = 5e-5, qos_factor: float = 3.0
) -> pd.DataFrame:
    """Poisson arrivals of random models with random QoS levels (low/medium/high = 1.2/1/0.8×)."""
    gaps = rng.exponential(mean_gap_s, size=n_jobs)
    levels = rng.choice(["low", "medium", "high"], size=n_jobs)
    mult = {"low": 1.2, "medium": 1.0, "high": 0.8}
    return pd.DataFrame(
        {
            "job_id": np.arange(n_jobs),
            "arrival_s": np.cumsum(gaps) - gaps[0],
            "model": rng.choice(list(models), size=n_jobs),
            "qos": levels,
            "qos_factor": [qos_factor * mult[q] for q in levels],
        }
    )
