"""Access counting (hwmodel.nest) and mappings (hwmodel.mapping): batch consistency, rules, formats."""

from __future__ import annotations

import numpy as np
import pytest

from hwmodel.mapping import TENSORS, Mapping, mapping_from_timeloop_dict
from hwmodel.nest import MappingBatch, Problem, check_mapping, evaluate_batch, evaluate_mapping
from hwmodel.spec import load_accelerator
from mascot.errors import MascotError
from workloads.layer import Layer, LayerKind

CONV1 = "DRAM[WIO]: Q55 C3 | shared_glb[IO]: P55 M12X | DummyBuffer[]: S11Y | ifmap_spad[I]: - | weights_spad[W]: R11 | psum_spad[O]: M8"
CONV1_PB = Problem(C=3, M=96, R=11, S=11, P=55, Q=55, stride_h=4, stride_w=4)
SMALL_PB = Problem(C=32, M=32, R=3, S=3, P=16, Q=16)
SMALL_MAPPINGS = [
    "DRAM[WIO]: Q2 C8 | shared_glb[IO]: P16 Q8X | DummyBuffer[]: M2Y C2Y S3Y | ifmap_spad[I]: - | weights_spad[W]: R3 C2 | psum_spad[O]: M16",
    "DRAM[WIO]: C4 Q2 | shared_glb[IO]: P16 Q8X | DummyBuffer[]: M4Y C2Y S3Y | ifmap_spad[I]: - | weights_spad[W]: R3 C4 | psum_spad[O]: M8",
    "DRAM[WIO]: M2 C16 | shared_glb[IO]: P16 Q16X | DummyBuffer[]: M2Y S3Y | ifmap_spad[I]: - | weights_spad[W]: R3 C2 | psum_spad[O]: M8",
]


@pytest.fixture(scope="module")
def eyeriss():
    return load_accelerator("eyeriss_like")


def test_batch_equals_one_by_one(eyeriss) -> None:
    maps = [Mapping.from_compact(t) for t in SMALL_MAPPINGS]
    batch = evaluate_batch(SMALL_PB, eyeriss, MappingBatch.from_mappings(maps))
    for i, m in enumerate(maps):
        one = evaluate_mapping(SMALL_PB, eyeriss, m)
        for field in ("reads", "fills", "updates", "tile_words", "level_energy_pj", "cycles", "energy_pj"):
            assert np.array_equal(getattr(batch, field)[i], getattr(one, field)[0]), field


def test_sliding_window_fills_and_first_write(eyeriss) -> None:
    """The README's worked example: AlexNet conv1 on eyeriss_like."""
    res = evaluate_mapping(CONV1_PB, eyeriss, Mapping.from_compact(CONV1))
    names = [lv.name for lv in eyeriss.levels]
    i, o, w = TENSORS.index("Inputs"), TENSORS.index("Outputs"), TENSORS.index("Weights")
    assert res.fills[0, names.index("ifmap_spad"), i] == (11 + 54 * 4) * 3 * 55  # sliding window
    psum = names.index("psum_spad")
    assert res.updates[0, psum, o] == 798600 and res.reads[0, psum, o] == 798600 - 24200  # first write: no read
    assert res.reads[0, names.index("shared_glb"), i] == 37455 * 132 / 12  # M12 multicast
    assert res.updates[0, names.index("DRAM"), o] == 96 * 55 * 55  # DRAM output updates = output size
    assert res.reads[0, names.index("DRAM"), w] == 11 * 11 * 3 * 96 * 55  # weights re-read per Q step
    assert res.cycles[0] == 105415200 // 132


def test_energy_sums_and_units(eyeriss) -> None:
    res = evaluate_mapping(CONV1_PB, eyeriss, Mapping.from_compact(CONV1))
    assert res.energy_pj[0] == pytest.approx(res.level_energy_pj[0].sum() + res.mac_energy_pj[0])
    assert res.level_energy_pj[0] == pytest.approx(res.tensor_energy_pj[0].sum(axis=1))
    assert res.mac_energy_pj[0] == pytest.approx(CONV1_PB.macs * eyeriss.mac_energy_pj)


def test_capacity_and_fanout_flags(eyeriss) -> None:
    too_big = Mapping.from_compact(CONV1.replace("psum_spad[O]: M8", "psum_spad[O]: M8 Q5").replace("Q55 C3", "Q11 C3"))
    res = evaluate_mapping(CONV1_PB, eyeriss, too_big)
    assert not res.capacity_ok[0]  # psum tile 40 words > 16
    wide = Mapping.from_compact(CONV1.replace("M12X", "M24X").replace("psum_spad[O]: M8", "psum_spad[O]: M4"))
    assert not evaluate_mapping(CONV1_PB, eyeriss, wide).fanout_ok[0]  # 24 > 14 columns


def test_bandwidth_throttles_cycles(eyeriss) -> None:
    """A 1 word/cycle global buffer cannot feed conv1's mapping: cycles grow beyond compute."""
    levels = [lv.model_dump() for lv in eyeriss.levels]
    levels[4]["read_bw"] = 0.25
    slow = eyeriss.with_updates(levels=levels)
    m = Mapping.from_compact(CONV1)
    fast_res, slow_res = evaluate_mapping(CONV1_PB, eyeriss, m), evaluate_mapping(CONV1_PB, slow, m)
    glb_reads = slow_res.reads[0, 4].sum()
    assert slow_res.cycles[0] == np.ceil(glb_reads / 0.25) > fast_res.cycles[0]


def test_check_mapping_names_the_dimension(eyeriss) -> None:
    bad = Mapping.from_compact(CONV1.replace("Q55 C3", "Q11 C3"))
    with pytest.raises(ValueError, match="Q: factors multiply to 11, problem has 55"):
        check_mapping(CONV1_PB, eyeriss, bad)


def test_problem_from_grouped_layer() -> None:
    layer = Layer(name="dw", op_type="Conv", kind=LayerKind.CONV, C=32, M=32, R=3, S=3, P=8, Q=8, groups=32)
    pb = Problem.from_layer(layer)
    assert (pb.C, pb.M, pb.groups) == (1, 1, 32)
    assert pb.macs * pb.groups == layer.macs


def test_compact_parse_errors() -> None:
    with pytest.raises(MascotError, match="not DIM<factor>"):
        Mapping.from_compact("DRAM[WIO]: Z5")
    with pytest.raises(MascotError, match="cannot read mapping level"):
        Mapping.from_compact("DRAM WIO Q5")


def test_timeloop_yaml_round_trip(eyeriss) -> None:
    m = Mapping.from_compact(CONV1)
    import yaml

    doc = yaml.safe_load(m.to_timeloop_yaml())
    back = mapping_from_timeloop_dict(doc, [lv.name for lv in eyeriss.levels])
    assert back == m


def test_timeloop_yaml_zero_factor_and_errors(eyeriss) -> None:
    names = [lv.name for lv in eyeriss.levels]
    doc = {"mapping": [
        {"target": "DRAM", "type": "temporal", "factors": "C3 M1 R1 S1 N1 P1 Q0", "permutation": "CQMRSNP"},
        {"target": "shared_glb", "type": "temporal", "factors": "P55", "permutation": "P"},
        {"target": "shared_glb", "type": "spatial", "factors": "M12", "permutation": "M", "split": 1},
        {"target": "DummyBuffer", "type": "spatial", "factors": "S11", "permutation": "S", "split": 0},
        {"target": "weights_spad", "type": "temporal", "factors": "R11"},
        {"target": "psum_spad", "type": "temporal", "factors": "M8"},
        {"target": "shared_glb", "type": "datatype", "keep": ["Inputs", "Outputs"], "bypass": ["Weights"]},
        {"target": "psum_spad", "type": "datatype", "keep": ["Outputs"]},
        {"target": "weights_spad", "type": "datatype", "keep": ["Weights"]},
    ]}
    spec_keep = {lv.name: lv.keep for lv in eyeriss.levels}
    m = mapping_from_timeloop_dict(doc, names, dims=CONV1_PB.dim_map(), default_keep=spec_keep)
    assert m.to_compact() == CONV1  # Q0 = the whole remaining Q; unnamed loops have factor 1
    # without the SA's keep, a level with no datatype entry keeps everything (Timeloop's default)
    assert mapping_from_timeloop_dict(doc, names, dims=CONV1_PB.dim_map()).level("ifmap_spad").keep == TENSORS
    doc["mapping"][0]["target"] = "L2"
    with pytest.raises(MascotError, match=r"mapping\[0\].target 'L2' is not a level"):
        mapping_from_timeloop_dict(doc, names)
