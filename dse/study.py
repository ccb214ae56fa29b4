"""Optuna studies: storage, samplers, resumable workers (local processes or Dask) and progress.

Why the loop is built the way it is:

* ``--trials N`` is the number of *finished* trials the study should hold: COMPLETE, PRUNED
  (a broken budget) or FAILED with a recorded reason (a design that cannot run, which a retry would
  not fix). Running the same command again only adds the remainder.
* Trials run with Optuna's heartbeat: a worker killed even with SIGKILL leaves a RUNNING trial
  whose heartbeat stops; once it is older than the grace period, :func:`optuna.storages.fail_stale_trials`
  marks it FAILED and :class:`~optuna.storages.RetryFailedTrialCallback` enqueues the same parameters
  again (a trial killed before its first beat too, see :func:`_fail_beatless`). A killed (hence
  retried) trial does not count as finished, even if it had recorded a ``fail_reason`` just before
  the kill.
* Every worker checks ``finished + running ≥ target`` before it starts a trial, so N workers on
  one storage stop together (at most ``workers − 1`` extra trials when two check at the same instant).
* Each worker's sampler gets ``seed + worker index``: two workers never propose the same sequence;
  with one worker the same seed gives the same study.
"""

from __future__ import annotations

import copy
import json
import os
import time
import warnings
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from mascot.errors import MascotError
from mascot.io import atomic_write_json

from dse.objective import ConstraintViolated, Evaluator, StudySettings, TrialFailed
from dse.space import design_id, relmas6_params, suggest

DEFAULT_ROOT = Path("dse_studies")
SETTINGS_ATTR = "mascot.dse.settings"
HEARTBEAT_S = 10
GRACE_S = 30
MAX_RETRY = 3
NSGA_POPULATION = 24
POLL_S = 2.0  # how often the parent of worker processes reads the storage for the progress bar


@dataclass(frozen=True)
class StudyRef:
    """Where a study lives: its name, its folder (plots, exports) and its Optuna storage URL."""

    name: str
    folder: Path
    storage_url: str


def study_ref(name: str, storage: str | None = None, root: str | Path = DEFAULT_ROOT) -> StudyRef:
    """The default storage is ``ROOT/NAME/study.db`` (SQLite); any Optuna storage URL works."""
    if not name or any(c in name for c in "/\\:") or name.startswith("."):
        raise MascotError(f"study name {name!r} must be a plain name (no slashes, colons or leading dot)")
    folder = Path(root) / name
    url = storage or f"sqlite:///{(folder / 'study.db').resolve()}"
    return StudyRef(name=name, folder=folder, storage_url=url)


def open_storage(url: str, heartbeat_s: int = HEARTBEAT_S, grace_s: int | None = None) -> Any:
    """An RDB storage with heartbeat and retry of killed trials (SQLite gets a long lock timeout)."""
    import optuna
    from optuna.storages import RDBStorage

    if url.startswith("sqlite:///"):
        Path(url[len("sqlite:///"):]).parent.mkdir(parents=True, exist_ok=True)
        engine_kwargs: dict[str, Any] = {"connect_args": {"timeout": 60}}
    else:
        engine_kwargs = {}
    retry: dict[str, Any]
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "experimental feature" notices about the heartbeat
            try:  # Optuna >= 4.9 renamed the retry callback; older releases have only the first one
                from optuna.storages import RetryHeartbeatStaleTrialCallback

                retry = {"heartbeat_stale_trial_callback": RetryHeartbeatStaleTrialCallback(max_retry=MAX_RETRY)}
            except ImportError:  # pragma: no cover - optuna < 4.9
                from optuna.storages import RetryFailedTrialCallback

                retry = {"failed_trial_callback": RetryFailedTrialCallback(max_retry=MAX_RETRY)}
            return RDBStorage(
                url, engine_kwargs=engine_kwargs, heartbeat_interval=int(heartbeat_s),
                grace_period=int(grace_s if grace_s is not None else max(3 * heartbeat_s, 2)), **retry,
            )
    except (ImportError, ValueError, optuna.exceptions.StorageInternalError) as exc:
        raise MascotError(f"cannot open the Optuna storage {url!r}: {exc}",
                          hint="use sqlite:///PATH or postgresql://USER@HOST/DB (with its driver installed)") from None
    except Exception as exc:  # sqlalchemy errors: bad URL, unreachable server, missing driver
        raise MascotError(f"cannot open the Optuna storage {url!r}: {type(exc).__name__}: {exc}",
                          hint="check the URL, that the server is reachable and its driver is installed") from None


def make_sampler(settings: StudySettings, worker: int = 0) -> Any:
    """NSGA-II for several objectives; TPE (with the ``min_sla`` constraint, if any) for one."""
    import optuna

    seed = settings.seed + 1000 * worker
    if len(settings.objectives) > 1:
        return optuna.samplers.NSGAIISampler(seed=seed, population_size=NSGA_POPULATION)
    constraints = _constraints if settings.min_sla is not None else None
    return optuna.samplers.TPESampler(seed=seed, constraints_func=constraints, n_startup_trials=10)


def _constraints(trial: Any) -> list[float]:
    return list(trial.user_attrs.get("constraints", [0.0]))


def create_or_load(ref: StudyRef, settings: StudySettings | None, heartbeat_s: int = HEARTBEAT_S,
                   grace_s: int | None = None, worker: int = 0) -> tuple[Any, StudySettings]:
    """Open the study (creating it with ``settings`` when new); a rerun must not change the settings."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.ERROR)  # failed trials carry their reason
    storage = open_storage(ref.storage_url, heartbeat_s, grace_s)
    names = {s.study_name for s in optuna.study.get_all_study_summaries(storage, include_best_trial=False)}
    if ref.name in names:
        probe = optuna.load_study(study_name=ref.name, storage=storage)
        stored = StudySettings.from_dict(json.loads(probe.user_attrs[SETTINGS_ATTR]))
        if settings is not None and settings.to_dict() != stored.to_dict():
            diff = sorted(k for k, v in settings.to_dict().items() if stored.to_dict().get(k) != v)
            raise MascotError(
                f"study {ref.name!r} already exists with other settings ({', '.join(diff)})",
                hint="rerun with the same options to resume it, or pick another --study name",
            )
        study = optuna.load_study(study_name=ref.name, storage=storage, sampler=make_sampler(stored, worker))
        return study, stored
    if settings is None:
        raise MascotError(f"no study named {ref.name!r} in {ref.storage_url}", hint="start it with `mascot dse run`")
    study = optuna.create_study(study_name=ref.name, storage=storage, directions=settings.directions,
                                sampler=make_sampler(settings, worker), load_if_exists=True)
    study.set_user_attr(SETTINGS_ATTR, json.dumps(settings.to_dict(), sort_keys=True))
    for policy in settings.space.policies:  # the reference design first, under every policy of the space
        baseline = relmas6_params(settings.space, policy)
        if baseline:
            study.enqueue_trial(baseline, user_attrs={"baseline": "relmas6"})
    ref.folder.mkdir(parents=True, exist_ok=True)
    atomic_write_json(ref.folder / "settings.json", settings.to_dict())
    return study, settings


def load_study(ref: StudyRef) -> tuple[Any, StudySettings]:
    """An existing study (for show / export); never creates one."""
    if ref.storage_url.startswith("sqlite:///") and not Path(ref.storage_url[len("sqlite:///"):]).is_file():
        raise MascotError(f"no study {ref.name!r}: {ref.storage_url[len('sqlite:///'):]} does not exist",
                          hint="run `mascot dse run --study NAME ...` first, or pass --storage / --root")
    return create_or_load(ref, None)


# ----------------------------------------------------------------------------------------------
# counting


@dataclass(frozen=True)
class Counts:
    complete: int
    pruned: int
    failed_reason: int
    failed_killed: int
    running: int
    waiting: int

    @property
    def finished(self) -> int:
        return self.complete + self.pruned + self.failed_reason


def count_trials(study: Any) -> Counts:
    from optuna.trial import TrialState

    trials = study.get_trials(deepcopy=False)
    # A trial killed between recording its fail_reason and Optuna storing its final state goes stale and
    # is retried like any killed trial: it is not finished, whatever attributes it had written.
    retried = {t.system_attrs.get("failed_trial") for t in trials} - {None}
    c = {s: 0 for s in TrialState}
    reasoned = 0
    for t in trials:
        c[t.state] += 1
        if t.state == TrialState.FAIL and "fail_reason" in t.user_attrs and t.number not in retried:
            reasoned += 1
    return Counts(c[TrialState.COMPLETE], c[TrialState.PRUNED], reasoned, c[TrialState.FAIL] - reasoned,
                  c[TrialState.RUNNING], c[TrialState.WAITING])


def best_status(study: Any, settings: StudySettings) -> str:
    """One line for the progress bar: the best of each objective and the size of the front."""
    from optuna.trial import TrialState

    done = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
    if not done:
        return "no finished design yet"
    parts = []
    for i, obj in enumerate(settings.objectives):
        vals = [t.values[i] for t in done]
        best = max(vals) if settings.directions[i] == "maximize" else min(vals)
        unit = {"sla": "", "energy": " mJ", "area": " mm²"}[obj]
        parts.append(f"{obj} {best:.3g}{unit}")
    if len(settings.objectives) > 1:
        parts.append(f"front {len(study.best_trials)}")
    return "best " + ", ".join(parts)


# ----------------------------------------------------------------------------------------------
# the worker


def _objective(evaluator: Evaluator, settings: StudySettings) -> Any:
    import optuna

    def objective(trial: optuna.Trial) -> Any:
        point = suggest(trial, settings.space)
        trial.set_user_attr("design_id", design_id(point))
        twin = _twin(trial, design_id(point))
        if twin is not None:  # NSGA-II re-proposes designs; the simulation is deterministic, so reuse it
            for k, v in twin.user_attrs.items():
                if k not in ("baseline", "worker_pid", "duplicate_of", "design_id"):
                    trial.set_user_attr(k, v)
            trial.set_user_attr("duplicate_of", twin.number)
            trial.set_user_attr("worker_pid", os.getpid())
            return twin.values[0] if len(twin.values) == 1 else list(twin.values)
        try:
            outcome = evaluator(point)
        except (ConstraintViolated, TrialFailed) as exc:
            for k, v in exc.attrs.items():
                trial.set_user_attr(k, v)
            trial.set_user_attr("fail_reason", str(exc))
            if isinstance(exc, ConstraintViolated):
                raise optuna.TrialPruned(str(exc)) from None
            raise
        except MascotError as exc:  # a spec or policy this design cannot run: a failed trial that says why
            trial.set_user_attr("fail_reason", str(exc))
            raise TrialFailed(str(exc)) from None
        for k, v in outcome.attrs.items():
            trial.set_user_attr(k, v)
        trial.set_user_attr("worker_pid", os.getpid())
        if settings.min_sla is not None:
            trial.set_user_attr("constraints", [settings.min_sla - outcome.values["sla"]])
        vals = [outcome.values[o] for o in settings.objectives]
        return vals[0] if len(vals) == 1 else vals

    return objective


def _twin(trial: Any, key: str) -> Any:
    """A COMPLETE trial of the same study that evaluated the same design (:func:`dse.space.design_id`)."""
    from optuna.trial import TrialState

    for other in trial.study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)):
        if other.number != trial.number and other.user_attrs.get("design_id") == key:
            return other
    return None


def run_worker(name: str, storage_url: str, target: int, worker: int = 0, heartbeat_s: int = HEARTBEAT_S,
               grace_s: int | None = None, cache: bool | str = True, on_trial: Any = None) -> int:
    """Run trials until the study holds ``target`` finished ones; returns how many this worker ran.

    Top level and picklable: local processes and Dask workers call it with the storage URL.
    """
    ref = StudyRef(name, Path("."), storage_url)
    study, settings = create_or_load(ref, None, heartbeat_s, grace_s, worker)
    evaluator = Evaluator(settings, cache=cache)
    objective = _objective(evaluator, settings)
    ran = 0
    while True:
        _fail_stale(study)
        counts = count_trials(study)
        if counts.finished + counts.running >= target:
            break
        study.optimize(objective, n_trials=1, catch=(TrialFailed,), gc_after_trial=False)
        ran += 1
        if on_trial is not None:
            on_trial(study)
    return ran


def _fail_stale(study: Any) -> None:
    """Mark RUNNING trials whose heartbeat stopped (killed workers) FAILED; the callback re-enqueues them."""
    from optuna.storages import fail_stale_trials

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fail_stale_trials(study)
    _fail_beatless(study)


def _fail_beatless(study: Any) -> None:
    """Fail (and re-enqueue) RUNNING trials that never beat and started more than the grace period ago.

    Why: Optuna creates a trial RUNNING before its heartbeat thread writes the first beat, and
    ``fail_stale_trials`` skips trials without one. A worker SIGKILLed in that window of a few
    milliseconds left its trial RUNNING for ever, and the target count (finished + running) took it
    for a live one: the resumed study stopped one trial short. A live trial beats within
    milliseconds of its start, so one without a beat after the grace period is dead. Reads Optuna's
    RDB tables directly (no public API says whether a trial has beaten); if they change shape this
    check is skipped and the behaviour is Optuna's. ``datetime_start`` is the creating worker's local
    time: workers whose clocks differ by more than the grace period could fail a trial of the other in
    its first milliseconds (its design is then run again by the retry).
    """
    import optuna
    from optuna.trial import TrialState

    storage = study._storage
    rdb = getattr(storage, "_backend", storage)  # the RDBStorage behind Optuna's cache
    try:
        from optuna.storages._rdb import models
        from optuna.storages._rdb.storage import _create_scoped_session

        interval = rdb.get_heartbeat_interval()
        if interval is None:
            return
        grace = rdb.grace_period if rdb.grace_period is not None else 2 * interval
        with _create_scoped_session(rdb.scoped_session) as session:
            running = (session.query(models.TrialModel).filter(models.TrialModel.state == TrialState.RUNNING)
                       .filter(models.TrialModel.study_id == study._study_id).all())
            now = datetime.now()  # Optuna stamps datetime_start with the local datetime.now() too
            dead = [t.trial_id for t in running if not t.heartbeats and t.datetime_start is not None
                    and (now - t.datetime_start).total_seconds() > grace]
    except (ImportError, AttributeError):  # pragma: no cover - another storage or Optuna layout
        return
    getter = getattr(storage, "get_heartbeat_stale_trial_callback", None) or storage.get_failed_trial_callback
    callback = getter()
    for trial_id in dead:
        try:
            if storage.set_trial_state_values(trial_id, state=TrialState.FAIL) and callback is not None:
                callback(study, copy.deepcopy(storage.get_trial(trial_id)))
        except optuna.exceptions.UpdateFinishedTrialError:  # another worker failed it first
            pass


def _process_main(name: str, storage_url: str, target: int, worker: int, heartbeat_s: int, grace_s: int | None,
                  cache: bool | str) -> None:
    run_worker(name, storage_url, target, worker, heartbeat_s, grace_s, cache)


# ----------------------------------------------------------------------------------------------
# the run


@dataclass(frozen=True)
class RunReport:
    study: str
    storage_url: str
    trials_target: int
    finished: int
    complete: int
    pruned: int
    failed: int
    wall_time_s: float
    backend: str


def run_study(ref: StudyRef, settings: StudySettings, trials: int, workers: int = 1, dask_address: str | None = None,
              heartbeat_s: int = HEARTBEAT_S, grace_s: int | None = None, cache: bool | str = True,
              show_progress: bool = True) -> RunReport:
    """Create or resume the study and run it to ``trials`` finished trials (in process, processes or Dask)."""
    if trials < 1:
        raise MascotError(f"--trials must be >= 1, got {trials}")
    if workers < 1:
        raise MascotError(f"--workers must be >= 1, got {workers}")
    study, settings = create_or_load(ref, settings.resolved(), heartbeat_s, grace_s)
    _fail_stale(study)
    t0 = time.perf_counter()
    from mascot.ui import progress

    with progress(disable=not show_progress) as bar:
        task = bar.add_task(f"dse {ref.name}", total=trials, completed=min(count_trials(study).finished, trials),
                            status=best_status(study, settings))

        last = [-1]

        def refresh(s: Any) -> None:
            """Cheap when nothing changed: the parent polls while workers run, and must not steal their CPU."""
            finished = count_trials(s).finished
            if finished != last[0]:
                last[0] = finished
                bar.update(task, completed=min(finished, trials), status=best_status(s, settings))

        if dask_address:
            _run_dask(ref, trials, workers, dask_address, heartbeat_s, grace_s, cache, lambda: refresh(study))
        elif workers == 1:
            run_worker(ref.name, ref.storage_url, trials, 0, heartbeat_s, grace_s, cache, on_trial=refresh)
        else:
            _run_processes(ref, trials, workers, heartbeat_s, grace_s, cache, lambda: refresh(study))
        refresh(study)
    counts = count_trials(study)
    return RunReport(ref.name, ref.storage_url, trials, counts.finished, counts.complete, counts.pruned,
                     counts.failed_reason + counts.failed_killed, time.perf_counter() - t0, settings.backend)


def _run_processes(ref: StudyRef, trials: int, workers: int, heartbeat_s: int, grace_s: int | None,
                   cache: bool | str, refresh: Any) -> None:
    import multiprocessing as mp

    ctx = mp.get_context("spawn")  # fresh interpreters: no forked locks, numba or torch state
    procs = [ctx.Process(target=_process_main, args=(ref.name, ref.storage_url, trials, w + 1, heartbeat_s, grace_s, cache))
             for w in range(workers)]
    for p in procs:
        p.start()
    try:
        while any(p.is_alive() for p in procs):
            time.sleep(POLL_S)
            refresh()
    finally:
        for p in procs:
            p.join(timeout=0 if p.is_alive() else None)
    bad = [p.exitcode for p in procs if p.exitcode]
    if bad:
        raise MascotError(f"{len(bad)} of {workers} DSE worker processes failed (exit codes {bad})",
                          hint="run with --workers 1 to see the error")


def _run_dask(ref: StudyRef, trials: int, workers: int, address: str, heartbeat_s: int, grace_s: int | None,
              cache: bool | str, refresh: Any) -> None:
    from mascot.dask_client import connect

    client = connect(address)
    try:
        futures = [client.submit(run_worker, ref.name, ref.storage_url, trials, w + 1, heartbeat_s, grace_s, cache,
                                 pure=False, key=f"dse-{ref.name}-{w}-{os.getpid()}-{time.time_ns()}")
                   for w in range(workers)]
        while not all(f.done() for f in futures):
            time.sleep(POLL_S)
            refresh()
        for f in futures:
            f.result()  # re-raise a worker's error here
    finally:
        client.close()

