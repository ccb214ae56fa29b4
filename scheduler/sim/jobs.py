"""Jobs and sub-jobs of a trace, as flat integer-indexed arrays.

Every trace row is one *job* (one inference request). Its sub-jobs (SJs, one per layer) get
consecutive ids ``job_base[j] .. job_base[j] + n_layers - 1`` in the layer's topological order, so
an SJ's predecessors are ``job_base[j] + preds_local[g]`` without any lookup table.

Deadline = arrival + qos_factor × isolated latency of the model (the job alone on the idle system,
each layer on its fastest SA, along the critical path of its DAG).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from mascot.errors import MascotError
from scheduler.table import SimTable

TRACE_COLUMNS: tuple[str, ...] = ("job_id", "arrival_s", "model", "qos", "qos_factor")
QOS_LEVELS: tuple[str, ...] = ("low", "medium", "high")


@dataclass(frozen=True, eq=False)
class JobSet:
    """The jobs of a trace sorted by arrival (ties by ``job_id``), with their SJ ranges."""

    job_id: np.ndarray  # [J] original ids
    model: np.ndarray  # [J] model index in the table
    arrival_s: np.ndarray
    deadline_s: np.ndarray
    qos_factor: np.ndarray
    qos: tuple[str, ...]  # level name per job
    qos_level: np.ndarray  # [J] 0 low, 1 medium, 2 high (other names count as medium)
    isolated_s: np.ndarray
    base: np.ndarray  # [J] first SJ id
    n_layers: np.ndarray  # [J]
    sj_job: np.ndarray  # [N] job of each SJ
    sj_glayer: np.ndarray  # [N] global layer id of each SJ

    @property
    def n_jobs(self) -> int:
        return len(self.job_id)

    @property
    def n_sj(self) -> int:
        return len(self.sj_job)

    @classmethod
    def from_trace(cls, trace: "pd.DataFrame | object", table: SimTable, source: str = "") -> "JobSet":
        """Jobs of ``trace`` (a DataFrame with the trace columns, or a ``workloads.traces.Trace``)."""
        where = source or None
        if not isinstance(trace, pd.DataFrame) and hasattr(trace, "frame"):
            trace = trace.frame
        missing = [c for c in TRACE_COLUMNS if c not in trace.columns]
        if missing:
            raise MascotError(f"trace lacks columns {missing}", path=where, hint="generate it with `mascot workload generate`")
        if len(trace) == 0:
            raise MascotError("trace has no requests", path=where)
        names = trace["model"].astype(str)
        unknown = sorted(set(names) - set(table.models))
        if unknown:
            alias = _zoo_aliases(unknown, table.models)
            if alias:
                names = names.map(lambda m: alias.get(m, m))
                unknown = sorted(set(names) - set(table.models))
        if unknown:
            raise MascotError(
                f"trace requests models {unknown} that the layer table does not have",
                path=where,
                hint=f"the table has {', '.join(table.models)}; build a table that includes these models",
            )
        arrival = trace["arrival_s"].to_numpy(dtype=float)
        factor = trace["qos_factor"].to_numpy(dtype=float)
        if not np.isfinite(arrival).all() or (arrival < 0).any():
            raise MascotError("trace has negative or missing arrival_s values", path=where)
        if not np.isfinite(factor).all() or (factor <= 0).any():
            raise MascotError("trace has non-positive qos_factor values", path=where)
        order = np.lexsort((trace["job_id"].to_numpy(), arrival))
        tr = trace.iloc[order]
        index = {m: i for i, m in enumerate(table.models)}
        model = np.array([index[m] for m in names.iloc[order]], dtype=np.int64)
        iso = table.isolated_s[model]
        n_layers = (table.layer_base[model + 1] - table.layer_base[model]).astype(np.int64)
        base = np.zeros(len(tr), dtype=np.int64)
        if len(tr) > 1:
            base[1:] = np.cumsum(n_layers)[:-1]
        n = int(n_layers.sum())
        sj_job = np.repeat(np.arange(len(tr), dtype=np.int64), n_layers)
        local = np.arange(n, dtype=np.int64) - base[sj_job]
        sj_glayer = table.layer_base[model][sj_job] + local
        arr = arrival[order]
        fac = factor[order]
        return cls(
            job_id=tr["job_id"].to_numpy(),
            model=model,
            arrival_s=arr,
            deadline_s=arr + fac * iso,
            qos_factor=fac,
            qos=tuple(str(q) for q in tr["qos"]),
            qos_level=np.array([QOS_LEVELS.index(str(q)) if str(q) in QOS_LEVELS else 1 for q in tr["qos"]], dtype=np.int64),
            isolated_s=iso,
            base=base,
            n_layers=n_layers,
            sj_job=sj_job,
            sj_glayer=sj_glayer,
        )


def _zoo_aliases(names: list[str], known: tuple[str, ...]) -> dict[str, str]:
    """Trace names that are zoo aliases of a table model (``squeezenet`` → ``squeezenet1_1``)."""
    try:
        from workloads.zoo import resolve_name
    except ImportError:  # pragma: no cover
        return {}
    out = {}
    for n in names:
        try:
            real = resolve_name(n)
        except MascotError:
            continue
        if real in known:
            out[n] = real
    return out
