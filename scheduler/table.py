"""Layer tables as the simulator reads them: dense per-(layer, SA instance) arrays.

A layer table (``hwmodel.tables``) has one row per (model, layer, SA *class*). The simulator needs
the same numbers per SA *instance* of one system, indexed by plain integers, so that its hot loop
never touches pandas: :class:`SimTable` holds, for every layer of every model (a *global layer id*
``g``), the latency, DRAM bandwidth and dynamic energy on each of the ``M`` instances, the layer's
predecessors and successors (local indices inside its model) and each model's isolated latency: the job alone on the idle system, each layer on the SA where it is
fastest *alone* (its table latency, stretched by ``bw / DRAM capacity`` when it needs more
bandwidth than the DRAM gives, exactly as the simulator would run it), along the critical path.

:class:`Platform` is what the simulator needs from a system spec: the ordered SA instances (name,
class, static power), the shared DRAM bandwidth and the system's name (to check that a table was
built for this system).

Columns read from the table: ``model``, ``layer_index`` (topological order within the model),
``layer``, ``preds`` (list of ``layer_index``), ``sa_class``, ``latency_s``, ``energy_pj`` and
``bw_gbps`` (or ``bw_bytes_per_cycle`` × the instance clock). Parquet metadata ``mascot.system``
names the system the table was built for.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from mascot.errors import MascotError

REQUIRED_COLUMNS: tuple[str, ...] = ("model", "layer_index", "preds", "sa_class", "latency_s", "energy_pj")


@dataclass(frozen=True)
class Platform:
    """The SA instances of one system and its shared DRAM.

    ``static_power_w[m]`` is burnt by instance ``m`` for the whole simulated time (idle and stalled
    time included); ``clock_ghz`` turns a table's bytes/cycle into GB/s when ``bw_gbps`` is absent.
    """

    system_name: str
    instance_names: tuple[str, ...]
    class_names: tuple[str, ...]
    static_power_w: tuple[float, ...]
    clock_ghz: tuple[float, ...]
    dram_gbps: float

    def __post_init__(self) -> None:
        m = len(self.instance_names)
        if m == 0:
            raise MascotError(f"system {self.system_name!r} has no SA instances")
        if not (len(self.class_names) == len(self.static_power_w) == len(self.clock_ghz) == m):
            raise MascotError(f"system {self.system_name!r}: instance lists have different lengths")
        if self.dram_gbps <= 0:
            raise MascotError(f"system {self.system_name!r}: dram_gbps must be > 0, got {self.dram_gbps}")

    @property
    def n_sa(self) -> int:
        return len(self.instance_names)

    def with_dram_gbps(self, dram_gbps: float) -> "Platform":
        """The same SAs with another DRAM bandwidth (the bandwidth-sensitivity sweep)."""
        return replace(self, dram_gbps=float(dram_gbps))

    @classmethod
    def from_system(cls, system: Any) -> "Platform":
        """Build from a :class:`hwmodel.spec.SystemSpec` (or a bundled system name / YAML path)."""
        from hwmodel import spec as hwspec

        if isinstance(system, (str, Path)):
            system = hwspec.load_system(system)
        names: list[str] = []
        classes: list[str] = []
        power: list[float] = []
        clocks: list[float] = []
        if hasattr(system, "instances"):
            for inst in system.instances():
                name, cls_name, acc = inst[0], inst[1], inst[2]
                names.append(str(name))
                classes.append(str(cls_name))
                power.append(float(acc.static_power_mw or 0.0) / 1e3)
                clocks.append(float(acc.clock_ghz))
        else:  # expand the accelerator groups ourselves (same order as the YAML)
            for group in system.accelerators:
                acc = hwspec.load_accelerator(group.accelerator)
                prefix = group.name or acc.name
                for i in range(group.count):
                    names.append(f"{prefix}{i}")
                    classes.append(acc.name)
                    power.append(float(acc.static_power_mw or 0.0) / 1e3)
                    clocks.append(float(acc.clock_ghz))
        return cls(
            system_name=system.name,
            instance_names=tuple(names),
            class_names=tuple(classes),
            static_power_w=tuple(power),
            clock_ghz=tuple(clocks),
            dram_gbps=float(system.dram_gbps),
        )


@dataclass(frozen=True, eq=False)
class SimTable:
    """Dense, integer-indexed view of a layer table for one :class:`Platform`.

    Global layer ``g`` of model ``k`` is ``layer_base[k] + layer_index``. Arrays are ``[G, M]`` with
    ``M = platform.n_sa``; ``preds_local[g]`` / ``succs_local[g]`` are tuples of local indices.
    """

    platform: Platform
    models: tuple[str, ...]
    layer_base: np.ndarray  # [K+1] int64
    layer_names: tuple[str, ...]
    lat_s: np.ndarray  # [G, M]
    bw_gbps: np.ndarray  # [G, M]
    energy_pj: np.ndarray  # [G, M]
    preds_local: tuple[tuple[int, ...], ...]
    succs_local: tuple[tuple[int, ...], ...]
    isolated_s: np.ndarray  # [K]
    solo_lat_s: np.ndarray  # [G, M] latency alone on the system: lat × max(1, bw / DRAM capacity)
    model_of_layer: np.ndarray  # [G]
    local_index: np.ndarray  # [G]
    source: str = ""
    _lists: dict = field(default_factory=dict, repr=False)

    @property
    def n_sa(self) -> int:
        return self.platform.n_sa

    @property
    def n_layers_total(self) -> int:
        return int(self.layer_base[-1])

    def n_layers(self, model: int) -> int:
        return int(self.layer_base[model + 1] - self.layer_base[model])

    def model_id(self, name: str) -> int:
        try:
            return self.models.index(name)
        except ValueError:
            raise MascotError(
                f"model {name!r} is not in the layer table",
                path=self.source or None,
                hint=f"the table has: {', '.join(self.models)}; rebuild it with this model",
            ) from None

    def as_lists(self) -> tuple[list[list[float]], list[list[float]], list[list[float]]]:
        """(lat, bw, energy) as nested Python lists: the simulator's hot loop indexes these."""
        if "lat" not in self._lists:
            self._lists["lat"] = self.lat_s.tolist()
            self._lists["bw"] = self.bw_gbps.tolist()
            self._lists["energy"] = self.energy_pj.tolist()
        return self._lists["lat"], self._lists["bw"], self._lists["energy"]

    def with_platform(self, platform: Platform) -> "SimTable":
        """Same layers on a platform with the same instances (e.g. another DRAM bandwidth)."""
        if platform.class_names != self.platform.class_names:
            raise MascotError("with_platform: the SA instances differ; rebuild the SimTable")
        # deadlines (isolated_s) stay those of the nominal system, so that a bandwidth sweep
        # measures the schedule under the same SLA; only the solo latency estimates change
        return replace(self, platform=platform, solo_lat_s=solo_latency(self.lat_s, self.bw_gbps, platform.dram_gbps), _lists={})

    # ------------------------------------------------------------------------------------
    @classmethod
    def from_frame(
        cls,
        df: pd.DataFrame,
        platform: Platform,
        table_system: str | None = None,
        source: str = "",
        models: list[str] | None = None,
    ) -> "SimTable":
        """Validate a layer-table DataFrame and expand it to the platform's instances.

        ``table_system`` is the system the table says it was built for (Parquet metadata); a
        mismatch with ``platform.system_name`` is an error. ``models`` restricts the table.
        """
        where = source or None
        if table_system and table_system != platform.system_name:
            raise MascotError(
                f"the layer table was built for system {table_system!r}, not {platform.system_name!r}",
                path=where,
                hint=f"rebuild it with `mascot tables build --system {platform.system_name}` or pass --system {table_system}",
            )
        missing = [c for c in REQUIRED_COLUMNS if c not in df.columns]
        if "bw_gbps" not in df.columns and "bw_bytes_per_cycle" not in df.columns:
            missing.append("bw_gbps")
        if missing:
            raise MascotError(f"layer table lacks columns {missing}", path=where, hint="build it with hwmodel.tables")
        if models is not None:
            df = df[df["model"].isin(models)]
        classes = list(dict.fromkeys(platform.class_names))
        absent = sorted(set(classes) - set(df["sa_class"].unique()))
        if absent:
            raise MascotError(
                f"layer table has no rows for SA classes {absent} of system {platform.system_name!r}",
                path=where,
                hint="build the table for this system",
            )
        df = df[df["sa_class"].isin(classes)]
        dup = df.duplicated(["model", "layer_index", "sa_class"])
        if dup.any():
            row = df[dup].iloc[0]
            raise MascotError(
                f"duplicate row for model {row['model']!r} layer {row['layer_index']} on {row['sa_class']!r}", path=where
            )
        model_names = tuple(dict.fromkeys(df["model"].tolist()))
        if not model_names:
            raise MascotError("layer table has no layers", path=where)
        class_col = {c: i for i, c in enumerate(classes)}
        inst_of_class = [[m for m, c in enumerate(platform.class_names) if c == cl] for cl in classes]
        clock_of_class = [platform.clock_ghz[ms[0]] for ms in inst_of_class]

        bases = [0]
        names: list[str] = []
        preds: list[tuple[int, ...]] = []
        per_model = []
        for name, group in df.groupby("model", sort=False):
            idx = np.sort(group["layer_index"].unique())
            n = len(idx)
            if not np.array_equal(idx, np.arange(n)):
                raise MascotError(
                    f"model {name!r}: layer_index must be 0..{n - 1} without gaps", path=where
                )
            counts = group.groupby("layer_index")["sa_class"].nunique()
            if (counts != len(classes)).any():
                bad = int(counts[counts != len(classes)].index[0])
                raise MascotError(
                    f"model {name!r} layer {bad} lacks costs for some SA classes of {platform.system_name!r}", path=where
                )
            per_model.append((name, group, n))
            bases.append(bases[-1] + n)
        model_names = tuple(p[0] for p in per_model)
        G = bases[-1]
        C = len(classes)
        lat_c = np.zeros((G, C))
        bw_c = np.zeros((G, C))
        en_c = np.zeros((G, C))
        model_of = np.zeros(G, dtype=np.int64)
        local = np.zeros(G, dtype=np.int64)
        for k, (name, group, n) in enumerate(per_model):
            base = bases[k]
            li = group["layer_index"].to_numpy(dtype=np.int64)
            ci = group["sa_class"].map(class_col).to_numpy(dtype=np.int64)
            lat_c[base + li, ci] = group["latency_s"].to_numpy(dtype=float)
            en_c[base + li, ci] = group["energy_pj"].to_numpy(dtype=float)
            if "bw_gbps" in group.columns:
                bw_c[base + li, ci] = group["bw_gbps"].to_numpy(dtype=float)
            else:
                clk = np.asarray(clock_of_class)[ci]
                bw_c[base + li, ci] = group["bw_bytes_per_cycle"].to_numpy(dtype=float) * clk
            first = group.drop_duplicates("layer_index").sort_values("layer_index")
            lname = first["layer"].astype(str).tolist() if "layer" in first.columns else [str(i) for i in range(n)]
            for i, p in enumerate(first["preds"].tolist()):
                pl = tuple(sorted(int(x) for x in _as_list(p)))
                if any(q < 0 or q >= i for q in pl):
                    raise MascotError(
                        f"model {name!r} layer {i}: preds {list(pl)} must be earlier layer_index values (topological order)",
                        path=where,
                    )
                preds.append(pl)
            names.extend(lname)
            model_of[base : base + n] = k
            local[base : base + n] = np.arange(n)
        if not (np.isfinite(lat_c).all() and (lat_c > 0).all()):
            raise MascotError("layer table has non-positive or missing latency_s values", path=where)
        if (bw_c < 0).any() or (en_c < 0).any():
            raise MascotError("layer table has negative bandwidth or energy values", path=where)
        cols = np.array([class_col[c] for c in platform.class_names])
        lat = lat_c[:, cols]
        succs: list[list[int]] = [[] for _ in range(G)]
        for g in range(G):
            base = bases[model_of[g]]
            for q in preds[g]:
                succs[base + q].append(int(local[g]))
        bw = np.ascontiguousarray(bw_c[:, cols])
        solo = solo_latency(lat, bw, platform.dram_gbps)
        isolated = np.zeros(len(per_model))
        best = solo.min(axis=1)
        for k in range(len(per_model)):
            base = bases[k]
            finish = np.zeros(bases[k + 1] - base)
            for i in range(len(finish)):
                start = max((finish[q] for q in preds[base + i]), default=0.0)
                finish[i] = start + best[base + i]
            isolated[k] = finish.max()
        return cls(
            platform=platform,
            models=model_names,
            layer_base=np.asarray(bases, dtype=np.int64),
            layer_names=tuple(names),
            lat_s=np.ascontiguousarray(lat),
            bw_gbps=bw,
            energy_pj=np.ascontiguousarray(en_c[:, cols]),
            solo_lat_s=solo,
            preds_local=tuple(preds),
            succs_local=tuple(tuple(s) for s in succs),
            isolated_s=isolated,
            model_of_layer=model_of,
            local_index=local,
            source=source,
        )


def solo_latency(lat_s: np.ndarray, bw_gbps: np.ndarray, dram_gbps: float) -> np.ndarray:
    """Latency of each layer alone on the system: a layer that needs more bandwidth than the DRAM
    gives is slowed by ``bw / capacity`` even without other tenants (the simulator's rule)."""
    return np.ascontiguousarray(lat_s * np.maximum(1.0, bw_gbps / dram_gbps))


def _as_list(value: Any) -> list:
    if value is None:
        return []
    if isinstance(value, str):
        value = value.strip()
        return list(json.loads(value)) if value else []
    if isinstance(value, float) and np.isnan(value):
        return []
    return list(value)


def read_layer_table(path: str | Path) -> tuple[pd.DataFrame, str | None]:
    """Read a layer table (Parquet or CSV) and the system name in its metadata (if any)."""
    p = Path(path)
    if not p.exists():
        raise MascotError("layer table not found", path=p, hint="build one with `mascot tables build --system SYSTEM --models ... -o FILE`")
    system: str | None = None
    try:
        if p.suffix.lower() == ".csv":
            df = pd.read_csv(p)
        else:
            import pyarrow.parquet as pq

            t = pq.read_table(p)
            meta = t.schema.metadata or {}
            raw = meta.get(b"mascot.system")
            system = raw.decode() if raw else None
            df = t.to_pandas()
    except MascotError:
        raise
    except Exception as exc:  # pyarrow / pandas parse errors
        raise MascotError(f"cannot read layer table: {exc}", path=p) from None
    if system is None and "system" in df.columns and df["system"].nunique() == 1:
        system = str(df["system"].iloc[0])
    return df, system


def load_sim_table(
    path: str | Path, system: Any, dram_gbps: float | None = None, models: list[str] | None = None
) -> SimTable:
    """Read a layer-table file and bind it to a system (name, path or SystemSpec)."""
    platform = system if isinstance(system, Platform) else Platform.from_system(system)
    if dram_gbps is not None:
        platform = platform.with_dram_gbps(dram_gbps)
    df, table_system = read_layer_table(path)
    return SimTable.from_frame(df, platform, table_system=table_system, source=str(path), models=models)
