"""The SA → ZigZag conversion (hardware, spatial hints, workload): runs without ZigZag installed,
except the last test, which feeds every shipped SA through ZigZag's own validator."""

from __future__ import annotations

import pytest
import yaml

from hwmodel.spec import load_accelerator
from hwmodel.zigzag_format import (
    UNBOUNDED_WORDS_PER_CYCLE,
    array_dims,
    hardware_dict,
    mapping_list,
    spatial_hints,
    workload_list,
    write_zigzag,
)
from mascot.errors import MascotError
from workloads.layer import Layer, LayerKind

SHIPPED = ["eyeriss_like", "eyeriss_small", "eyeriss_large", "simba_like", "simba_small", "simba_large", "edge_tpu"]


def test_eyeriss_like_array_and_served_dimensions():
    spec = load_accelerator("eyeriss_like")
    dims = array_dims(spec)
    # shared_glb (1) fans out 14 in X to the DummyBuffer row, which fans out 12 in Y to the PEs
    assert [(d.name, d.size, d.axis) for d in dims] == [("D1", 14, "x"), ("D2", 12, "y")]
    hw = hardware_dict(spec)
    assert hw["operational_array"]["sizes"] == [14, 12]
    mems = hw["memories"]
    assert "DummyBuffer" not in mems  # keeps nothing: it is only the D1 fan-out
    assert [mems[n]["served_dimensions"] for n in ("psum_spad", "weights_spad", "ifmap_spad")] == [[], [], []]
    assert mems["shared_glb"]["served_dimensions"] == ["D1", "D2"]
    assert mems["DRAM"]["operands"] == ["I1", "I2", "O"]
    assert mems["shared_glb"]["operands"] == ["I1", "O"]  # the glb bypasses weights
    assert mems["weights_spad"]["size"] == 192 * 16  # bits
    assert hw["operational_array"]["unit_energy"] == pytest.approx(2.20035)


def test_multi_level_fanout_of_simba_and_edge_tpu():
    simba = load_accelerator("simba_like")
    assert [d.size for d in array_dims(simba)] == [16, 4, 4]
    served = {n: m["served_dimensions"] for n, m in hardware_dict(simba)["memories"].items()}
    assert served["PEWeightRegs"] == [] and served["PEAccuBuffer"] == ["D3"]
    assert served["PEInputBuffer"] == ["D2", "D3"] and served["GlobalBuffer"] == ["D1", "D2", "D3"]
    edge = load_accelerator("edge_tpu")
    assert [(d.size, d.axis) for d in array_dims(edge)] == [(64, "x"), (64, "y")]
    for spec in (simba, edge):
        assert prod(d.size for d in array_dims(spec)) == spec.mac_units


def prod(values):
    out = 1
    for v in values:
        out *= v
    return out


def test_spatial_hints_follow_constraints_and_dataflow():
    # eyeriss_like: glb spatial "N=1 C=1 P=1 R=1 S=1" leaves Q, M on X; DummyBuffer's split puts S, C, M on Y
    assert spatial_hints(load_accelerator("eyeriss_like")) == {"D1": ["OX", "K"], "D2": ["FX", "C", "K"]}
    # simba_like: M only on the PE-input-buffer fan-out, C only on the accumulator's
    assert spatial_hints(load_accelerator("simba_like")) == {"D1": ["K", "C"], "D2": ["K"], "D3": ["C"]}
    # edge_tpu's fan-out (param_sram → 64x64) has no constraint: the weight-stationary default
    hints = spatial_hints(load_accelerator("edge_tpu"))
    assert hints["D2"] == ["K"] and "C" in hints["D1"]
    maps = mapping_list(load_accelerator("eyeriss_like"))
    assert [m["name"] for m in maps] == ["default", "Conv", "Gemm"]
    assert maps[0]["memory_operand_links"] == {"O": "O", "W": "I2", "I": "I1"}


@pytest.mark.parametrize("name", SHIPPED)
def test_energy_per_bit_and_bandwidth_are_preserved(name):
    spec = load_accelerator(name)
    mems = hardware_dict(spec)["memories"]
    for lv in spec.levels:
        if not lv.keep:
            continue
        read, write = mems[lv.name]["ports"]
        # ZigZag charges r_cost per access of bandwidth_max bits; mascot per block_size-word vector
        assert mems[lv.name]["r_cost"] / read["bandwidth_max"] == pytest.approx(lv.read_energy_pj / lv.access_bits)
        assert mems[lv.name]["w_cost"] / write["bandwidth_max"] == pytest.approx(lv.write_energy_pj / lv.access_bits)
        expect_bw = (lv.read_bw * lv.word_bits) if lv.read_bw else UNBOUNDED_WORDS_PER_CYCLE * lv.word_bits
        assert read["bandwidth_max"] == max(1, round(expect_bw)) or lv.read_bw is None
        assert read["bandwidth_min"] <= read["bandwidth_max"]


def test_workload_of_a_grouped_strided_conv():
    layer = Layer(name="dw", op_type="Conv", kind=LayerKind.CONV, N=2, C=32, M=64, R=3, S=5, P=14, Q=7,
                  stride_h=2, stride_w=1, dilation_w=2, groups=8)
    [w] = workload_list(layer, word_bits=8)
    sizes = dict(zip(w["loop_dims"], w["loop_sizes"]))
    assert sizes == {"B": 2, "K": 8, "C": 4, "OY": 14, "OX": 7, "FY": 3, "FX": 5}  # one group
    assert w["dimension_relations"] == ["ix=1*ox+2*fx", "iy=2*oy+1*fy"]
    assert w["operand_precision"] == {"W": 8, "I": 8, "O": 8, "O_final": 8}
    assert w["operand_source"] == {"W": 0}  # weights are constant; inputs come from outside
    gemm = Layer(name="fc", op_type="Gemm", kind=LayerKind.MATMUL, C=256, M=10, P=4)
    [g] = workload_list(gemm)
    assert g["operator_type"] == "Gemm" and dict(zip(g["loop_dims"], g["loop_sizes"]))["OY"] == 4


def test_vector_layer_is_refused():
    pool = Layer(name="pool", op_type="MaxPool", kind=LayerKind.VECTOR, input_elements=100, output_elements=25)
    with pytest.raises(MascotError, match="vector layer"):
        workload_list(pool)


def test_write_zigzag_round_trips(tmp_path):
    spec = load_accelerator("eyeriss_small")
    layer = Layer(name="c", op_type="Conv", kind=LayerKind.CONV, C=8, M=16, R=3, S=3, P=8, Q=8)
    files = write_zigzag(spec, tmp_path / "zz", layer)
    assert yaml.safe_load(files["hardware"].read_text()) == hardware_dict(spec)
    assert yaml.safe_load(files["mapping"].read_text()) == mapping_list(spec)
    assert yaml.safe_load(files["workload"].read_text()) == workload_list(layer, spec.word_bits)


@pytest.mark.parametrize("name", SHIPPED)
def test_zigzag_accepts_every_shipped_sa(name):
    pytest.importorskip("zigzag", reason="needs the zigzag extra (pip install 'mascot[zigzag]')")
    from zigzag.parser.accelerator_factory import AcceleratorFactory
    from zigzag.parser.accelerator_validator import AcceleratorValidator

    spec = load_accelerator(name)
    validator = AcceleratorValidator(hardware_dict(spec))
    assert validator.validate(), validator.validator.errors
    acc = AcceleratorFactory(validator.normalized_data).create()
    assert acc.operational_array.total_unit_count == spec.mac_units
