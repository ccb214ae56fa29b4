"""Accelerator / system specs: bundled YAML, resolution, instances, hashes and error messages."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from hwmodel.spec import (
    AcceleratorSpec,
    Constraint,
    SAGroup,
    SystemSpec,
    accelerator_from_dict,
    list_specs,
    load_accelerator,
    load_system,
)
from mascot.errors import MascotError

TABLE1 = ("eyeriss_small", "eyeriss_large", "simba_small", "simba_large")


@pytest.mark.parametrize("name", list_specs("accelerators"))
def test_every_bundled_accelerator_validates_and_resolves(name):
    spec = load_accelerator(name)
    assert spec.is_resolved
    assert spec.levels[-1].kind == "dram"
    assert spec.area_mm2 > 0 and spec.static_power_mw > 0 and spec.mac_energy_pj > 0
    assert all(lv.read_energy_pj >= 0 and lv.write_energy_pj >= 0 for lv in spec.levels)
    assert spec.resolved() == spec  # idempotent


@pytest.mark.parametrize("name", list_specs("systems"))
def test_every_bundled_system_validates(name):
    system = load_system(name)
    assert len(system.instances()) == system.n_instances > 0


def test_table1_classes_match_relmas():
    expect = {
        "eyeriss_small": ("row_stationary", 256, 1, 64 * 1024, 16),
        "eyeriss_large": ("row_stationary", 512, 1, 64 * 1024, 16),
        "simba_small": ("weight_stationary", 16, 16, 32 * 1024, 8),
        "simba_large": ("weight_stationary", 32, 16, 64 * 1024, 8),
    }
    for name, (dataflow, pes, macs, glb_bytes, bits) in expect.items():
        s = load_accelerator(name)
        assert (s.dataflow, s.pe_array.count, s.macs_per_pe, s.word_bits, s.clock_ghz) == (dataflow, pes, macs, bits, 1.0)
        glb = s.levels[-2]
        assert glb.size_bytes == glb_bytes and glb.kind == "sram"
        if dataflow == "row_stationary":
            assert [(lv.name, lv.size_words) for lv in s.levels[:3]] == [("psum_spad", 16), ("weights_spad", 192), ("ifmap_spad", 12)]
        else:  # 24 KiB of PE buffers (registers aside)
            per_pe = sum(lv.size_bytes * lv.instances for lv in s.levels[1:4]) / s.pe_array.count
            assert abs(per_pe - 24 * 1024) <= 8


def test_timeloop_examples_as_specified():
    ey = load_accelerator("eyeriss_like")
    assert (ey.pe_array.x, ey.pe_array.y) == (14, 12)
    glb = ey.level("shared_glb")
    assert (glb.size_words, glb.block_size, glb.read_bw, glb.read_energy_pj, glb.write_energy_pj) == (65536, 4, 16, 74.1442, 75.2148)
    assert ey.level("DummyBuffer").instances == 14 and ey.level("DummyBuffer").keep == ()
    assert [ey.level(n).size_words for n in ("ifmap_spad", "weights_spad", "psum_spad")] == [12, 192, 16]
    assert ey.mac_energy_pj == 2.20035 and ey.dram.read_energy_pj == 512
    sb = load_accelerator("simba_like")
    assert sb.mac_units == 256 and sb.word_bits == 8 and sb.mac_energy_pj == 0.5608
    assert sb.level("PEInputBuffer").read_energy_pj == 97.18672
    assert sb.level("GlobalBuffer").write_energy_pj == 182.7858


def test_relmas6_instances_and_figures():
    system = load_system("relmas6")
    inst = system.instances()
    assert [i.name for i in inst] == [
        "eyeriss_small_0", "eyeriss_small_1", "eyeriss_large_0", "simba_small_0", "simba_small_1", "simba_large_0",
    ]
    assert [i.class_name for i in inst][:3] == ["eyeriss_small", "eyeriss_small", "eyeriss_large"]
    name, cls, spec = inst[0]  # tuple-like
    assert spec.is_resolved and cls == "eyeriss_small"
    assert (system.dram_gbps, system.dram_energy_pj_per_bit, system.nop_gbps, system.nop_energy_pj_per_bit) == (16, 8, 100, 1.3)
    assert system.dram_bytes_per_cycle(1.0) == 16.0 and system.dram_bytes_per_cycle(0.5) == 32.0
    assert "our reading" in system.notes
    assert set(system.classes()) == set(TABLE1)


def test_system_hash_is_stable_and_sensitive():
    a, b = load_system("relmas6"), load_system("relmas6")
    assert a.content_hash == b.content_hash
    more_bw = SystemSpec.model_validate({**a.model_dump(), "dram_gbps": 32.0})
    assert more_bw.content_hash != a.content_hash
    groups = [g.model_dump() for g in a.accelerators]
    groups[0]["count"] = 3
    assert SystemSpec.model_validate({**a.model_dump(), "accelerators": groups}).content_hash != a.content_hash


def test_new_sa_by_changing_sizes_only():
    base = load_accelerator("eyeriss_small", resolve=False).model_dump()
    base["name"] = "eyeriss_big_glb"
    glb = next(lv for lv in base["levels"] if lv["name"] == "shared_glb")
    glb["size_words"] *= 4
    bigger = accelerator_from_dict(base)
    small = load_accelerator("eyeriss_small")
    assert bigger.level("shared_glb").read_energy_pj > small.level("shared_glb").read_energy_pj
    assert bigger.area_mm2 > small.area_mm2 and bigger.static_power_mw > small.static_power_mw
    assert bigger.content_hash != small.content_hash


def test_inline_spec_group_for_dse():
    spec = load_accelerator("simba_small")
    system = SystemSpec(name="one", accelerators=(SAGroup(accelerator="custom", count=2, spec=spec, name="x"),), dram_gbps=8)
    assert [i.name for i in system.instances()] == ["x_0", "x_1"]


def test_merged_constraints_and_factor_forms():
    ey = load_accelerator("eyeriss_like")
    merged = ey.merged_constraints("temporal")
    assert merged["DummyBuffer"].permutation == tuple("NMCPQRS") and merged["DummyBuffer"].factors["M"] == 1
    assert "DRAM" not in ey.merged_constraints("temporal", include_mapspace=False)
    assert merged["weights_spad"].factors["R"] == 0
    assert Constraint(target="x", type="temporal", factors="C1 M2 R=3").factor_map() == {"C": 1, "M": 2, "R": 3}


# --- errors -----------------------------------------------------------------------------------


def _write(tmp_path: Path, data: dict, name: str = "bad.yaml") -> Path:
    p = tmp_path / name
    p.write_text(yaml.safe_dump(data, sort_keys=False))
    return p


def _base() -> dict:
    return load_accelerator("eyeriss_small", resolve=False).model_dump(mode="json", exclude_none=True)


def _expect(tmp_path, data, *patterns):
    p = _write(tmp_path, data)
    with pytest.raises(MascotError) as info:
        load_accelerator(p)
    msg = str(info.value)
    assert str(p) in msg
    for pat in patterns:
        assert pat in msg, msg


def _with(data: dict, changes: dict[str, object]) -> dict:
    """``data`` with each dotted path (``levels.1.size_words``; numbers index lists) set to its value."""
    for path, value in changes.items():
        *parents, last = (int(k) if k.isdigit() else k for k in path.split("."))
        node = data
        for key in parents:
            node = node[key]
        node[last] = value
    return data


# (case, changes to the eyeriss_small spec, what the error must say besides the file name)
SPEC_ERRORS = [
    ("negative-size", {"levels.1.size_words": -5}, ("levels[1] (weights_spad).size_words", "greater than or equal to 0")),
    ("unknown-tensor", {"levels.0.keep": ["Psums"]}, ("levels[0] (psum_spad).keep", "Weights")),
    ("target-not-a-level", {"constraints.0.target": "nowhere"}, ("'nowhere' is not a level",)),
    ("bad-factor", {"constraints.0.factors": "X=1"}, ("constraints[0] (DummyBuffer).factors", "unknown dimension 'X'")),
    ("bad-permutation", {"constraints.0.permutation": "NPQZ"}, ("constraints[0] (DummyBuffer).permutation", "unknown dimensions")),
    ("fan-out", {"levels.0.instances": 96, "levels.0.mesh_x": 8}, ("not a multiple",)),
    ("mesh", {"levels.0.instances": 100}, ("levels[0] (psum_spad)", "mesh_x 16 does not divide instances 100")),
    ("unknown-field", {"levels.0.sise_words": 3}, ("levels[0] (psum_spad).sise_words", "Extra inputs are not permitted")),
]


@pytest.mark.parametrize("changes,patterns", [c[1:] for c in SPEC_ERRORS], ids=[c[0] for c in SPEC_ERRORS])
def test_spec_errors_name_file_level_and_field(tmp_path, changes, patterns):
    _expect(tmp_path, _with(_base(), changes), *patterns)


def test_missing_dram_level(tmp_path):
    d = _base()
    d["levels"] = d["levels"][:-1]
    _expect(tmp_path, d, "field levels", "must be kind: dram")


def test_yaml_and_file_errors(tmp_path):
    broken = tmp_path / "broken.yaml"
    broken.write_text("name: [unclosed\n")
    with pytest.raises(MascotError, match="broken.yaml: not valid YAML"):
        load_accelerator(broken)
    with pytest.raises(MascotError, match="unknown accelerator 'nope'"):
        load_accelerator("nope")
    with pytest.raises(MascotError, match="missing.yaml: file not found"):
        load_accelerator(tmp_path / "missing.yaml")


def test_system_errors_name_file_and_group(tmp_path):
    p = _write(tmp_path, {"name": "s", "accelerators": [{"accelerator": "nope", "count": 1}], "dram_gbps": 16}, "sys.yaml")
    with pytest.raises(MascotError, match=r"sys\.yaml: field accelerators\[0\]\.accelerator 'nope'"):
        load_system(p)
    p = _write(tmp_path, {"name": "s", "accelerators": [{"accelerator": "eyeriss_small"}], "dram_gbps": -1}, "sys2.yaml")
    with pytest.raises(MascotError, match=r"sys2\.yaml.*field dram_gbps"):
        load_system(p)
    acc = _write(tmp_path, _base(), "mine.yaml")
    p = _write(tmp_path, {"name": "s", "accelerators": [{"accelerator": "mine.yaml", "count": 2}], "dram_gbps": 16}, "sys3.yaml")
    assert [i.name for i in load_system(p).instances()] == ["eyeriss_small_0", "eyeriss_small_1"]
    assert acc.exists()


def test_spec_is_frozen():
    spec = load_accelerator("eyeriss_small")
    with pytest.raises(Exception):
        spec.name = "x"  # type: ignore[misc]
    assert isinstance(spec, AcceleratorSpec)


def test_variant_scales_levels_with_the_pe_array():
    small = load_accelerator("eyeriss_small")
    big = small.variant(name="eyeriss_32x16", pe_x=32, pe_y=16, sizes_words={"shared_glb": 65536})
    assert big.pe_array.count == 512 and big.level("psum_spad").instances == 512
    assert big.level("psum_spad").mesh_x == 32 and big.level("DummyBuffer").instances == 32
    assert big.level("shared_glb").size_words == 65536
    assert big.level("shared_glb").read_energy_pj > small.level("shared_glb").read_energy_pj
    assert big.level("psum_spad").read_energy_pj == small.level("psum_spad").read_energy_pj
    assert big.area_mm2 > small.area_mm2 and big.static_power_mw > small.static_power_mw
    large = load_accelerator("eyeriss_large")
    same = small.variant(name="eyeriss_large", pe_x=32, pe_y=16)
    for a, b in zip(same.levels, large.levels):  # eyeriss_large differs only in its wider glb bandwidth
        assert a.model_dump(exclude={"read_bw", "write_bw"}) == b.model_dump(exclude={"read_bw", "write_bw"})
    simba = load_accelerator("simba_small").variant(pe_x=32)
    assert simba.mac_units == 512 and simba.level("PEWeightBuffer").instances == 128
    assert simba.level("GlobalBuffer").instances == 1
    with pytest.raises(ValueError, match="unknown levels"):
        small.variant(sizes_words={"nope": 4})


def test_content_hash_scheme_is_pinned():
    """Cost caches and layer tables key on ``content_hash``: moving or refactoring the spec code must not change it.

    The spec is a literal and unresolved, so the figure depends on the hashing scheme and the schema's
    fields only (not on the bundled YAML or the technology tables). A schema change that alters it
    invalidates every cache: update the figure on purpose, then.
    """
    tiny = {
        "name": "tiny",
        "dataflow": "weight_stationary",
        "pe_array": {"x": 4, "y": 2},
        "levels": [
            {"name": "regs", "kind": "regfile", "size_words": 8, "instances": 8, "keep": ["Weights"]},
            {"name": "DRAM", "kind": "dram"},
        ],
    }
    spec = accelerator_from_dict(tiny, resolve=False)
    assert spec.content_hash == "1fb0c9151c4975fb"
    assert accelerator_from_dict(_with(tiny, {"pe_array.x": 8}), resolve=False).content_hash != spec.content_hash
