"""``mascot specs ...`` commands (list, show, validate, import-timeloop, export-timeloop)."""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from hwmodel.spec import load_accelerator
from mascot.cli import main

DATA = Path(__file__).parent / "data" / "timeloop"


def test_specs_list(capsys):
    assert main(["specs", "list", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    names = {a["name"] for a in out["accelerators"]}
    assert {"eyeriss_small", "eyeriss_large", "simba_small", "simba_large", "eyeriss_like", "simba_like"} <= names
    assert "relmas6" in {s["name"] for s in out["systems"]}
    assert main(["specs", "list"]) == 0
    assert "eyeriss_small" in capsys.readouterr().out


def test_specs_show_accelerator_and_system(capsys):
    assert main(["specs", "show", "simba_small"]) == 0
    out = capsys.readouterr().out
    assert "PEInputBuffer" in out and "GlobalBuffer" in out and "technology tables" in out
    assert main(["specs", "show", "relmas6"]) == 0
    out = capsys.readouterr().out
    assert "eyeriss_small_1" in out and "simba_large_0" in out
    assert main(["specs", "show", "eyeriss_like", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["levels"][4]["read_energy_pj"] == 74.1442


def test_specs_validate_ok_and_error(tmp_path, capsys):
    good = tmp_path / "good.yaml"
    good.write_text(yaml.safe_dump(load_accelerator("eyeriss_small", resolve=False).model_dump(mode="json", exclude_none=True)))
    assert main(["specs", "validate", str(good)]) == 0
    assert "ok" in capsys.readouterr().out
    data = yaml.safe_load(good.read_text())
    data["levels"][2]["keep"] = ["Activations"]
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump(data))
    assert main(["specs", "validate", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "bad.yaml" in err and "levels[2] (ifmap_spad).keep" in err


def test_import_timeloop_cli_matches_bundled_spec(tmp_path, capsys):
    out = tmp_path / "ey.yaml"
    rc = main([
        "specs", "import-timeloop", str(DATA / "eyeriss_like.arch.yaml"), str(DATA / "eyeriss_like.constraints.yaml"),
        "--ert", str(DATA / "eyeriss_like.ERT.yaml"), "--art", str(DATA / "eyeriss_like.ART.yaml"),
        "--name", "eyeriss_like", "--dataflow", "row_stationary", "-o", str(out),
    ])
    assert rc == 0, capsys.readouterr().err
    assert load_accelerator(out).model_dump(exclude={"description"}) == load_accelerator("eyeriss_like").model_dump(
        exclude={"description"}
    )
    assert not list(tmp_path.glob(".*.tmp"))  # atomic write leaves nothing behind


def test_import_timeloop_cli_components_in_any_order(tmp_path, capsys):
    out = tmp_path / "sb.yaml"
    rc = main([
        "specs", "import-timeloop", str(DATA / "simba_like.arch.yaml"), str(DATA / "simba_like.constraints.yaml"),
        str(DATA / "simba_like.components.yaml"), "-o", str(out),
    ])
    assert rc == 0, capsys.readouterr().err
    spec = load_accelerator(out)
    assert spec.name == "simba_like" and spec.level("PEWeightRegs").cluster_size == 64


def test_export_timeloop_cli(tmp_path, capsys):
    assert main(["specs", "export-timeloop", "simba_large", "-o", str(tmp_path)]) == 0
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == ["simba_large.ART.yaml", "simba_large.ERT.yaml", "simba_large.arch.yaml", "simba_large.constraints.yaml"]


def test_unknown_spec_exits_2(capsys):
    assert main(["specs", "show", "no_such_thing"]) == 2
    assert "unknown spec" in capsys.readouterr().err


def test_tech_table(capsys):
    assert main(["specs", "tech-table", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    glb = next(r for r in data["energy"] if r["component"] == "shared_glb")
    assert glb["read_ref_pj"] == 74.1442 and abs(glb["read_error"]) < 1e-9
    assert all(abs(r["read_error"]) < 0.035 for r in data["energy"])
    assert main(["specs", "tech-table"]) == 0
    assert "weights_spad" in capsys.readouterr().out
