"""The ``zigzag`` backend on a few small layers (ZigZag's LOMA search takes seconds per layer).

Layers are chosen so that the spatial unrolling leaves few temporal loops: LOMA enumerates every
loop order, so a layer with six temporal loops costs minutes on a busy two-core machine.
"""

from __future__ import annotations

import sys

import pytest

from hwmodel.spec import load_accelerator
from mascot.errors import MascotError
from workloads.layer import Layer, LayerKind

pytestmark = pytest.mark.zigzag
zigzag = pytest.importorskip("zigzag", reason="needs the zigzag extra (pip install 'mascot[zigzag]')")

from hwmodel.backends.zigzag import ZigZagBackend, zigzag_version  # noqa: E402

CONV = Layer(name="conv", op_type="Conv", kind=LayerKind.CONV, C=4, M=14, R=3, S=3, P=2, Q=7,
             input_elements=4 * 4 * 9, output_elements=14 * 2 * 7, weight_elements=4 * 14 * 9)
FC = Layer(name="fc", op_type="Gemm", kind=LayerKind.MATMUL, C=64, M=32, P=1,
           input_elements=64, output_elements=32, weight_elements=64 * 32)
WORD_BYTES = 2


@pytest.fixture(scope="module")
def spec():
    return load_accelerator("eyeriss_like")


@pytest.fixture(scope="module")
def backend():
    return ZigZagBackend(spatial_mappings=1)


@pytest.fixture(scope="module")
def conv_cost(backend, spec):
    return backend.evaluate(CONV, spec)


def test_conv_cost_is_physical(conv_cost, spec):
    c = conv_cost
    assert c.backend == "zigzag"
    assert c.cycles >= CONV.macs / spec.mac_units  # no more than the whole array per cycle
    assert 0 < c.utilization <= 1
    assert c.utilization == pytest.approx(CONV.macs / (c.cycles * spec.mac_units))
    # energy: the breakdown is complete and the MACs alone are macs × MAC energy
    assert sum(c.energy_breakdown_pj.values()) == pytest.approx(c.energy_pj)
    assert c.energy_breakdown_pj["mac"] == pytest.approx(CONV.macs * spec.mac_energy_pj)
    assert set(c.energy_breakdown_pj) == {"mac", *(lv.name for lv in spec.levels)}
    assert c.energy_breakdown_pj["DummyBuffer"] == 0.0  # not a ZigZag memory
    # DRAM: every weight and input read at least once, every output written exactly once
    inputs = CONV.C * (CONV.P + CONV.R - 1) * (CONV.Q + CONV.S - 1)
    assert c.dram_read_bytes >= (CONV.C * CONV.M * CONV.R * CONV.S + inputs) * WORD_BYTES
    assert c.dram_write_bytes == CONV.M * CONV.P * CONV.Q * WORD_BYTES
    assert c.mapping.startswith("D1:") and "W: " in c.mapping and "O: " in c.mapping


def test_same_inputs_same_cost(backend, spec, conv_cost):
    assert backend.evaluate(CONV, spec) == conv_cost  # LOMA enumerates: deterministic


def test_grouped_conv_is_groups_times_one_group(backend, spec):
    g = 2
    grouped = Layer(name="gconv", op_type="Conv", kind=LayerKind.CONV, C=4 * g, M=14 * g, R=3, S=3, P=2, Q=7,
                    groups=g)
    one = backend.evaluate(CONV, spec)
    both = backend.evaluate(grouped, spec)
    assert both.cycles == g * one.cycles
    assert both.energy_pj == pytest.approx(g * one.energy_pj)
    assert both.dram_read_bytes == g * one.dram_read_bytes
    assert both.utilization == pytest.approx(one.utilization)


def test_matmul_and_vector_layers(backend, spec):
    fc = backend.evaluate(FC, spec)
    assert fc.dram_read_bytes >= (FC.C * FC.M + FC.C) * WORD_BYTES
    assert fc.dram_write_bytes == FC.M * WORD_BYTES
    pool = Layer(name="pool", op_type="MaxPool", kind=LayerKind.VECTOR, C=8, M=8, P=4, Q=4,
                 input_elements=8 * 64, output_elements=8 * 16, vector_ops=8 * 16 * 9)
    [p, f] = backend.evaluate_many([pool, FC], spec)
    assert p.backend == "analytical" and p.cycles > 0  # ZigZag has no vector ops: the analytical model costs them
    assert f == fc


def test_energy_objective_never_spends_more(spec, conv_cost):
    energy = ZigZagBackend(objective="energy", spatial_mappings=1).evaluate(CONV, spec)
    assert energy.energy_pj <= conv_cost.energy_pj * (1 + 1e-9)


def test_options_and_cache_key():
    b = ZigZagBackend(lpf_limit=5)
    assert b.cache_options()["zigzag"] == zigzag_version() and b.cache_options()["lpf_limit"] == 5
    with pytest.raises(MascotError, match="objective"):
        ZigZagBackend(objective="area")
    with pytest.raises(MascotError, match="lpf_limit"):
        ZigZagBackend(lpf_limit=0)


def test_pickles_for_worker_processes(backend, spec):
    import pickle

    backend.evaluate(FC, spec)  # fills the per-spec ZigZag accelerator cache
    clone = pickle.loads(pickle.dumps(backend))
    assert clone.evaluate(FC, spec) == backend.evaluate(FC, spec)


def test_other_array_shapes(backend):
    """simba_like's three-dimensional array and edge_tpu's narrow host link both convert and run."""
    simba = backend.evaluate(FC, load_accelerator("simba_like"))
    assert simba.mapping.count("D") >= 3 and simba.cycles >= FC.macs / 256
    edge = load_accelerator("edge_tpu")
    tpu = backend.evaluate(FC, edge)
    # ~1.04 words/cycle from host memory: reading the weights alone takes ~1,970 cycles
    assert tpu.cycles >= (FC.C * FC.M) / edge.levels[-1].read_bw * 0.95


def test_registry_name(backend):
    from hwmodel.cost import CostBackend

    assert isinstance(backend, CostBackend) and backend.name == "zigzag"


def test_missing_zigzag_says_how_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "zigzag", None)  # what `import zigzag` sees when it is not installed
    with pytest.raises(MascotError, match="pip install 'mascot\\[zigzag\\]'"):
        ZigZagBackend()


@pytest.mark.slow
def test_alexnet_conv1_on_eyeriss_like_near_timeloop(spec):
    """AlexNet conv1 (C3 M96 11x11 → 55x55, stride 4): ZigZag within 2x of Timeloop's reference run
    (798,600 cycles, 859.66 uJ with Timeloop's own mapper on the same design)."""
    conv1 = Layer(name="conv1", op_type="Conv", kind=LayerKind.CONV, C=3, M=96, R=11, S=11, P=55, Q=55,
                  stride_h=4, stride_w=4)
    c = ZigZagBackend().evaluate(conv1, spec)
    assert 0.5 < c.cycles / 798_600 < 2
    assert 0.5 < c.energy_pj / 859.66e6 < 2
