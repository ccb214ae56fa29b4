"""Training data: (layer, SA) pairs evaluated with a cost backend, written as resumable Parquet chunks.

A data set folder holds ``plan.json`` (what was asked: backend, samples, seed, zoo hold-outs) and
``chunk-NNNNN.parquet`` files of :data:`CHUNK_ROWS` rows each. The plan is a pure function of the
arguments, so an interrupted run started again with the same arguments recomputes the same plan
and evaluates only the chunks that are missing; different arguments on the same folder are a
:class:`~mascot.errors.MascotError` (they would mix two data sets).

Rows (columns): ``sample_id``, ``source`` (``random`` or ``zoo:<model>``), ``hw_config`` (the
:class:`~surrogate.sampling.HardwareConfig` as JSON), ``hw_base``, ``hw_is_base``, the
:data:`~surrogate.features.LAYER_COLUMNS`, the :data:`~surrogate.features.HARDWARE_COLUMNS`, and
the targets ``cycles``, ``energy_pj``, ``dram_read_bytes``, ``dram_write_bytes``, ``dram_bytes``,
``utilization`` (NaN with ``error`` set when the backend failed on that pair).

The plan: ``samples`` random layers (:func:`~surrogate.sampling.sample_layer`), each on one of the
four Table-1 classes unchanged (``base_share``) or on one of a pool of ``samples // 25`` random
variants; plus every distinct layer shape of the zoo (except ``holdout`` models) on each of the
four classes and on one random variant. Zoo pairs come first, so an early stop keeps them all.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from mascot.errors import MascotError
from mascot.io import atomic_write_json, write_frame
from surrogate.features import HARDWARE_COLUMNS, LAYER_COLUMNS, hardware_record, layer_record
from surrogate.sampling import BASE_CLASSES, HardwareConfig, sample_hardware, sample_layer
from workloads.layer import Layer

CHUNK_ROWS = 256
HOLDOUT_MODELS: tuple[str, ...] = ("inceptionv3", "yolov2")
TARGETS: tuple[str, ...] = ("cycles", "energy_pj", "dram_read_bytes", "dram_write_bytes")
PLAN_FILE = "plan.json"


@dataclass(frozen=True)
class Task:
    """One pair to evaluate: where it came from, the layer and the hardware."""

    sample_id: int
    source: str
    layer: Layer
    hw: HardwareConfig


def zoo_layers(exclude: Iterable[str] = HOLDOUT_MODELS, include: Iterable[str] | None = None) -> list[tuple[str, Layer]]:
    """``(model, layer)`` for every distinct layer shape of the zoo models (first occurrence wins)."""
    from workloads.zoo import load_model, model_names

    excluded = set(exclude)
    names = list(include) if include is not None else [n for n in model_names() if n not in excluded]
    seen: set[tuple] = set()
    out = []
    for name in names:
        for layer in load_model(name).layers:
            if layer.shape_key not in seen:
                seen.add(layer.shape_key)
                out.append((name, layer))
    return out


def make_plan(samples: int, seed: int, *, zoo: bool = True, holdout: Iterable[str] = HOLDOUT_MODELS,
              base_share: float = 0.4) -> list[Task]:
    """The full, deterministic list of pairs for these arguments (same arguments, same list)."""
    if samples < 0:
        raise MascotError(f"--samples must be >= 0, got {samples}")
    rng = np.random.default_rng(seed)
    n_pool = max(8, samples // 25)
    pool = [sample_hardware(rng, BASE_CLASSES[i % len(BASE_CLASSES)]) for i in range(n_pool)]
    bases = [HardwareConfig(b) for b in BASE_CLASSES]
    random_tasks: list[tuple[str, Layer, HardwareConfig]] = []
    for i in range(samples):
        layer = sample_layer(rng, name=f"random{i}")
        if rng.random() < base_share:
            hw = bases[int(rng.integers(len(bases)))]
        else:
            hw = pool[int(rng.integers(len(pool)))]
        random_tasks.append(("random", layer, hw))
    zoo_tasks: list[tuple[str, Layer, HardwareConfig]] = []
    if zoo:
        for model, layer in zoo_layers(exclude=holdout):
            for hw in bases:
                zoo_tasks.append((f"zoo:{model}", layer, hw))
            zoo_tasks.append((f"zoo:{model}", layer, pool[int(rng.integers(len(pool)))]))
    # zoo pairs first: a run stopped early still has every real layer shape
    return [Task(i, src, layer, hw) for i, (src, layer, hw) in enumerate(zoo_tasks + random_tasks)]


# ---------------------------------------------------------------------------------------------------
# evaluation (top-level functions: joblib and Dask workers unpickle them)


def evaluate_tasks(backend: Any, tasks: list[Task]) -> pd.DataFrame:
    """Evaluate ``tasks`` with ``backend`` (a name or an instance); one row per task, in task order.

    Pairs are evaluated grouped by hardware (each spec is built and warmed up once); a pair the
    backend rejects keeps NaN targets and the error text, so one bad corner does not lose a chunk.
    """
    from hwmodel.cost import get_backend

    be = get_backend(backend) if isinstance(backend, str) else backend
    specs: dict[HardwareConfig, Any] = {}
    hw_rows: dict[HardwareConfig, dict[str, Any]] = {}
    rows: list[dict[str, Any] | None] = [None] * len(tasks)
    order = sorted(range(len(tasks)), key=lambda i: tasks[i].hw.to_json())
    for i in order:
        t = tasks[i]
        if t.hw not in specs:
            specs[t.hw] = t.hw.build()
            hw_rows[t.hw] = hardware_record(specs[t.hw])
        row: dict[str, Any] = {"sample_id": t.sample_id, "source": t.source, "hw_config": t.hw.to_json(),
                               "hw_base": t.hw.base, "hw_is_base": t.hw.is_base}
        row.update(layer_record(t.layer))
        row.update(hw_rows[t.hw])
        try:
            cost = be.evaluate(t.layer, specs[t.hw])
            row.update(cycles=float(cost.cycles), energy_pj=float(cost.energy_pj),
                       dram_read_bytes=float(cost.dram_read_bytes), dram_write_bytes=float(cost.dram_write_bytes),
                       dram_bytes=float(cost.dram_bytes), utilization=float(cost.utilization), error="")
        except Exception as exc:  # noqa: BLE001 - recorded per row, see the docstring
            row.update(cycles=np.nan, energy_pj=np.nan, dram_read_bytes=np.nan, dram_write_bytes=np.nan,
                       dram_bytes=np.nan, utilization=np.nan, error=f"{type(exc).__name__}: {exc}"[:300])
        rows[i] = row
    columns = ["sample_id", "source", "hw_config", "hw_base", "hw_is_base", *LAYER_COLUMNS, *HARDWARE_COLUMNS,
               "cycles", "energy_pj", "dram_read_bytes", "dram_write_bytes", "dram_bytes", "utilization", "error"]
    return pd.DataFrame.from_records(rows, columns=columns)


def _chunk_job(k: int, backend: Any, tasks: list[Task]) -> tuple[int, pd.DataFrame]:
    return k, evaluate_tasks(backend, tasks)


def chunk_path(folder: Path, k: int) -> Path:
    return folder / f"chunk-{k:05d}.parquet"


def generate(
    output: str | Path,
    *,
    backend: str = "analytical",
    samples: int = 1000,
    seed: int = 0,
    zoo: bool = True,
    holdout: Iterable[str] = HOLDOUT_MODELS,
    n_jobs: int | None = None,
    dask_address: str | None = None,
    progress: bool = True,
    chunk_rows: int = CHUNK_ROWS,
    on_chunk: Callable[[int, int], None] | None = None,
) -> Path:
    """Evaluate the plan for these arguments into ``output``; chunks already there are kept (resume)."""
    from hwmodel.tables import default_jobs

    folder = Path(output)
    holdout = tuple(sorted(holdout))
    plan_meta = {"backend": backend, "samples": int(samples), "seed": int(seed), "zoo": bool(zoo),
                 "holdout": list(holdout), "chunk_rows": int(chunk_rows), "format": 1}
    plan_file = folder / PLAN_FILE
    if plan_file.is_file():
        old = json.loads(plan_file.read_text())
        old.pop("rows", None)
        if old != plan_meta:
            diff = sorted(k for k in plan_meta if old.get(k) != plan_meta[k])
            raise MascotError(
                f"this folder holds a data set made with other arguments ({', '.join(diff)} differ)",
                path=folder, hint="resume with the same arguments, or write to another folder with -o",
            )
    tasks = make_plan(samples, seed, zoo=zoo, holdout=holdout)
    atomic_write_json(plan_file, {**plan_meta, "rows": len(tasks)})
    n_chunks = math.ceil(len(tasks) / chunk_rows)
    chunks = [tasks[k * chunk_rows:(k + 1) * chunk_rows] for k in range(n_chunks)]
    todo = [k for k in range(n_chunks) if not chunk_path(folder, k).is_file()]
    workers = default_jobs() if not n_jobs or n_jobs <= 0 else n_jobs

    from mascot.ui import progress as progress_bar

    with progress_bar(disable=not progress) as bar:
        job = bar.add_task(f"{backend}: evaluating", total=len(tasks), status="")
        bar.update(job, completed=len(tasks) - sum(len(chunks[k]) for k in todo))

        def finish(k: int, frame: pd.DataFrame) -> None:
            write_frame(frame, chunk_path(folder, k))
            failed = int((frame["error"] != "").sum())
            bar.update(job, advance=len(frame), status=f"chunk {k}" + (f", {failed} failed" if failed else ""))
            if on_chunk is not None:
                on_chunk(k, len(frame))

        if dask_address:
            _run_dask(dask_address, backend, chunks, todo, finish)
        elif workers == 1 or len(todo) <= 1:
            for k in todo:
                finish(*_chunk_job(k, backend, chunks[k]))
        else:
            from joblib import Parallel, delayed

            parallel = Parallel(n_jobs=min(workers, len(todo)), return_as="generator_unordered")
            for k, frame in parallel(delayed(_chunk_job)(k, backend, chunks[k]) for k in todo):
                finish(k, frame)
    return folder


def _run_dask(address: str, backend: str, chunks: list[list[Task]], todo: list[int], finish: Callable) -> None:
    from mascot.dask_client import map_unordered

    for _, result in map_unordered(address, _chunk_job, ((k, (k, backend, chunks[k])) for k in todo)):
        finish(*result)


def load_dataset(path: str | Path, *, drop_failed: bool = True) -> pd.DataFrame:
    """All chunks of a data set folder (or one Parquet file) as one frame, in sample order."""
    path = Path(path)
    if path.is_file():
        files = [path]
    elif path.is_dir():
        files = sorted(path.glob("chunk-*.parquet"))
    else:
        raise MascotError("data set not found", path=path,
                          hint="make one with `mascot surrogate dataset -o FOLDER`")
    if not files:
        raise MascotError("the folder holds no chunk-*.parquet files", path=path,
                          hint="make a data set with `mascot surrogate dataset -o FOLDER`")
    try:
        df = pd.concat([pd.read_parquet(f) for f in files], ignore_index=True)
    except Exception as exc:  # noqa: BLE001 - pyarrow errors: not a data set
        raise MascotError(f"cannot read the data set: {exc}", path=path) from None
    missing = [c for c in (*LAYER_COLUMNS, *HARDWARE_COLUMNS, *TARGETS) if c not in df.columns]
    if missing:
        raise MascotError(f"not a surrogate data set: missing column {missing[0]!r}", path=path)
    df = df.sort_values("sample_id", kind="stable").reset_index(drop=True)
    if drop_failed:
        df = df[(df["error"] == "") & df["cycles"].notna()].reset_index(drop=True)
    return df
