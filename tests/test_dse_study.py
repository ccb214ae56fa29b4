"""A small DSE study end to end through the CLI: run, resume to a larger target, show, export."""

from __future__ import annotations

from pathlib import Path

import pytest

from mascot.cli import main

# a tiny space: two classes, 0..2 of each, fixed sizes, the light workload over 20 ms; deadlines from a
# two-SA reference system (relmas6's four classes would cost the test a cold table build of two more)
REFERENCE_YAML = """\
name: dse_reference2
description: one eyeriss_small + one simba_small, 16 GB/s DRAM (DSE test reference)
accelerators:
  - {accelerator: eyeriss_small, count: 1}
  - {accelerator: simba_small, count: 1}
dram_gbps: 16.0
"""
SMALL = [
    "--workload", "light", "--duration-s", "0.02", "--classes", "eyeriss_small,simba_small", "--max-count", "2",
    "--pe-scales", "0.5,1", "--glb-scales", "1", "--pebuf-scales", "1", "--dram-gbps", "16,32",
    "--policies", "fcfs-h,herald", "--period-scales", "1", "--backend", "analytical", "--heartbeat-s", "2",
]


def small_args(tmp_path: Path) -> list[str]:
    """The tiny space plus a reference-system file in ``tmp_path``."""
    ref = tmp_path / "dse_reference2.yaml"
    ref.write_text(REFERENCE_YAML)
    return [*SMALL, "--reference-system", str(ref)]


def _study(root: Path, name: str):  # type: ignore[no-untyped-def]
    from dse.study import load_study, study_ref

    return load_study(study_ref(name, root=root))


def test_small_study_end_to_end(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from optuna.trial import TrialState

    from dse.study import count_trials
    from hwmodel.spec import load_system

    root = tmp_path / "studies"
    small = small_args(tmp_path)
    args = ["dse", "run", "--study", "s1", "--root", str(root), "--area-budget-mm2", "9", "--trials", "4", *small]
    assert main(args) == 0
    study, settings = _study(root, "s1")
    counts = count_trials(study)
    assert counts.finished == 4 and counts.running == 0
    first = {t.number: t.values for t in study.get_trials(states=(TrialState.COMPLETE,))}
    assert first, "at least one design fits 9 mm²"
    for t in study.get_trials():
        if t.state == TrialState.PRUNED:  # over budget: pruned, and says why
            assert "area" in t.user_attrs["fail_reason"] and t.user_attrs["area_mm2"] > 9
        if t.state == TrialState.COMPLETE:
            assert 0.0 <= t.values[0] <= 1.0 and t.values[1] > 0 and t.values[2] <= 9
            assert t.user_attrs["backend"] == "analytical"

    # the same command with a larger target adds exactly the remainder; finished trials stay as they were
    assert main([*args[:-len(small) - 2], "--trials", "6", *small]) == 0
    study, _ = _study(root, "s1")
    assert count_trials(study).finished == 6
    again = {t.number: t.values for t in study.get_trials(states=(TrialState.COMPLETE,)) if t.number in first}
    assert again == first

    # other settings under the same name: a user error, not a silent mix
    assert main([*args[:-len(small) - 2], "--trials", "6", *small, "--seed", "5"]) == 2
    assert "already exists with other settings" in capsys.readouterr().err

    assert main(["dse", "show", "s1", "--root", str(root)]) == 0
    out = capsys.readouterr().out
    assert "Pareto front" in out
    for name in ("trials.csv", "pareto.csv", "pareto_scatter.png", "parallel_coordinates.png"):
        assert (root / "s1" / name).stat().st_size > 0
    assert (root / "s1" / "pareto_scatter.png").read_bytes()[:4] == b"\x89PNG"

    best = max(study.best_trials, key=lambda t: t.values[0])
    out_yaml = tmp_path / "specs" / "found.yaml"
    assert main(["dse", "export", "s1", "--root", str(root), "--trial", str(best.number), "-o", str(out_yaml)]) == 0
    system = load_system(out_yaml)
    assert system.n_instances == best.user_attrs["n_sa"]
    from dse.area_power import system_area

    assert system_area(system).area_mm2 == pytest.approx(best.values[2])
    if any(g.accelerator.endswith(".yaml") for g in system.accelerators):  # scaled variants written beside it
        assert list((tmp_path / "specs" / "found_accelerators").glob("*.yaml"))

    # exporting a trial that did not complete names the state
    pruned = [t for t in study.get_trials() if t.state == TrialState.PRUNED]
    if pruned:
        assert main(["dse", "export", "s1", "--root", str(root), "--trial", str(pruned[0].number), "-o",
                     str(tmp_path / "x.yaml")]) == 2
    assert main(["dse", "show", "nosuch", "--root", str(root)]) == 2


def test_relmas_checkpoint_that_does_not_fit_is_a_failed_trial(tmp_path: Path) -> None:
    from optuna.trial import TrialState

    from dse.study import count_trials
    from scheduler.relmas.encoding import Encoder, action_size, feature_size
    from scheduler.relmas.networks import Actor
    from scheduler.relmas.policy import save_policy

    ckpt = tmp_path / "relmas6.pt"  # a real (untrained) RELMAS policy file for six SAs
    save_policy(ckpt, Actor(feature_size(6), action_size(6), hidden=8),
                Encoder(models=("squeezenet", "yolo-lite", "kws"), n_sa=6, time_scale_s=1e-4), max_rq=16)
    root = tmp_path / "studies"
    small = small_args(tmp_path)
    small[small.index("--policies") + 1] = "relmas"
    small[small.index("--max-count") + 1] = "1"  # at most 2 SAs: the checkpoint never fits
    args = ["dse", "run", "--study", "r", "--root", str(root), "--area-budget-mm2", "50", "--trials", "3",
            "--relmas-checkpoint", str(ckpt), *small]
    assert main(args) == 0  # failed trials are data, not a crash
    study, _ = _study(root, "r")
    counts = count_trials(study)
    assert counts.finished == 3 and counts.failed_reason + counts.pruned == 3
    failed = [t for t in study.get_trials() if t.state == TrialState.FAIL]
    assert failed
    for t in failed:
        assert "trained for 6 SAs" in t.user_attrs["fail_reason"]


def test_single_objective_with_an_sla_constraint(tmp_path: Path) -> None:
    from optuna.trial import TrialState

    from dse.export import pareto_frame
    from dse.study import load_study, study_ref

    root = tmp_path / "studies"
    args = ["dse", "run", "--study", "e", "--root", str(root), "--area-budget-mm2", "9", "--trials", "4",
            "--objectives", "energy", "--min-sla", "0.3", *small_args(tmp_path)]
    assert main(args) == 0
    study, settings = load_study(study_ref("e", root=root))
    assert settings.directions == ["minimize"]
    done = study.get_trials(states=(TrialState.COMPLETE,))
    assert done
    for t in done:  # the constraint is recorded as Optuna's constraint value (≤ 0 = feasible)
        assert t.user_attrs["constraints"] == [pytest.approx(0.3 - t.user_attrs["sla_satisfaction"])]
    best = pareto_frame(study, settings)
    feasible = [t for t in done if t.user_attrs["sla_satisfaction"] >= 0.3]
    if feasible:
        assert len(best) == 1
        assert best["energy_per_inference_mj"].iloc[0] == pytest.approx(min(t.value for t in feasible))
    else:
        assert best.empty
