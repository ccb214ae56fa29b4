"""Layer-table machinery: dedup of shapes, the disk cache, files, parallel and Dask fan-out.

These tests drive :func:`hwmodel.tables.build_table` through the ``CostBackend`` protocol with a
small roofline backend that counts its evaluations (the point is to check *how often* a backend
is called); ``test_hwmodel_tables_analytical.py`` runs the real analytical backend.
"""

from __future__ import annotations

import json
import math
import threading

import pandas as pd
import pytest

from hwmodel.cache import CostCache, cost_key, default_cache_dir
from hwmodel.cost import LayerCost
from hwmodel.spec import AcceleratorSpec
from hwmodel.tables import COLUMNS, LayerTable, build_table
from mascot.errors import MascotError
from workloads.graph import LayerGraph
from workloads.layer import Layer, LayerKind


def _sa(name: str, pes: int, clock_ghz: float = 1.0) -> AcceleratorSpec:
    return AcceleratorSpec.model_validate({
        "name": name, "dataflow": "weight_stationary", "clock_ghz": clock_ghz,
        "pe_array": {"x": pes, "y": 1}, "macs_per_pe": 1,
        "levels": [
            {"name": "buf", "kind": "sram", "size_words": 4096, "read_energy_pj": 1.0, "write_energy_pj": 1.0},
            {"name": "DRAM", "kind": "dram", "block_size": 4, "read_energy_pj": 128.0, "write_energy_pj": 128.0},
        ],
    })


class RooflineBackend:
    """cycles = max(MACs / MAC units, bytes / 8 B/cycle); counts what it is asked (thread-safe)."""

    name = "roofline-test"
    version = "1"

    def __init__(self) -> None:
        self.calls = 0
        self._lock = threading.Lock()

    def evaluate(self, layer: Layer, accelerator: AcceleratorSpec) -> LayerCost:
        with self._lock:
            self.calls += 1
        elems = layer.input_elements + layer.output_elements + layer.weight_elements
        work = layer.macs / accelerator.mac_units if layer.is_mac else layer.vector_ops / accelerator.mac_units
        cycles = max(1, math.ceil(max(work, 2 * elems / 8)))
        energy = {"mac": 2.0 * layer.macs, "DRAM": 16.0 * elems}
        return LayerCost(
            cycles=cycles, energy_pj=sum(energy.values()),
            dram_read_bytes=2 * (layer.input_elements + layer.weight_elements),
            dram_write_bytes=2 * layer.output_elements,
            utilization=layer.macs / (cycles * accelerator.mac_units),
            energy_breakdown_pj=energy, mapping=f"DRAM[WIO]: M{layer.M}", backend=self.name,
        )

    def evaluate_many(self, layers: list[Layer], accelerator: AcceleratorSpec) -> list[LayerCost]:
        return [self.evaluate(layer, accelerator) for layer in layers]


def _conv(name: str, c: int, m: int, p: int) -> Layer:
    return Layer(name=name, op_type="Conv", kind=LayerKind.CONV, C=c, M=m, R=3, S=3, P=p, Q=p,
                 input_elements=c * (p + 2) ** 2, output_elements=m * p * p, weight_elements=c * m * 9)


def _model(name: str) -> LayerGraph:
    """conv → (conv_a, conv_b with the same shape) → add: two layers share a shape key."""
    layers = [
        _conv("conv0", 3, 16, 32),
        _conv("conv_a", 16, 16, 32),
        _conv("conv_b", 16, 16, 32),
        Layer(name="add", op_type="Add", kind=LayerKind.VECTOR, input_elements=2 * 16 * 32 * 32,
              output_elements=16 * 32 * 32, vector_ops=16 * 32 * 32),
    ]
    edges = [("conv0", "conv_a"), ("conv0", "conv_b"), ("conv_a", "add"), ("conv_b", "add")]
    return LayerGraph.from_layers(name, layers, edges)


SAS = [_sa("small", 16), _sa("big", 64, clock_ghz=0.5)]


def test_rows_columns_and_dedup(tmp_path):
    backend = RooflineBackend()
    table = build_table([_model("net1"), _model("net2")], SAS, backend=backend, cache=tmp_path, progress=False, n_jobs=1)
    df = table.frame
    assert tuple(df.columns) == COLUMNS
    assert len(df) == 2 * 4 * 2  # models × layers × SA classes
    # 3 distinct shapes (conv0, conv_a == conv_b, add) × 2 SA classes, across both models
    assert backend.calls == 6
    net1 = df[(df.model == "net1") & (df.sa_class == "small")]
    assert list(net1.layer) == ["conv0", "conv_a", "conv_b", "add"]
    assert list(net1.layer_index) == [0, 1, 2, 3]
    assert [list(p) for p in net1.preds] == [[], [0], [0], [1, 2]]
    assert list(net1.kind) == ["conv", "conv", "conv", "vector"]
    row = df[(df.model == "net1") & (df.layer == "conv_a") & (df.sa_class == "big")].iloc[0]
    assert row.macs == 16 * 16 * 9 * 32 * 32
    assert row.cycles == math.ceil(row.macs / 64)
    assert row.latency_s == pytest.approx(row.cycles / 0.5e9)
    assert row.dram_bytes == row.dram_read_bytes + row.dram_write_bytes
    assert row.bw_bytes_per_cycle == pytest.approx(row.dram_bytes / row.cycles)
    assert row.bw_gbps == pytest.approx(row.bw_bytes_per_cycle * 0.5)
    assert json.loads(row.energy_breakdown) == {"mac": 2.0 * row.macs, "DRAM": pytest.approx(row.energy_pj - 2.0 * row.macs)}
    assert row.backend == "roofline-test"
    meta = table.metadata
    assert meta["mascot.backend"] == "roofline-test"
    assert json.loads(meta["mascot.sa_classes"]) == ["small", "big"]
    assert meta["mascot.sa_hash.small"] == SAS[0].resolved().content_hash


def test_second_build_hits_the_cache(tmp_path):
    first = RooflineBackend()
    t1 = build_table([_model("net1")], SAS, backend=first, cache=tmp_path, progress=False, n_jobs=1)
    second = RooflineBackend()
    t2 = build_table([_model("net1")], SAS, backend=second, cache=tmp_path, progress=False, n_jobs=1)
    assert first.calls == 6 and second.calls == 0
    pd.testing.assert_frame_equal(t1.frame, t2.frame)
    # a changed SA spec is a different key: only that class is evaluated again
    changed = [SAS[0], _sa("big", 128, clock_ghz=0.5)]
    third = RooflineBackend()
    build_table([_model("net1")], changed, backend=third, cache=tmp_path, progress=False, n_jobs=1)
    assert third.calls == 3
    # no cache: everything again, nothing written
    before = len(CostCache(tmp_path))
    fourth = RooflineBackend()
    build_table([_model("net1")], SAS, backend=fourth, cache=False, progress=False, n_jobs=1)
    assert fourth.calls == 6 and len(CostCache(tmp_path)) == before


def test_cache_key_covers_every_input():
    base = cost_key("analytical", "1", {"objective": "delay"}, "abc", (1, 2))
    assert base == cost_key("analytical", "1", {"objective": "delay"}, "abc", (1, 2))
    assert len({base,
                cost_key("timeloop", "1", {"objective": "delay"}, "abc", (1, 2)),
                cost_key("analytical", "2", {"objective": "delay"}, "abc", (1, 2)),
                cost_key("analytical", "1", {"objective": "edp"}, "abc", (1, 2)),
                cost_key("analytical", "1", {"objective": "delay"}, "abd", (1, 2)),
                cost_key("analytical", "1", {"objective": "delay"}, "abc", (1, 3))}) == 6


def test_cache_dir_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("MASCOT_CACHE_DIR", str(tmp_path / "explicit"))
    assert default_cache_dir() == tmp_path / "explicit"
    monkeypatch.delenv("MASCOT_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert default_cache_dir() == tmp_path / "xdg" / "mascot"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert default_cache_dir() == tmp_path / "home" / ".cache" / "mascot"


def test_cache_concurrent_writers(tmp_path):
    """Several connections writing at once (as parallel builds do) lose nothing."""
    cost = LayerCost(cycles=10, energy_pj=1.5, dram_read_bytes=4, dram_write_bytes=2, utilization=0.5,
                     energy_breakdown_pj={"mac": 1.5}, mapping="m", backend="b")

    def writer(w: int) -> None:
        with CostCache(tmp_path) as c:
            for batch in range(10):
                c.put_many({f"{w}-{batch}-{i}": cost for i in range(20)})

    threads = [threading.Thread(target=writer, args=(w,)) for w in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    with CostCache(tmp_path) as c:
        assert len(c) == 4 * 10 * 20
        assert c.get_many(["3-9-19", "missing"]) == {"3-9-19": cost}


@pytest.mark.parametrize("suffix", [".parquet", ".csv"])
def test_save_load_round_trip(tmp_path, suffix):
    table = build_table([_model("net1")], SAS, backend=RooflineBackend(), cache=False, progress=False, n_jobs=1)
    path = table.save(tmp_path / f"t{suffix}")
    back = LayerTable.load(path)
    assert back.metadata == table.metadata
    pd.testing.assert_frame_equal(back.frame, table.frame, check_dtype=False)
    assert isinstance(back.frame.preds.iloc[-1], list)
    summary = back.summary()
    assert set(summary.sa_class) == {"small", "big"}
    small = summary[summary.sa_class == "small"].iloc[0]
    assert small.latency_ms == pytest.approx(table.for_model("net1").query("sa_class == 'small'").latency_s.sum() * 1e3)


def test_load_rejects_files_that_are_not_tables(tmp_path):
    other = tmp_path / "other.parquet"
    pd.DataFrame({"model": ["x"], "cycles": [1]}).to_parquet(other)
    with pytest.raises(MascotError, match=r"other\.parquet.*missing column 'layer_index'"):
        LayerTable.load(other)
    garbage = tmp_path / "garbage.parquet"
    garbage.write_text("not parquet")
    with pytest.raises(MascotError, match="garbage.parquet"):
        LayerTable.load(garbage)
    with pytest.raises(MascotError, match="not found"):
        LayerTable.load(tmp_path / "absent.parquet")
    with pytest.raises(MascotError, match="unsupported table format"):
        build_table([_model("n")], SAS, backend=RooflineBackend(), cache=False, progress=False).save(tmp_path / "t.xlsx")


def test_duplicate_model_names_are_an_error():
    with pytest.raises(MascotError, match="unique"):
        build_table([_model("same"), _model("same")], SAS, backend=RooflineBackend(), cache=False, progress=False)


def test_dask_cluster(tmp_path):
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=1, threads_per_worker=2, processes=False, dashboard_address=None) as cluster:
        backend = RooflineBackend()
        local = build_table([_model("net1")], SAS, backend=RooflineBackend(), cache=False, progress=False, n_jobs=1)
        remote = build_table([_model("net1")], SAS, backend=backend, cache=tmp_path, progress=False,
                             dask_address=cluster.scheduler_address)
    pd.testing.assert_frame_equal(local.frame, remote.frame)
    assert len(CostCache(tmp_path)) == 6


def test_unreachable_dask_scheduler_is_a_user_error(monkeypatch):
    monkeypatch.setattr("hwmodel.table_fanout.DASK_CONNECT_TIMEOUT_S", 1)  # the fan-out reads it
    with pytest.raises(MascotError, match="Dask scheduler"):
        build_table([_model("net1")], SAS, backend=RooflineBackend(), cache=False, progress=False,
                    dask_address="tcp://127.0.0.1:9")
