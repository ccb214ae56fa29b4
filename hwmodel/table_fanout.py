"""Fan-out of a layer table's cache misses: unique (SA class, layer shape) evaluations in parallel.

:func:`hwmodel.tables.build_table` decides *what* to evaluate (one task per distinct layer shape
and SA class, minus the cache hits); this module decides *where*: in this process, over local
processes (joblib), or on a Dask cluster. It knows nothing of tables, caches or DataFrames, so
the same fan-out can serve any caller with (task, layer) pairs and a cost backend.

Why chunks of one SA class each: a backend arriving in a worker warms up per SA spec (mapspace
tables), so a chunk that mixes SA classes would pay that warm-up several times. Within a class,
layers are dealt round-robin by MACs so that chunks carry similar work, and the heaviest chunks
go first so that the last worker does not start the longest chunk.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable

from mascot.dask_client import CONNECT_TIMEOUT_S
from mascot.errors import MascotError
from workloads.layer import Layer

from hwmodel.cost import CostBackend, LayerCost
from hwmodel.spec import AcceleratorSpec

DASK_CONNECT_TIMEOUT_S = CONNECT_TIMEOUT_S  # how long to wait for a Dask scheduler before giving up
MIN_PARALLEL_MAC_TASKS = 16  # below this, starting worker processes costs more than it saves

Task = tuple[str, tuple]  # (SA class name, layer shape key)
Chunk = list[tuple[Task, Layer]]  # tasks of one SA class, evaluated by one worker call


def _evaluate_chunk(backend: CostBackend, spec: AcceleratorSpec, layers: list[Layer]) -> list[LayerCost]:
    """Worker body (top level so processes and Dask workers can unpickle it)."""
    return list(backend.evaluate_many(layers, spec))


def make_chunks(tasks: list[tuple[Task, Layer]], workers: int) -> list[Chunk]:
    """Group ``tasks`` by SA class into chunks of similar work, heaviest chunk first."""
    size = chunk_size(len(tasks), workers)
    by_sa: dict[str, Chunk] = {}
    for task, layer in tasks:
        by_sa.setdefault(task[0], []).append((task, layer))
    chunks: list[Chunk] = []
    for items in by_sa.values():  # deal the biggest layers round-robin: chunks of similar work
        items = sorted(items, key=lambda item: -item[1].macs)
        n = math.ceil(len(items) / size)
        chunks.extend(items[k::n] for k in range(n))
    chunks.sort(key=lambda c: -sum(layer.macs for _, layer in c))  # longest first
    return chunks


def evaluate_tasks(
    backend: CostBackend,
    tasks: list[tuple[Task, Layer]],
    specs: dict[str, AcceleratorSpec],
    n_jobs: int | None,
    dask_address: str | None,
    progress: bool,
    on_done: Callable[[dict[Task, LayerCost]], None],
) -> None:
    """Evaluate ``tasks`` in chunks of one SA class; ``on_done({task: cost})`` after each chunk.

    ``specs`` maps each SA class name of the tasks to its spec. ``n_jobs`` None or <= 0 means
    every core; ``dask_address`` sends the chunks to that Dask scheduler instead.
    """
    workers = default_jobs() if n_jobs is None or n_jobs <= 0 else n_jobs
    chunks = make_chunks(tasks, workers)
    mac_tasks = sum(1 for _, layer in tasks if layer.is_mac)  # vector layers cost microseconds

    from mascot.ui import progress as progress_bar

    with progress_bar(transient=True, disable=not progress) as bar:
        job = bar.add_task(f"{backend.name}: evaluating", total=len(tasks), status="")

        def finish(chunk: Chunk, results: list[LayerCost]) -> None:
            if len(results) != len(chunk):
                raise MascotError(f"backend {backend.name!r} returned {len(results)} costs for {len(chunk)} layers")
            on_done({task: cost for (task, _), cost in zip(chunk, results)})
            bar.update(job, advance=len(chunk), status=chunk[0][0][0])

        if dask_address:
            _run_dask(backend, chunks, specs, dask_address, finish)
        elif workers == 1 or len(chunks) == 1 or mac_tasks < MIN_PARALLEL_MAC_TASKS:
            for chunk in chunks:
                finish(chunk, _evaluate_chunk(backend, specs[chunk[0][0][0]], [layer for _, layer in chunk]))
        else:
            from joblib import Parallel, delayed

            parallel = Parallel(n_jobs=min(workers, len(chunks)), return_as="generator_unordered")
            calls = (
                delayed(_indexed)(i, backend, specs[c[0][0][0]], [layer for _, layer in c]) for i, c in enumerate(chunks)
            )
            for i, results in parallel(calls):
                finish(chunks[i], results)


def _indexed(i: int, backend: CostBackend, spec: AcceleratorSpec, layers: list[Layer]) -> tuple[int, list[LayerCost]]:
    """Worker body that says which chunk it did (joblib yields results unordered)."""
    return i, _evaluate_chunk(backend, spec, layers)


def _run_dask(backend: CostBackend, chunks: list[Chunk], specs: dict[str, AcceleratorSpec], address: str,
              finish: Callable[[Chunk, list[LayerCost]], None]) -> None:
    """Chunks as Dask futures; the backend is scattered once (it can be large, e.g. a surrogate)."""
    from mascot.dask_client import map_unordered

    calls = ((i, (specs[c[0][0][0]], [layer for _, layer in c])) for i, c in enumerate(chunks))
    for i, results in map_unordered(address, _evaluate_chunk, calls, shared=backend, timeout_s=DASK_CONNECT_TIMEOUT_S):
        finish(chunks[i], results)


def default_jobs() -> int:
    """All cores this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


def chunk_size(n_tasks: int, n_workers: int) -> int:
    """Small enough to balance load and move the progress bar, big enough to amortise dispatch.

    At least 8: a backend arriving in a worker warms up per SA spec (mapspace tables), which
    costs as much as several evaluations.
    """
    return max(8, min(64, math.ceil(n_tasks / max(1, n_workers * 4))))
