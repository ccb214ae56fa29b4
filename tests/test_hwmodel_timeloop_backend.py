"""The ``timeloop`` backend: inputs it writes, its process control, and (where installed) real runs."""

from __future__ import annotations

import shutil
import sys
import time

import pytest

from hwmodel.backends.timeloop import (
    INSTALL_HINT,
    TimeloopBackend,
    mapper_yaml,
    problem_yaml,
    run_capped,
    scale_cost,
)
from hwmodel.cost import LayerCost
from mascot.errors import MascotError
from workloads.layer import Layer, LayerKind

HAVE_TIMELOOP = shutil.which("timeloop-mapper") is not None


def test_without_timeloop_the_error_says_how_to_install(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(MascotError, match="timeloop-mapper.*not found on the PATH") as err:
        TimeloopBackend()
    assert "install Timeloop and Accelergy" in str(err.value)
    with pytest.raises(MascotError, match=f"not found in {tmp_path}"):
        TimeloopBackend(timeloop_bin=tmp_path)
    assert "--timeloop-bin" in INSTALL_HINT


def test_problem_is_timeloop_cnn_layer():
    conv1 = Layer(name="conv1", op_type="Conv", kind=LayerKind.CONV, C=3, M=96, R=11, S=11, P=55, Q=55,
                  stride_h=4, stride_w=4)
    p = problem_yaml(conv1)["problem"]
    assert p["shape"]["name"] == "CNN-Layer"
    assert p["shape"]["dimensions"] == ["C", "M", "R", "S", "N", "P", "Q"]
    assert p["instance"] == {"C": 3, "M": 96, "R": 11, "S": 11, "N": 1, "P": 55, "Q": 55,
                             "Wstride": 4, "Hstride": 4, "Wdilation": 1, "Hdilation": 1}
    inputs = p["shape"]["data-spaces"][1]
    assert inputs["projection"][2] == [["R", "Wdilation"], ["P", "Wstride"]]
    assert p["shape"]["data-spaces"][2]["read-write"] is True
    # one group of a depthwise conv; its cost is scaled by the group count afterwards
    dw = Layer(name="dw", op_type="Conv", kind=LayerKind.CONV, C=32, M=32, R=3, S=3, P=56, Q=56, groups=32,
               stride_h=2, stride_w=1)
    inst = problem_yaml(dw)["problem"]["instance"]
    assert (inst["C"], inst["M"], inst["Wstride"], inst["Hstride"]) == (1, 1, 2, 1)


def test_mapper_config_follows_the_objective():
    m = mapper_yaml("delay", threads=2, timeout=15000, victory_condition=1000, algorithm="random-pruned")["mapper"]
    assert m["optimization-metrics"] == ["delay", "energy"]
    assert (m["num-threads"], m["timeout"], m["victory-condition"], m["algorithm"]) == (2, 15000, 1000, "random-pruned")
    assert mapper_yaml("edp", 1, 1, 1, "linear-pruned")["mapper"]["optimization-metrics"] == ["edp"]
    with pytest.raises(MascotError, match="unknown objective"):
        mapper_yaml("speed", 1, 1, 1, "random-pruned")


def test_groups_scale_the_cost():
    one = LayerCost(cycles=100, energy_pj=10.0, dram_read_bytes=8, dram_write_bytes=4, utilization=0.5,
                    energy_breakdown_pj={"mac": 4.0, "DRAM": 6.0}, mapping="DRAM[WIO]: C3", backend="timeloop")
    g = scale_cost(one, 32)
    assert (g.cycles, g.energy_pj, g.dram_read_bytes, g.dram_write_bytes) == (3200, 320.0, 256, 128)
    assert g.energy_breakdown_pj == {"mac": 128.0, "DRAM": 192.0}
    assert g.utilization == one.utilization and g.mapping == one.mapping
    assert scale_cost(one, 1) is one


def test_wall_cap_interrupts_with_sigint(tmp_path):
    """Past the cap the process gets SIGINT first (Timeloop then writes its best mapping)."""
    script = tmp_path / "search.py"
    script.write_text(
        "import signal, sys, time\n"
        "def stop(*_):\n"
        "    open('best.txt', 'w').write('interrupted')\n"
        "    sys.exit(0)\n"
        "signal.signal(signal.SIGINT, stop)\n"
        "print('searching', flush=True)\n"
        "time.sleep(30)\n"
    )
    log = tmp_path / "stdout.log"
    t0 = time.perf_counter()
    rc = run_capped([sys.executable, str(script)], tmp_path, log, wall_cap_s=1.0)
    assert time.perf_counter() - t0 < 10
    assert rc == 0 and (tmp_path / "best.txt").read_text() == "interrupted"
    assert "searching" in log.read_text()
    # a process ignoring SIGINT is killed after the grace period
    stubborn = tmp_path / "stubborn.py"
    stubborn.write_text("import signal, time\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\ntime.sleep(30)\n")
    rc = run_capped([sys.executable, str(stubborn)], tmp_path, log, wall_cap_s=0.5, grace_s=0.5)
    assert rc != 0


@pytest.mark.timeloop
@pytest.mark.skipif(not HAVE_TIMELOOP, reason="timeloop-mapper is not on the PATH (install Timeloop + Accelergy)")
def test_real_timeloop_small_layer():
    from hwmodel.spec import load_accelerator

    backend = TimeloopBackend(wall_cap_s=60)
    layer = Layer(name="small_3x3", op_type="Conv", kind=LayerKind.CONV, C=32, M=32, R=3, S=3, P=16, Q=16)
    cost = backend.evaluate(layer, load_accelerator("eyeriss_like"))
    assert cost.backend == "timeloop"
    assert cost.cycles >= layer.macs // 168
    assert cost.energy_pj == pytest.approx(sum(cost.energy_breakdown_pj.values()))
    assert cost.mapping.startswith("DRAM[")


@pytest.mark.parametrize("name", ["eyeriss_like", "simba_like", "eyeriss_small", "simba_large"])
def test_exported_yaml_reimports_to_the_same_spec(tmp_path, name):
    """What the backend hands to timeloop-mapper is the SA itself: Timeloop's importer gives it back."""
    from hwmodel.backends.timeloop import _export_arch
    from hwmodel.spec import load_accelerator
    from hwmodel.timeloop_format import import_timeloop

    spec = load_accelerator(name)
    arch, constraints, ert, art = _export_arch(spec, tmp_path)
    assert [p.name for p in (arch, constraints, ert, art)] == ["sa.arch.yaml", "sa.constraints.yaml", "sa.ERT.yaml",
                                                                "sa.ART.yaml"]
    back = import_timeloop(arch, constraints=[constraints], ert=ert, art=art)
    assert back == spec
    assert back.content_hash == spec.content_hash


def test_tables_build_with_timeloop_backend_but_no_timeloop(tmp_path, monkeypatch, capsys):
    """`mascot tables build --backend timeloop` without Timeloop: exit 2 and the install hint."""
    from hwmodel.cost import available_backends
    from mascot.cli import main

    if "timeloop" not in available_backends():
        pytest.skip("the `timeloop` entry point is not registered yet (pyproject + `pip install -e .`)")
    monkeypatch.setenv("PATH", str(tmp_path))
    rc = main(["tables", "build", "--models", "kws", "--accelerators", "eyeriss_like", "--backend", "timeloop",
               "--no-cache", "-o", str(tmp_path / "t.parquet")])
    assert rc == 2
    assert "install Timeloop and Accelergy" in capsys.readouterr().err
