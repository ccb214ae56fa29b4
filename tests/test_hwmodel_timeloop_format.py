"""Timeloop v0.3 import / export and Accelergy ERT/ART reading (hwmodel.timeloop_format).

Fixtures in tests/data/timeloop/ re-express the Timeloop exercise designs eyeriss_like and simba_like
(architecture, constraints, and ERT/ART reduced to a few argument variants per action).
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from hwmodel.cli_timeloop import load_problem
from hwmodel.spec import list_specs, load_accelerator
from hwmodel.timeloop_format import (
    export_timeloop,
    import_timeloop,
    load_art,
    load_ert,
    timeloop_builtin_energy_pj,
    write_timeloop,
)
from mascot.errors import MascotError

DATA = Path(__file__).parent / "data" / "timeloop"


def _eyeriss(**kw):
    return import_timeloop(
        DATA / "eyeriss_like.arch.yaml",
        [],
        [DATA / "eyeriss_like.constraints.yaml"],
        name="eyeriss_like",
        dataflow="row_stationary",
        **kw,
    )


def _simba(**kw):
    return import_timeloop(
        DATA / "simba_like.arch.yaml",
        [DATA / "simba_like.components.yaml"],
        [DATA / "simba_like.constraints.yaml"],
        name="simba_like",
        dataflow="weight_stationary",
        **kw,
    )


def test_ert_charges_the_max_over_argument_variants():
    ert = load_ert(DATA / "eyeriss_like.ERT.yaml")
    glb = ert.component("system.eyeriss.shared_glb")
    assert glb == {"read": 74.1442, "write": 75.2148}  # not 51.92 / 52.67, the data-only variants
    assert ert.component("DummyBuffer") == {"read": 0.20203, "write": 0.20203}
    assert ert.pick("mac", ("mac_random", "mac")) == 2.20035


@pytest.mark.parametrize("design,importer", [("eyeriss_like", _eyeriss), ("simba_like", _simba)])
def test_import_with_ert_and_art_equals_the_bundled_spec_exactly(design, importer):
    spec = importer(ert=DATA / f"{design}.ERT.yaml", art=DATA / f"{design}.ART.yaml")
    native = load_accelerator(design)
    assert spec.model_dump(exclude={"description"}) == native.model_dump(exclude={"description"})


@pytest.mark.parametrize("design,importer", [("eyeriss_like", _eyeriss), ("simba_like", _simba)])
def test_import_without_ert_differs_only_in_table_energies_and_areas(design, importer):
    spec = importer()
    native = load_accelerator(design)
    ignore = {"read_energy_pj", "write_energy_pj", "area_um2"}
    for a, b in zip(spec.levels, native.levels):
        assert a.model_dump(exclude=ignore) == b.model_dump(exclude=ignore)
        assert a.read_energy_pj is not None and a.write_energy_pj is not None
    assert spec.constraints == native.constraints
    assert (spec.pe_array, spec.macs_per_pe, spec.mac_name) == (native.pe_array, native.macs_per_pe, native.mac_name)


def test_eyeriss_structure_from_the_tree():
    spec = _eyeriss()
    assert [lv.name for lv in spec.levels] == ["psum_spad", "weights_spad", "ifmap_spad", "DummyBuffer", "shared_glb", "DRAM"]
    glb = spec.level("shared_glb")
    assert (glb.size_words, glb.block_size, glb.read_bw, glb.keep) == (65536, 4, 16.0, ("Inputs", "Outputs"))
    dummy = spec.level("DummyBuffer")
    assert (dummy.kind, dummy.keep, dummy.instances) == ("dummy", (), 14)
    assert (spec.pe_array.x, spec.pe_array.y, spec.mac_units) == (14, 12, 168)
    scopes = [c.scope for c in spec.constraints]
    assert scopes.count("architecture") == 6 and scopes.count("mapspace") == 3


def test_simba_cluster_and_timeloop_fallback_energy():
    spec = _simba(ert=DATA / "simba_like.ERT.yaml")
    regs = spec.level("PEWeightRegs")
    assert (regs.cluster_size, regs.instances, regs.size_words) == (64, 256, 1)
    # ERT has only `access`: Timeloop's pat::SRAMEnergy(1 row, 512 bits) / 64
    assert regs.read_energy_pj == pytest.approx(0.4890075376884422, rel=1e-12)
    assert timeloop_builtin_energy_pj("regfile", 8, 1, 64, 1) == pytest.approx(0.48900754, rel=1e-7)
    assert spec.level("PEAccuBuffer").word_bits == 24  # from the component, not the inherited 8
    assert spec.level("PEWeightBuffer").size_words == 32768
    assert spec.mac_energy_pj == 0.5608 and spec.mac_name == "LMAC"
    assert (spec.pe_array.count, spec.macs_per_pe) == (16, 16)


def test_art_reader():
    art = load_art(DATA / "simba_like.ART.yaml")
    assert art["PEWeightBuffer"] == 107794.68 and art["LMAC"] == 332.25


@pytest.mark.parametrize("name", list_specs("accelerators"))
def test_export_import_round_trip_is_exact(tmp_path, name):
    spec = load_accelerator(name)
    files = write_timeloop(spec, tmp_path)
    back = import_timeloop(files["arch"], [], [files["constraints"]], ert=files["ert"], art=files["art"])
    assert back == spec
    assert back.content_hash == spec.content_hash


def test_export_is_timeloop_shaped():
    ex = export_timeloop(load_accelerator("eyeriss_small"))
    arch = yaml.safe_load(ex.arch)["architecture"]
    assert arch["version"] == 0.3
    sa = arch["subtree"][0]["subtree"][0]
    pe = sa["subtree"][0]
    assert pe["name"] == "PE[0..255]"
    assert [c["name"] for c in pe["local"]] == ["ifmap_spad", "weights_spad", "psum_spad", "mac"]
    assert [c["name"] for c in sa["local"]] == ["shared_glb", "DummyBuffer[0..15]"]
    cons = yaml.safe_load(ex.constraints)
    bypass = [t for t in cons["architecture_constraints"]["targets"] if t["type"] == "bypass"]
    assert {t["target"] for t in bypass} == {"shared_glb", "DummyBuffer", "ifmap_spad", "weights_spad", "psum_spad"}
    ert = yaml.safe_load(ex.ert)["ERT"]["tables"]
    assert any(t["name"] == "system.eyeriss_small.PE[0..255].mac" for t in ert)


def _arch_yaml(*local: str) -> str:
    """A one-node Timeloop v0.3 architecture whose ``local:`` holds these components (YAML flow maps)."""
    return "architecture:\n  version: 0.3\n  subtree:\n    - name: s\n      local:\n" + "".join(
        f"        - {c}\n" for c in local
    )


def _buffer_arch(buffer_attributes: str) -> str:
    """DRAM, one SRAM ``buf`` with these attributes, a MAC: the smallest design that reaches buffer checks."""
    return _arch_yaml("{name: DRAM, class: DRAM, attributes: {width: 64}}",
                      f"{{name: buf, class: SRAM, attributes: {{{buffer_attributes}}}}}",
                      "{name: mac, class: intmac}")


def _constraints_yaml(section: str, target: str) -> str:
    """A Timeloop constraints file with one target (a YAML flow map) under ``section``."""
    return f"{section}:\n  targets:\n    - {target}\n"


# (file name, what the file is read as, its text, what the error must say: the file and the field)
BAD_INPUTS = [
    ("c.yaml", "constraints", _constraints_yaml("architecture_constraints", "{target: nowhere, type: temporal, factors: R=1}"),
     r"c\.yaml.*targets\[0\]\.target 'nowhere' is not a level"),
    ("t.yaml", "constraints", _constraints_yaml("architecture_constraints", "{target: psum_spad, type: bypass, bypass: [Psums]}"),
     r"t\.yaml.*unknown tensor"),
    ("f.yaml", "constraints", _constraints_yaml("mapspace_constraints", "{target: shared_glb, type: temporal, factors: Z=2}"),
     r"f\.yaml: field mapspace_constraints\.targets\[0\] \(shared_glb\).*unknown dimension"),
    ("a.yaml", "arch", _arch_yaml("{name: buf, class: SRAM, attributes: {depth: 64, width: 16}}",
                                  "{name: mac, class: intmac, attributes: {datawidth: 16}}"),
     r"a\.yaml.*outermost storage level must be DRAM"),
    ("d.yaml", "arch", _buffer_arch("width: 16"), r"d\.yaml.*local\[1\] \(buf\).*needs depth"),
    ("w.yaml", "arch", _buffer_arch("depth: 64, width: wide"),
     r"w\.yaml: .*local\[1\] \(buf\): attribute width: 'wide' is not an integer"),
    ("n.yaml", "arch", _buffer_arch("depth: -64, width: 16"),
     r"n\.yaml: .*local\[1\] \(buf\): attribute depth: must be >= 0, got -64"),
    ("v4.yaml", "arch", "architecture:\n  version: 0.4\n  nodes: []\n", r"v4\.yaml.*Timeloop v0\.4"),
    ("e.yaml", "ert", "foo: 1\n", r"e\.yaml.*not an Accelergy ERT"),
    ("p.yaml", "problem", "problem:\n  instance: {C: three, M: 96}\n",
     r"p\.yaml: field problem\.instance\.C: 'three' is not an integer"),
    ("z.yaml", "problem", "problem:\n  instance: {C: 3, M: 96, Hstride: 0}\n",
     r"z\.yaml: field problem\.instance\.Hstride: must be >= 1, got 0"),
]


@pytest.mark.parametrize("file_name,role,text,match", BAD_INPUTS, ids=[f"{r}-{n}" for n, r, *_ in BAD_INPUTS])
def test_bad_input_errors_name_file_and_field(tmp_path, file_name, role, text, match):
    bad = tmp_path / file_name
    bad.write_text(text)
    with pytest.raises(MascotError, match=match):
        if role == "constraints":
            import_timeloop(DATA / "eyeriss_like.arch.yaml", [], [bad])
        elif role == "arch":
            import_timeloop(bad)
        elif role == "problem":
            load_problem(bad)
        else:
            load_ert(bad)


def test_explicit_options_override_exported_metadata(tmp_path):
    files = write_timeloop(load_accelerator("simba_small"), tmp_path)
    spec = import_timeloop(files["arch"], [], [files["constraints"]], dataflow="custom", clock_ghz=2.0, name="x")
    assert (spec.name, spec.dataflow, spec.clock_ghz) == ("x", "custom", 2.0)
