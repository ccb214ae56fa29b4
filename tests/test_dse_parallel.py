"""A DSE study survives SIGKILL, shares one storage between workers, and runs on a Dask LocalCluster."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from test_dse_study import small_args

from mascot.cli import main


def _settings(tmp_path: Path, **kw):  # type: ignore[no-untyped-def]
    """The tiny study of test_dse_study as Python settings (what the CLI would build)."""
    from dse.objective import StudySettings
    from dse.space import SpaceConfig

    args = small_args(tmp_path)
    ref = args[args.index("--reference-system") + 1]
    space = SpaceConfig(classes=("eyeriss_small", "simba_small"), max_count=2, pe_scales=(0.5, 1.0), glb_scales=(1.0,),
                        pebuf_scales=(1.0,), dram_gbps=(16.0, 32.0), policies=("fcfs-h", "herald"), period_scales=(1.0,))
    return StudySettings(area_budget_mm2=9.0, workload="light", duration_s=0.02, backend="analytical",
                         reference_system=ref, space=space, **kw)


def _finished(study):  # type: ignore[no-untyped-def]
    from optuna.trial import TrialState

    return {t.number: (t.state.name, t.values) for t in study.get_trials()
            if t.state in (TrialState.COMPLETE, TrialState.PRUNED)
            or (t.state == TrialState.FAIL and "fail_reason" in t.user_attrs)}


def _run_and_kill_mid_trial(root: Path, args: list[str]) -> list[int]:
    """Start the study in a subprocess, SIGKILL it once 2 trials finished while one runs; the trials running after."""
    from optuna.trial import TrialState

    from dse.study import count_trials, load_study, study_ref

    proc = subprocess.Popen([sys.executable, "-m", "mascot.cli", *args], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, env=os.environ.copy())
    db = root / "k" / "study.db"
    deadline = time.monotonic() + 240
    killed_while_running = False
    try:
        while time.monotonic() < deadline and proc.poll() is None:
            if db.is_file():
                try:
                    study, _ = load_study(study_ref("k", root=root))
                    c = count_trials(study)
                except Exception:  # the study is being created right now
                    c = None
                if c is not None and c.finished >= 2 and c.running == 1:
                    os.kill(proc.pid, signal.SIGKILL)
                    killed_while_running = True
                    break
            time.sleep(0.1)
    finally:
        if proc.poll() is None and not killed_while_running:
            proc.kill()
        proc.wait()
    assert killed_while_running, "the study finished (or stalled) before it could be killed"
    assert proc.returncode == -signal.SIGKILL
    study, _ = load_study(study_ref("k", root=root))
    return [t.number for t in study.get_trials() if t.state == TrialState.RUNNING]


def test_sigkill_then_resume_loses_and_duplicates_nothing(tmp_path: Path) -> None:
    from optuna.trial import TrialState

    from dse.study import count_trials, load_study, study_ref

    # a pruned trial lasts milliseconds, so the one seen running may finish between the look and the
    # kill; then the kill hit no trial and the run is repeated in a fresh folder (rarely needed twice)
    for attempt in range(4):
        root = tmp_path / f"studies{attempt}"
        args = ["dse", "run", "--study", "k", "--root", str(root), "--area-budget-mm2", "9", "--trials", "8",
                *small_args(tmp_path)]
        args[args.index("--heartbeat-s") + 1] = "1"  # killed trials are stale after 3 s
        running = _run_and_kill_mid_trial(root, args)
        if running:
            break
    study, _ = load_study(study_ref("k", root=root))
    before = _finished(study)
    assert len(before) >= 2 and len(running) == 1
    time.sleep(4)  # past the grace period: the killed trial's heartbeat is stale

    assert main(args) == 0  # the same command resumes
    study, _ = load_study(study_ref("k", root=root))
    after = _finished(study)
    assert len(after) == 8  # exactly the target: nothing lost, nothing run twice
    assert {n: after[n] for n in before} == before  # finished trials untouched
    killed = study.trials[running[0]]
    assert killed.state == TrialState.FAIL  # (it may have recorded a fail_reason just before the kill)
    retries = [t for t in study.get_trials() if t.system_attrs.get("failed_trial") == running[0]]
    assert len(retries) == 1 and retries[0].number in after  # the killed trial was retried
    # the retry re-uses every parameter the killed trial had drawn (it may have been killed mid-draw)
    assert killed.params.items() <= retries[0].params.items()
    assert count_trials(study).running == 0


@pytest.mark.filterwarnings("ignore:Heartbeat of storage is supposed:UserWarning")  # study.ask() on purpose
def test_a_trial_killed_before_its_first_heartbeat_is_retried(tmp_path: Path) -> None:
    # Optuna creates a trial RUNNING before its heartbeat thread beats; a worker killed in between left
    # a trial that fail_stale_trials never touched, and the resumed study stopped one trial short
    from optuna.trial import TrialState

    from dse.study import _fail_stale, count_trials, create_or_load, study_ref

    ref = study_ref("beatless", root=tmp_path / "studies")
    study, _ = create_or_load(ref, _settings(tmp_path), heartbeat_s=1, grace_s=1)
    dead = study.ask()  # RUNNING, never beats: what the kill leaves behind
    dead.suggest_int("x", 0, 9)
    time.sleep(1.5)  # past the grace period
    fresh = study.ask()  # just started: a live worker's trial before its first beat, to be left alone
    _fail_stale(study)
    trials = study.get_trials()
    assert trials[dead.number].state == TrialState.FAIL
    assert trials[fresh.number].state == TrialState.RUNNING
    retries = [t for t in trials if t.system_attrs.get("failed_trial") == dead.number]
    assert len(retries) == 1 and retries[0].state == TrialState.WAITING
    assert retries[0].params == {"x": trials[dead.number].params["x"]}  # same parameters again
    assert count_trials(study).running == 1


def test_two_worker_processes_share_one_storage(tmp_path: Path) -> None:
    from dse.study import count_trials, load_study, run_study, study_ref

    ref = study_ref("w2", root=tmp_path / "studies")
    report = run_study(ref, _settings(tmp_path), trials=8, workers=2, heartbeat_s=2, show_progress=False)
    study, _ = load_study(ref)
    c = count_trials(study)
    assert 8 <= c.finished <= 9 and c.running == 0 and c.failed_killed == 0  # at most workers - 1 extra
    assert report.finished == c.finished
    pids = {t.user_attrs["worker_pid"] for t in study.get_trials() if "worker_pid" in t.user_attrs}
    assert pids and os.getpid() not in pids  # trials ran in the worker processes


def test_trials_run_on_a_dask_local_cluster(tmp_path: Path) -> None:
    distributed = pytest.importorskip("distributed")
    from dse.study import count_trials, load_study, run_study, study_ref

    ref = study_ref("dask", root=tmp_path / "studies")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        with distributed.Client(cluster) as client:
            worker_pids = set(client.run(os.getpid).values())
        report = run_study(ref, _settings(tmp_path), trials=6, workers=2, dask_address=cluster.scheduler_address,
                           heartbeat_s=2, show_progress=False)
    study, _ = load_study(ref)
    c = count_trials(study)
    assert 6 <= c.finished <= 7 and c.running == 0 and report.finished == c.finished
    pids = {t.user_attrs["worker_pid"] for t in study.get_trials() if "worker_pid" in t.user_attrs}
    assert pids and pids <= worker_pids  # every evaluated trial ran on a Dask worker
