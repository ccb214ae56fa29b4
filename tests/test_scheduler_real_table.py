"""The simulator on a real layer table (hwmodel.tables) of small zoo models on relmas6."""

from __future__ import annotations

import pytest

from scheduler.policies import get_policy
from scheduler.sim import Simulator
from scheduler.sim.checks import check_invariants
from scheduler.table import Platform, SimTable


@pytest.fixture(scope="module")
def real_table(tmp_path_factory):
    tables = pytest.importorskip("hwmodel.tables")
    from hwmodel.spec import load_system

    system = load_system("relmas6")
    lt = tables.build_table(["kws", "yolo-lite"], system, cache=tmp_path_factory.mktemp("cache"), n_jobs=1, progress=False)
    path = tmp_path_factory.mktemp("t") / "table.parquet"
    lt.save(path)
    from scheduler.table import load_sim_table

    return load_sim_table(path, system)


def test_real_table_binds_to_the_system_instances(real_table: SimTable):
    plat: Platform = real_table.platform
    assert plat.n_sa == 6 and plat.dram_gbps == 16.0
    assert set(plat.class_names) == {"eyeriss_small", "eyeriss_large", "simba_small", "simba_large"}
    assert set(real_table.models) == {"kws", "yolo-lite"}
    for k in range(len(real_table.models)):
        rows = slice(real_table.layer_base[k], real_table.layer_base[k + 1])
        best = real_table.solo_lat_s[rows].min(axis=1)
        # the critical path lies between the slowest single layer and all layers in a row
        assert best.max() <= real_table.isolated_s[k] <= best.sum() * (1 + 1e-12)


def test_policies_on_real_table_respect_invariants(real_table: SimTable):
    from workloads.traces import generate_trace

    trace = generate_trace(["kws", "yolo-lite"], duration_s=0.03, mean_interarrival_s=4e-4, qos="mixed", seed=1).frame
    sla = {}
    for name in ("fcfs-h", "prema-h", "herald", "random"):
        res = Simulator(real_table, trace, get_policy(name), 1e-4, record_dram=True).run()
        assert check_invariants(res, real_table) == []
        sla[name] = res.sla_satisfaction
    assert all(0.0 <= v <= 1.0 for v in sla.values())
