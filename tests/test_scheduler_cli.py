"""``mascot simulate`` / ``mascot compare`` end to end on literal tables written as Parquet."""

from __future__ import annotations

import json

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from mascot.cli import main
from scheduler.sim.synthetic import layer_rows

CLASSES = ("eyeriss_small", "eyeriss_large", "simba_small", "simba_large")


def _write_table(path, system="relmas6"):
    rows = []
    # a chain, a diamond and a single layer, with literal costs per SA class
    rows += layer_rows("chain", [[], [0], [1]], [[2e-4, 1e-4, 3e-4, 1.5e-4]] * 3, [[4, 8, 2, 4]] * 3, [[1e6] * 4] * 3, CLASSES)
    rows += layer_rows("diamond", [[], [0], [0], [1, 2]], [[1e-4, 5e-5, 8e-5, 4e-5]] * 4, [[10, 20, 6, 12]] * 4, [[5e5] * 4] * 4, CLASSES)
    rows += layer_rows("single", [[]], [[3e-5, 2e-5, 6e-5, 3e-5]], [[30, 60, 3, 6]], [[2e5] * 4], CLASSES)
    table = pa.Table.from_pandas(pd.DataFrame(rows), preserve_index=False)
    table = table.replace_schema_metadata({b"mascot.system": system.encode()})
    pq.write_table(table, path)
    return path


def _write_trace(path, models=("chain", "diamond", "single"), qos="mixed"):
    from workloads.traces import generate_trace, save_trace

    save_trace(generate_trace(list(models), duration_s=0.02, mean_interarrival_s=2e-4, qos=qos, seed=0), path)
    return path


def test_simulate_writes_outputs_and_json(tmp_path, capsys):
    table = _write_table(tmp_path / "t.parquet")
    trace = _write_trace(tmp_path / "tr.parquet")
    rc = main(["simulate", "--table", str(table), "--system", "relmas6", "--trace", str(trace), "--policy", "herald",
               "-o", str(tmp_path / "run"), "--check", "--json"])
    assert rc == 0
    out = json.loads(capsys.readouterr().out)
    assert 0.0 <= out["sla_satisfaction"] <= 1.0 and out["invariants_checked"] is True
    sch = pd.read_parquet(tmp_path / "run" / "schedule.parquet")
    assert {"sj", "sa_name", "start_s", "end_s", "stall_s"} <= set(sch.columns) and len(sch)
    assert (tmp_path / "run" / "gantt.png").stat().st_size > 1000
    rc = main(["simulate", "--table", str(table), "--trace", str(trace), "--policy", "fcfs-h"])
    assert rc == 0 and "SLA satisfaction" in capsys.readouterr().out


@pytest.mark.parametrize(
    "args, message",
    [
        (["--policy", "nope"], "unknown policy"),
        (["--system", "relmas6", "--trace", "MISSING"], "not found"),
        (["--period-ms", "0"], "period"),
    ],
)
def test_simulate_user_errors_exit_2(tmp_path, capsys, args, message):
    table = _write_table(tmp_path / "t.parquet")
    trace = _write_trace(tmp_path / "tr.parquet")
    base = ["simulate", "--table", str(table), "--trace", str(trace)]
    if "--trace" in args:
        base = ["simulate", "--table", str(table)]
        args = [a if a != "MISSING" else str(tmp_path / "missing.parquet") for a in args]
    assert main(base + args) == 2
    assert message in capsys.readouterr().err


def test_wrong_system_and_missing_model_are_clear_errors(tmp_path, capsys):
    table = _write_table(tmp_path / "t.parquet", system="othersys")
    trace = _write_trace(tmp_path / "tr.parquet")
    assert main(["simulate", "--table", str(table), "--system", "relmas6", "--trace", str(trace)]) == 2
    assert "built for system 'othersys'" in capsys.readouterr().err
    table = _write_table(tmp_path / "t2.parquet")
    trace = _write_trace(tmp_path / "tr2.parquet", models=("chain", "resnet50"))
    assert main(["simulate", "--table", str(table), "--trace", str(trace)]) == 2
    assert "resnet50" in capsys.readouterr().err


def test_compare_small_study_with_sweep(tmp_path, capsys):
    table = _write_table(tmp_path / "t.parquet")
    out = tmp_path / "res"
    rc = main(["compare", "--table", str(table), "--system", "relmas6", "--workloads", "chain+diamond+single", "--qos", "low,high",
               "--policies", "fcfs-h,herald,magma", "--seeds", "2", "--magma-budget", "6x2",
               "--interarrival-ms", "0.2", "--duration-scale", "0.01", "--dram-gbps", "4,16", "-o", str(out), "--json"])
    assert rc == 0, capsys.readouterr().err
    doc = json.loads(capsys.readouterr().out)
    assert len(doc["sla_satisfaction"]) == 2
    df = pd.read_csv(out / "results.csv")
    assert len(df) == 2 * 2 * 3 and set(df["policy"]) == {"fcfs-h", "herald", "magma"}
    sweep = pd.read_csv(out / "sweep.csv")
    assert sorted(sweep["dram_gbps"].unique()) == [4.0, 16.0]
    assert "SLA satisfaction" in (out / "summary.md").read_text()
    assert (out / "sla.png").exists() and (out / "sweep.png").exists()
