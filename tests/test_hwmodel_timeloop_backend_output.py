"""Parsing real Timeloop v3.0.3 output (re-expressed fixtures in tests/data/timeloop_outputs/).

Expected figures are the reference calibration rows (timeloop-mapper v3.0.3 + Accelergy 0.3 on
the eyeriss_like and simba_like example designs), written here as literals.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from hwmodel.tables import LayerTable
from hwmodel.timeloop_output import mapping_from_yaml, parse_stats, read_run, runs_to_table
from mascot.errors import MascotError

DATA = Path(__file__).parent / "data" / "timeloop_outputs"

# arch, layer, cycles, energy_pJ, dram_read_bytes, dram_write_bytes, utilization, mapping
EXPECTED = [
    ("eyeriss_like", "alexnet_conv1", 798600, 859660996.18, 4657290, 580800, 0.785714,
     "DRAM[WIO]: Q55 C3 | shared_glb[IO]: P55 M12X | DummyBuffer[]: S11Y | ifmap_spad[I]: - | "
     "weights_spad[W]: R11 | psum_spad[O]: M8"),
    ("eyeriss_like", "alexnet_fc8", 40960, 550232560.68, 8200192, 2000, 0.595238,
     "DRAM[WIO]: C16 | shared_glb[IO]: C128 M10X | DummyBuffer[]: M10Y | ifmap_spad[I]: - | "
     "weights_spad[W]: C2 | psum_spad[O]: M10"),
    ("eyeriss_like", "small_3x3", 24576, 18900721.83, 59904, 16384, 0.571429,
     "DRAM[WIO]: Q2 C8 | shared_glb[IO]: P16 Q8X | DummyBuffer[]: M2Y C2Y S3Y | ifmap_spad[I]: - | "
     "weights_spad[W]: R3 C2 | psum_spad[O]: M16"),
    ("simba_like", "alexnet_conv1", 732050, 600466407.45, 189435, 290400, 0.5625,
     "DRAM[WIO]: P55 | GlobalBuffer[IO]: Q5 M12X | PEInputBuffer[I]: M4Y | PEWeightBuffer[W]: S11 R11 | "
     "PEAccuBuffer[O]: M2 C3Y | PEWeightRegs[W]: Q11"),
    ("simba_like", "alexnet_fc8", 16000, 325246750.07, 4100096, 1000, 1.0,
     "DRAM[WIO]: - | GlobalBuffer[IO]: M125 C16X | PEInputBuffer[I]: M4Y | PEWeightBuffer[W]: C64 | "
     "PEAccuBuffer[O]: M2 C4Y | PEWeightRegs[W]: -"),
    ("simba_like", "small_3x3", 9216, 16498475.52, 19584, 8192, 1.0,
     "DRAM[WIO]: M4 | GlobalBuffer[IO]: Q4 P16 C8X M2X | PEInputBuffer[I]: M4Y | PEWeightBuffer[W]: S3 R3 | "
     "PEAccuBuffer[O]: C4Y | PEWeightRegs[W]: Q4"),
]


@pytest.mark.parametrize("arch,layer,cycles,energy_pj,rd,wr,util,mapping", EXPECTED, ids=[f"{a}-{l}" for a, l, *_ in EXPECTED])
def test_reads_real_timeloop_outputs(arch, layer, cycles, energy_pj, rd, wr, util, mapping):
    cost = read_run(DATA / arch / layer)
    assert cost.cycles == cycles
    assert cost.energy_pj == pytest.approx(energy_pj, abs=0.05)
    assert cost.dram_read_bytes == rd and cost.dram_write_bytes == wr
    assert cost.utilization == pytest.approx(util, abs=1e-6)
    assert cost.mapping == mapping
    assert sum(cost.energy_breakdown_pj.values()) == pytest.approx(cost.energy_pj)
    assert cost.backend == "timeloop"


def test_eyeriss_conv1_per_level_energy_and_counts():
    cost = read_run(DATA / "eyeriss_like" / "alexnet_conv1")
    assert cost.energy_pj * 1e-6 == pytest.approx(859.66, abs=0.005)  # µJ, as Timeloop's summary prints it
    expected = {"mac": 231950335.32, "psum_spad": 53683840.58, "weights_spad": 170176778.96,
                "ifmap_spad": 26080100.32, "DummyBuffer": 0.0, "shared_glb": 42531797.00, "DRAM": 335238144.00}
    assert cost.energy_breakdown_pj == pytest.approx(expected, abs=0.01)
    stats = parse_stats(DATA / "eyeriss_like" / "alexnet_conv1" / "timeloop-mapper.stats.txt")
    psum = next(lv for lv in stats.levels if lv.name == "psum_spad")
    assert psum.scalar("Outputs", "reads") == 774400 * 132
    assert psum.dataspaces["Outputs"]["Scalar fills (per-instance)"] == 48400
    assert stats.computes == 105415200 and stats.mac_instances == 168
    dram = stats.levels[-1]
    assert dram.name == "DRAM" and dram.word_bits == 16
    assert dram.scalar("Weights", "reads") == 1916640 and dram.scalar("Inputs", "reads") == 412005


def test_simba_keeps_its_own_arithmetic_name_as_mac():
    cost = read_run(DATA / "simba_like" / "alexnet_conv1")
    assert cost.energy_breakdown_pj["mac"] == pytest.approx(59116844.16, abs=0.01)
    assert cost.energy_breakdown_pj["PEInputBuffer"] == pytest.approx(380217773.45, abs=0.01)


def test_not_timeloop_output_is_a_user_error(tmp_path):
    with pytest.raises(MascotError, match="no Timeloop statistics"):
        read_run(tmp_path)
    (tmp_path / "timeloop-mapper.stats.txt").write_text("hello: world\n")
    with pytest.raises(MascotError, match="not a Timeloop statistics report"):
        read_run(tmp_path)
    bad_map = tmp_path / "bad.map.yaml"
    bad_map.write_text("mapping: [{target: DRAM, type: temporal, factors: 'C3 M?'}]\n")
    with pytest.raises(MascotError, match="cannot read factor"):
        mapping_from_yaml(bad_map)


def test_truncated_report_is_detected(tmp_path):
    src = (DATA / "eyeriss_like" / "alexnet_conv1" / "timeloop-mapper.stats.txt").read_text()
    (tmp_path / "timeloop-mapper.stats.txt").write_text(src.replace("Energy (total)          : 231950335.32 pJ", ""))
    with pytest.raises(MascotError, match="summary says 859.66 uJ"):
        read_run(tmp_path)


def test_runs_to_table_names_folders(tmp_path):
    dirs = [DATA / "eyeriss_like" / "alexnet_conv1", DATA / "simba_like" / "alexnet_conv1", DATA / "simba_like" / "small_3x3"]
    table = runs_to_table(dirs)
    df = table.frame
    assert list(df.run_dir) == [str(d) for d in dirs]
    assert list(df.sa_class) == ["eyeriss_like", "simba_like", "simba_like"]
    assert list(df.layer_index) == [0, 0, 1]
    assert df.latency_s.iloc[0] == pytest.approx(798600e-9)
    back = LayerTable.load(table.save(tmp_path / "t.parquet"))
    assert list(back.frame.run_dir) == [str(d) for d in dirs]


def test_cli_timeloop_import(tmp_path):
    import typer

    from hwmodel.cli_timeloop_import import register

    app = typer.Typer()
    register(app)
    app.command("noop")(lambda: None)  # a second command keeps `timeloop-import` a sub-command
    runner = CliRunner()
    out = tmp_path / "tl.parquet"
    run = DATA / "eyeriss_like" / "alexnet_conv1"
    result = runner.invoke(app, ["timeloop-import", str(run), "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert "eyeriss_like" in result.output
    assert LayerTable.load(out).frame.cycles.tolist() == [798600]
    result = runner.invoke(app, ["timeloop-import", str(run), "--json"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.output)
    assert rows[0]["cycles"] == 798600 and rows[0]["run_dir"] == str(run)


@pytest.mark.parametrize("arch,layer", [(a, l) for a, l, *_ in EXPECTED])
def test_compact_mapping_agrees_with_the_mapping_model(arch, layer):
    """Our rendering of the mapping YAML has the loops hwmodel.mapping reads, level by level.

    (Loop order within a level is checked against Timeloop's own text in EXPECTED above.)
    """
    import yaml

    from hwmodel.mapping import mapping_from_timeloop_dict
    from hwmodel.spec import load_accelerator

    levels = [lv.name for lv in load_accelerator(arch).levels]
    data = yaml.safe_load((DATA / arch / layer / "timeloop-mapper.map.yaml").read_text())
    def per_level(text: str) -> list[tuple[str, list[str]]]:
        return [(head, sorted(loops.split())) for head, _, loops in (p.partition(": ") for p in text.split(" | "))]

    ours = read_run(DATA / arch / layer).mapping
    assert per_level(mapping_from_timeloop_dict(data, levels).to_compact()) == per_level(ours)
