"""The fan-out of a layer table's cache misses (:mod:`hwmodel.table_fanout`), on its own.

``test_hwmodel_tables*.py`` drive it through :func:`hwmodel.tables.build_table`; these tests pin
what the split out of ``hwmodel.tables`` must keep: the old import path, and how tasks are dealt
into chunks (one SA class per chunk, every task once, heaviest chunk first).
"""

from __future__ import annotations

import pytest

import hwmodel.table_fanout as fanout
import hwmodel.tables as tables
from hwmodel.cost import LayerCost
from hwmodel.spec import load_accelerator
from mascot.errors import MascotError
from workloads.layer import Layer, LayerKind


def _conv(i: int) -> Layer:
    return Layer(name=f"conv{i}", op_type="Conv", kind=LayerKind.CONV, C=8 * (1 + i % 5), M=16, R=3, S=3,
                 P=4 + i, Q=4 + i, input_elements=1, output_elements=1, weight_elements=1)


def _tasks(sa_names: list[str], n: int) -> list[tuple[fanout.Task, Layer]]:
    layers = [_conv(i) for i in range(n)]
    return [((sa, layer.shape_key), layer) for sa in sa_names for layer in layers]


def test_old_import_path_still_works():
    for name in ("evaluate_tasks", "default_jobs", "chunk_size", "Task", "DASK_CONNECT_TIMEOUT_S",
                 "MIN_PARALLEL_MAC_TASKS"):
        assert getattr(tables, name) is getattr(fanout, name), name
        assert name in tables.__all__


@pytest.mark.parametrize("n_tasks, workers", [(1, 1), (40, 2), (300, 2), (10_000, 16)])
def test_chunk_size_bounds(n_tasks, workers):
    size = fanout.chunk_size(n_tasks, workers)
    assert 8 <= size <= 64
    assert size >= -(-n_tasks // (workers * 4)) or size == 64


@pytest.mark.parametrize("n_layers, workers", [(5, 1), (37, 2), (200, 4)])
def test_chunks_cover_every_task_once_one_sa_class_each(n_layers, workers):
    tasks = _tasks(["sa_a", "sa_b"], n_layers)
    chunks = fanout.make_chunks(tasks, workers)
    dealt = [task for chunk in chunks for task, _ in chunk]
    assert sorted(dealt) == sorted(task for task, _ in tasks)
    size = fanout.chunk_size(len(tasks), workers)
    for chunk in chunks:
        assert len({task[0] for task, _ in chunk}) == 1
        assert 0 < len(chunk) <= size
    work = [sum(layer.macs for _, layer in chunk) for chunk in chunks]
    assert work == sorted(work, reverse=True)


class _ShortBackend:
    """A backend that loses a result: the fan-out must say so instead of mis-assigning costs."""

    name = "short-test"
    version = "1"

    def evaluate(self, layer: Layer, accelerator) -> LayerCost:  # type: ignore[no-untyped-def]
        return LayerCost(cycles=1, energy_pj=1.0, dram_read_bytes=0, dram_write_bytes=0, utilization=0.0,
                         energy_breakdown_pj={}, mapping="", backend=self.name)

    def evaluate_many(self, layers, accelerator):  # type: ignore[no-untyped-def]
        return [self.evaluate(layer, accelerator) for layer in layers][:-1]


def test_a_backend_that_drops_results_is_an_error():
    spec = load_accelerator("eyeriss_small")
    tasks = _tasks([spec.name], 3)
    done: dict = {}
    with pytest.raises(MascotError, match="returned 2 costs for 3 layers"):
        fanout.evaluate_tasks(_ShortBackend(), tasks, {spec.name: spec}, n_jobs=1, dask_address=None,
                              progress=False, on_done=done.update)
    assert done == {}
