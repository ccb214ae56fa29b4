"""Layer tables: the cost of every layer of every model on every SA class of a system.

A :class:`LayerTable` is what the scheduler and the DSE read instead of calling a cost model in
their hot loops: one row per (model, layer, SA class). :func:`build_table` makes one:

* layers with the same :attr:`~workloads.layer.Layer.shape_key` on the same SA class are
  evaluated once (ResNet's repeated blocks, the same conv in several models);
* every result goes to a content-hash disk cache (:mod:`hwmodel.cache`), so a second build, or a
  build of another system sharing SA classes, does not evaluate anything again;
* cache misses fan out over processes (joblib) in chunks of (unique shape, SA class), or over a
  Dask cluster when an address is given (:mod:`hwmodel.table_fanout`; its public names are
  re-exported here).

Columns (the scheduler relies on these names; units in the names):

==================  ==========================================================================
model               model name (``LayerGraph.name``)
layer_index         position in ``LayerGraph.layers`` (a topological order)
layer, op_type      layer name and ONNX op type
kind                ``conv`` | ``matmul`` | ``vector``
macs                multiply-accumulates (0 for vector layers)
preds               list of predecessor ``layer_index`` values
sa_class            SA class name (``AcceleratorSpec.name``)
cycles, latency_s   cycles and cycles / SA clock, DRAM unconstrained
energy_pj           dynamic energy; ``energy_breakdown`` is its per-level split (JSON text)
dram_*_bytes        DRAM traffic; ``bw_bytes_per_cycle`` / ``bw_gbps`` the bandwidth needed unstalled
utilization         MACs / (cycles × MAC units)
mapping, backend    the mapping chosen (Timeloop compact form) and the backend that produced the row
==================  ==========================================================================
"""

from __future__ import annotations

import hashlib
import inspect
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from mascot.errors import MascotError
from mascot.io import atomic_write, atomic_write_json
from workloads.graph import LayerGraph
from workloads.layer import Layer

from hwmodel.cache import CostCache, cost_key
from hwmodel.cost import CostBackend, LayerCost, available_backends, get_backend
from hwmodel.spec import AcceleratorSpec, SystemSpec, load_accelerator, load_system
from hwmodel.table_fanout import (  # re-exported (see __all__): callers import them from here
    DASK_CONNECT_TIMEOUT_S,
    MIN_PARALLEL_MAC_TASKS,
    Task,
    chunk_size,
    default_jobs,
    evaluate_tasks,
)

COLUMNS: tuple[str, ...] = (
    "model", "layer_index", "layer", "op_type", "kind", "macs", "preds", "sa_class", "cycles", "latency_s",
    "energy_pj", "dram_read_bytes", "dram_write_bytes", "dram_bytes", "bw_bytes_per_cycle", "bw_gbps",
    "utilization", "mapping", "energy_breakdown", "backend",
)
META_PREFIX = "mascot."

__all__ = [
    "COLUMNS", "META_PREFIX", "LayerTable", "build_table", "make_backend", "resolve_models", "resolve_sa_classes",
    "system_hash",
    # the fan-out of cache misses (hwmodel.table_fanout), importable from here as before
    "DASK_CONNECT_TIMEOUT_S", "MIN_PARALLEL_MAC_TASKS", "Task", "chunk_size", "default_jobs", "evaluate_tasks",
]


# ----------------------------------------------------------------------------------------------
# the table record


@dataclass(frozen=True, eq=False)
class LayerTable:
    """A layer-cost DataFrame (columns :data:`COLUMNS`) plus where it came from.

    ``metadata`` keys (stored as Parquet schema metadata, or a ``.meta.json`` file next to a
    CSV): ``mascot.system``, ``mascot.system_hash``, ``mascot.backend``, ``mascot.objective``,
    ``mascot.sa_classes`` (JSON list) and ``mascot.sa_hash.<class>`` per SA class.
    """

    frame: pd.DataFrame
    metadata: dict[str, str] = field(default_factory=dict)

    # --- views ---------------------------------------------------------------------------
    @property
    def models(self) -> list[str]:
        return list(dict.fromkeys(self.frame["model"]))

    @property
    def sa_classes(self) -> list[str]:
        return list(dict.fromkeys(self.frame["sa_class"]))

    def __len__(self) -> int:
        return len(self.frame)

    def for_model(self, model: str) -> pd.DataFrame:
        if model not in set(self.frame["model"]):
            raise MascotError(f"model {model!r} is not in this table", hint=f"models: {', '.join(self.models)}")
        return self.frame[self.frame["model"] == model].reset_index(drop=True)

    def summary(self) -> pd.DataFrame:
        """Per (model, SA class): the model run alone on one SA of that class, layer after layer.

        ``latency_s`` is the sum of layer latencies (serial execution, DRAM unconstrained),
        ``energy_pj`` the sum of dynamic energies.
        """
        df = self.frame
        grouped = df.groupby(["model", "sa_class"], sort=False).agg(
            layers=("layer_index", "size"),
            macs=("macs", "sum"),
            cycles=("cycles", "sum"),
            latency_s=("latency_s", "sum"),
            energy_pj=("energy_pj", "sum"),
            dram_bytes=("dram_bytes", "sum"),
        )
        out = grouped.reset_index()
        out["latency_ms"] = out["latency_s"] * 1e3
        out["energy_uj"] = out["energy_pj"] * 1e-6
        out["utilization"] = out["macs"] / out["cycles"].clip(lower=1) / out["sa_class"].map(self._mac_units())
        return out[["model", "sa_class", "layers", "macs", "cycles", "latency_ms", "energy_uj", "dram_bytes", "utilization"]]

    def _mac_units(self) -> dict[str, float]:
        units = json.loads(self.metadata.get(META_PREFIX + "sa_mac_units", "{}"))
        return {c: float(units.get(c, float("nan"))) for c in self.sa_classes}

    # --- files ---------------------------------------------------------------------------
    def save(self, path: str | Path) -> Path:
        """Write atomically; ``.parquet`` keeps the metadata in the schema, ``.csv`` next to it."""
        path = Path(path)
        suffix = path.suffix.lower()
        if suffix == ".parquet":
            import pyarrow as pa
            import pyarrow.parquet as pq

            table = pa.Table.from_pandas(self.frame, preserve_index=False)
            meta = dict(table.schema.metadata or {})
            meta.update({k.encode(): str(v).encode() for k, v in self.metadata.items()})
            table = table.replace_schema_metadata(meta)
            return atomic_write(path, lambda p: pq.write_table(table, p))
        if suffix == ".csv":
            df = self.frame.copy()
            df["preds"] = [json.dumps([int(x) for x in p]) for p in df["preds"]]
            atomic_write(path, lambda p: df.to_csv(p, index=False))
            atomic_write_json(_csv_meta_path(path), self.metadata)
            return path
        raise MascotError(f"unsupported table format {suffix!r}", path=path, hint="use a .parquet or .csv file name")

    @classmethod
    def load(cls, path: str | Path) -> "LayerTable":
        """Read a table written by :meth:`save`; anything else is a :class:`MascotError`."""
        path = Path(path)
        if not path.is_file():
            raise MascotError("layer table not found", path=path, hint="build one with `mascot tables build`")
        suffix = path.suffix.lower()
        metadata: dict[str, str] = {}
        try:
            if suffix == ".parquet":
                import pyarrow.parquet as pq

                table = pq.read_table(path)
                raw = table.schema.metadata or {}
                metadata = {k.decode(): v.decode() for k, v in raw.items() if k.decode().startswith(META_PREFIX)}
                frame = table.to_pandas()
            elif suffix == ".csv":
                frame = pd.read_csv(path, keep_default_na=False, na_values=[""])
                meta_path = _csv_meta_path(path)
                if meta_path.is_file():
                    metadata = {str(k): str(v) for k, v in json.loads(meta_path.read_text()).items()}
            else:
                raise MascotError(f"unsupported table format {suffix!r}", path=path, hint="use a .parquet or .csv file")
        except MascotError:
            raise
        except Exception as exc:  # pyarrow / pandas parse errors: the file is not a table
            raise MascotError(f"cannot read a layer table: {exc}", path=path) from None
        missing = [c for c in COLUMNS if c not in frame.columns]
        if missing:
            raise MascotError(
                f"not a layer table: missing column {missing[0]!r}"
                + (f" (and {len(missing) - 1} more)" if len(missing) > 1 else ""),
                path=path,
                hint="build one with `mascot tables build`",
            )
        frame = frame[list(COLUMNS) + [c for c in frame.columns if c not in COLUMNS]].copy()
        frame["preds"] = [_as_int_list(p) for p in frame["preds"]]
        frame["mapping"] = frame["mapping"].fillna("").astype(str)
        return cls(frame=frame.reset_index(drop=True), metadata=metadata)


def _csv_meta_path(path: Path) -> Path:
    return path.with_name(path.name + ".meta.json")


def _as_int_list(value: Any) -> list[int]:
    if isinstance(value, str):
        value = json.loads(value) if value.strip() else []
    return [int(x) for x in value]


# ----------------------------------------------------------------------------------------------
# inputs


def resolve_models(models: Iterable[LayerGraph | str | Path] | LayerGraph | str) -> list[LayerGraph]:
    """Zoo names and ONNX paths → LayerGraphs (LayerGraphs pass through)."""
    if isinstance(models, (LayerGraph, str, Path)):
        models = [models]
    graphs: list[LayerGraph] = []
    for m in models:
        if isinstance(m, LayerGraph):
            graphs.append(m)
        elif Path(m).suffix.lower() == ".onnx":
            from workloads.onnx_import import load_onnx

            graphs.append(load_onnx(m))
        else:
            from workloads.zoo import load_model

            graphs.append(load_model(str(m)))
    names = [g.name for g in graphs]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise MascotError(f"model names must be unique in one table, got {', '.join(dupes)} twice",
                          hint="load each model once (or rename one of the ONNX files)")
    return graphs


def resolve_sa_classes(system: SystemSpec | str | Path | Sequence[AcceleratorSpec | str]) -> tuple[str, list[AcceleratorSpec]]:
    """The system's name and its distinct SA classes (count > 0), in the order the system lists them.

    A list of SA specs or names is accepted too (a table for loose accelerators, e.g. to compare
    backends on ``eyeriss_like``).
    """
    if isinstance(system, (str, Path)):
        system = load_system(system)
    if isinstance(system, SystemSpec):
        specs = _system_specs(system)
        name = system.name
    else:
        specs = [s.resolved() if isinstance(s, AcceleratorSpec) else load_accelerator(s) for s in system]
        name = "+".join(s.name for s in specs)
    unique: dict[str, AcceleratorSpec] = {}
    for spec in specs:
        if spec.name in unique and unique[spec.name].content_hash != spec.content_hash:
            raise MascotError(f"two different SA specs are both named {spec.name!r}",
                              hint="give each SA class a distinct `name:` in its YAML")
        unique.setdefault(spec.name, spec)
    if not unique:
        raise MascotError(f"system {name!r} has no SA with count > 0")
    return name, list(unique.values())


def _system_specs(system: SystemSpec) -> list[AcceleratorSpec]:
    """The system's resolved SA classes with count > 0 (file order)."""
    return list(system.classes().values())


def system_hash(system_name: str, sa_specs: Sequence[AcceleratorSpec], system: Any = None) -> str:
    """The system's own content hash, or (loose SA list) a hash of the SA classes."""
    if isinstance(system, SystemSpec):
        return system.content_hash
    payload = {"name": system_name, "sa": [s.content_hash for s in sa_specs]}
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:16]


def make_backend(backend: str | CostBackend, objective: str = "delay", seed: int = 0) -> tuple[CostBackend, dict[str, Any]]:
    """Instantiate ``backend`` (``"name[:arg]"`` or an instance) and the options that key its cache.

    ``objective`` and ``seed`` are passed only to factories that take them (a surrogate has no
    objective), so one call works for every registered backend.
    """
    if not isinstance(backend, str):
        opts = {"objective": str(getattr(backend, "objective", objective)), "seed": getattr(backend, "seed", seed)}
        return backend, opts
    name, _, argument = backend.partition(":")
    eps = available_backends()
    if name not in eps:
        get_backend(backend)  # raises the registry's MascotError listing the available names
    factory = eps[name].load()
    wanted = {"objective": objective, "seed": seed}
    try:
        params = inspect.signature(factory).parameters
        takes_any = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values())
        options = {k: v for k, v in wanted.items() if takes_any or k in params}
    except (TypeError, ValueError):
        options = {}
    instance = get_backend(backend, **options)
    cache_opts = {"arg": argument, **{k: str(v) for k, v in options.items()}}
    extra = getattr(instance, "cache_options", None)
    if callable(extra):
        cache_opts.update({k: str(v) for k, v in extra().items()})
    return instance, cache_opts


# ----------------------------------------------------------------------------------------------
# building


def build_table(
    graphs: Iterable[LayerGraph | str | Path] | LayerGraph | str,
    system: SystemSpec | str | Path | Sequence[AcceleratorSpec | str],
    backend: str | CostBackend = "analytical",
    objective: str = "delay",
    cache: bool | str | Path = True,
    n_jobs: int | None = None,
    dask_address: str | None = None,
    progress: bool = True,
    seed: int = 0,
) -> LayerTable:
    """Evaluate every layer of ``graphs`` on every SA class of ``system`` with ``backend``.

    ``cache``: True = the default cache folder, a path = that folder, False = no cache.
    ``n_jobs``: processes for cache misses (default: all cores; 1 = in this process).
    ``dask_address``: run the misses on that Dask scheduler instead (``tcp://host:8786``).
    """
    graph_list = resolve_models(graphs)
    if isinstance(system, (str, Path)):
        system = load_system(system)
    system_name, sa_specs = resolve_sa_classes(system)
    instance, options = make_backend(backend, objective=objective, seed=seed)
    sa_hash = {s.name: s.content_hash for s in sa_specs}

    # unique (SA class, shape) tasks and their cache keys
    keys: dict[tuple[str, tuple], str] = {}
    representative: dict[tuple[str, tuple], Layer] = {}
    for g in graph_list:
        for layer in g.layers:
            for spec in sa_specs:
                task = (spec.name, layer.shape_key)
                if task not in keys:
                    keys[task] = cost_key(instance.name, instance.version, options, sa_hash[spec.name], layer.shape_key)
                    representative[task] = layer

    store = CostCache(None if cache is True else cache) if cache else None
    try:
        costs: dict[tuple[str, tuple], LayerCost] = {}
        if store is not None:
            hits = store.get_many(keys.values())
            costs = {task: hits[k] for task, k in keys.items() if k in hits}
        missing = [task for task in keys if task not in costs]
        if missing:
            specs_by_name = {s.name: s for s in sa_specs}

            def on_done(done: dict[tuple[str, tuple], LayerCost]) -> None:
                costs.update(done)
                if store is not None:
                    store.put_many({keys[t]: c for t, c in done.items()})

            evaluate_tasks(
                instance, [(t, representative[t]) for t in missing], specs_by_name,
                n_jobs=n_jobs, dask_address=dask_address, progress=progress, on_done=on_done,
            )
    finally:
        if store is not None:
            store.close()

    frame = _rows(graph_list, sa_specs, costs, instance.name)
    metadata = {
        META_PREFIX + "system": system_name,
        META_PREFIX + "system_hash": system_hash(system_name, sa_specs, system if isinstance(system, SystemSpec) else None),
        META_PREFIX + "backend": instance.name,
        META_PREFIX + "backend_version": str(instance.version),
        META_PREFIX + "objective": str(options.get("objective", objective)),
        META_PREFIX + "sa_classes": json.dumps([s.name for s in sa_specs]),
        META_PREFIX + "sa_mac_units": json.dumps({s.name: s.mac_units for s in sa_specs}),
        META_PREFIX + "sa_clock_ghz": json.dumps({s.name: s.clock_ghz for s in sa_specs}),
        **{f"{META_PREFIX}sa_hash.{s.name}": s.content_hash for s in sa_specs},
    }
    return LayerTable(frame=frame, metadata=metadata)


def _rows(graphs: list[LayerGraph], sa_specs: list[AcceleratorSpec], costs: dict, backend_name: str) -> pd.DataFrame:
    """Assemble the frame; the per-(SA, shape) cost columns are derived once and repeated."""
    derived: dict[tuple[str, tuple], tuple] = {}
    for (sa_name, key), cost in costs.items():
        spec = next(s for s in sa_specs if s.name == sa_name)
        bw = float(cost.bw_bytes_per_cycle)
        derived[(sa_name, key)] = (
            int(cost.cycles), cost.cycles / (spec.clock_ghz * 1e9), float(cost.energy_pj),
            int(cost.dram_read_bytes), int(cost.dram_write_bytes), int(cost.dram_bytes), bw, bw * spec.clock_ghz,
            float(cost.utilization), cost.mapping, json.dumps(cost.energy_breakdown_pj, sort_keys=True),
            cost.backend or backend_name,
        )
    cost_cols = ("cycles", "latency_s", "energy_pj", "dram_read_bytes", "dram_write_bytes", "dram_bytes",
                 "bw_bytes_per_cycle", "bw_gbps", "utilization", "mapping", "energy_breakdown", "backend")
    records: list[tuple] = []
    for g in graphs:
        index = g.index
        for i, layer in enumerate(g.layers):
            preds = [index[p] for p in g.predecessors(layer.name)]
            head = (g.name, i, layer.name, layer.op_type, layer.kind.value, layer.macs)
            key = layer.shape_key
            for spec in sa_specs:
                records.append((*head, preds, spec.name, *derived[(spec.name, key)]))
    order = ("model", "layer_index", "layer", "op_type", "kind", "macs", "preds", "sa_class", *cost_cols)
    frame = pd.DataFrame.from_records(records, columns=list(order))[list(COLUMNS)]
    for c in ("layer_index", "macs", "cycles", "dram_read_bytes", "dram_write_bytes", "dram_bytes"):
        frame[c] = frame[c].astype("int64")
    return frame
