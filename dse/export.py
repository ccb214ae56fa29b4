"""A study's trials as tables, its Pareto front, and a chosen design as a system spec on disk.

Why export writes plain spec files: a design found by the DSE must be usable by every other
command (``mascot tables build --system found.yaml``, ``mascot simulate ...``) without the study.
The system YAML names its SA classes by relative path; scaled variants are written beside it in
``<stem>_accelerators/`` (a sub-folder, so that listing the systems folder never mistakes an
accelerator for a system); shipped classes are referred to by their bundled name.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from mascot.errors import MascotError
from mascot.io import atomic_write_text

from dse.area_power import build_system, system_area
from dse.objective import OBJECTIVE_COLUMNS, StudySettings
from dse.space import point_from_params

ATTR_COLUMNS = ("design", "n_sa", "area_mm2", "peak_power_w", "static_power_w", "latency_p95_s", "table_time_s",
                "sim_time_s", "backend", "fail_reason", "baseline", "duplicate_of", "design_id")


def trials_frame(study: Any, settings: StudySettings) -> pd.DataFrame:
    """One row per trial: number, state, objectives, parameters, recorded attributes, ``pareto`` flag."""
    front = {t.number for t in _front(study, settings)}
    rows = []
    for t in study.get_trials(deepcopy=False):
        row: dict[str, Any] = {"trial": t.number, "state": t.state.name}
        values = t.values or []
        for i, obj in enumerate(settings.objectives):
            row[OBJECTIVE_COLUMNS[obj]] = float(values[i]) if i < len(values) else float("nan")
        for k in ATTR_COLUMNS:
            if k in t.user_attrs and OBJECTIVE_COLUMNS.get(k) not in row:
                row.setdefault(k, t.user_attrs[k])
        for k in ("sla_satisfaction", "energy_per_inference_mj"):
            if k not in row and k in t.user_attrs:
                row[k] = t.user_attrs[k]
        row.update({f"param_{k}": v for k, v in t.params.items()})
        row["duration_s"] = t.duration.total_seconds() if t.duration is not None else float("nan")
        row["pareto"] = t.number in front
        rows.append(row)
    return pd.DataFrame(rows)


def _front(study: Any, settings: StudySettings) -> list[Any]:
    from optuna.trial import TrialState

    if not study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)):
        return []
    if len(settings.objectives) > 1:
        return list(study.best_trials)
    feasible = [t for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
                if all(c <= 0 for c in t.user_attrs.get("constraints", [0.0]))]
    if not feasible:
        return []
    best = max if settings.directions[0] == "maximize" else min
    return [best(feasible, key=lambda t: t.value)]


def pareto_frame(study: Any, settings: StudySettings) -> pd.DataFrame:
    """The Pareto front (or the best feasible trial of a single-objective study), best SLA first."""
    df = trials_frame(study, settings)
    if df.empty:
        return df
    front = df[df["pareto"]].copy()
    if "design_id" in front.columns:  # a design evaluated twice is one point of the front
        front = front.drop_duplicates(subset=["design_id"], keep="first")
    else:  # studies from before design ids: compare what the trial evaluated
        from dse.space import design_id

        ids = [design_id(point_from_params({k[6:]: v for k, v in r.items() if k.startswith("param_") and pd.notna(v)},
                                           settings.space)) for r in front.to_dict("records")]
        front = front.assign(design_id=ids).drop_duplicates(subset=["design_id"], keep="first")
    sort = [c for c in ("sla_satisfaction", "energy_per_inference_mj") if c in front.columns]
    return front.sort_values(sort, ascending=[False, True][: len(sort)]).reset_index(drop=True)


def export_system(study: Any, settings: StudySettings, trial_number: int, out: str | Path) -> Path:
    """Write trial ``trial_number``'s system as ``out`` (and its scaled SA classes beside it)."""
    from optuna.trial import TrialState

    out = Path(out)
    if out.suffix not in (".yaml", ".yml"):
        raise MascotError("the exported system must be a .yaml file", path=out, hint="e.g. -o arch_specs/systems/found.yaml")
    trials = {t.number: t for t in study.get_trials(deepcopy=False)}
    if trial_number not in trials:
        raise MascotError(f"study {study.study_name!r} has no trial {trial_number}",
                          hint=f"trials are numbered 0..{max(trials, default=-1)}; `mascot dse show` lists the front")
    trial = trials[trial_number]
    if trial.state != TrialState.COMPLETE:
        reason = trial.user_attrs.get("fail_reason", "")
        raise MascotError(f"trial {trial_number} is {trial.state.name}, not COMPLETE" + (f" ({reason})" if reason else ""),
                          hint="export a finished trial, e.g. one of the Pareto front")
    point = point_from_params(trial.params, settings.space)
    system = build_system(point, name=out.stem)
    cost = system_area(system, settings.dram_phy_mm2_per_gbps)
    folder_name = f"{out.stem}_accelerators"
    groups = []
    for group, spec in system.group_specs():
        if group.spec is None:  # a shipped class: refer to it by name
            groups.append({"accelerator": spec.name, "count": group.count})
            continue
        rel = f"{folder_name}/{spec.name}.yaml"
        body = yaml.safe_dump(spec.model_dump(mode="json", exclude_none=True), sort_keys=False, width=120)
        atomic_write_text(out.parent / rel, _acc_header(spec.name) + body)
        groups.append({"accelerator": rel, "count": group.count})
    data = {
        "name": out.stem,
        "description": f"Found by `mascot dse` (study {study.study_name}, trial {trial_number}): {trial.user_attrs.get('design', '')}",
        "accelerators": groups,
        "dram_gbps": system.dram_gbps,
        "dram_energy_pj_per_bit": system.dram_energy_pj_per_bit,
        "nop_gbps": system.nop_gbps,
        "nop_energy_pj_per_bit": system.nop_energy_pj_per_bit,
        "notes": (f"schedule: policy {point.policy}, Ts = {point.period_scale:g} x the {settings.workload} scenario period"
                  + (f", MAGMA population {point.magma_population} generations {point.magma_generations}"
                     if point.policy == "magma" else "")
                  + f"; area {cost.area_mm2:.3f} mm2 ({cost.sa_area_mm2:.3f} SAs + {cost.dram_phy_area_mm2:.3f} DRAM PHY)"),
    }
    values = dict(zip(settings.objectives, trial.values))
    header = (
        f"# System found by the mascot DSE: study {study.study_name!r}, trial {trial_number}.\n"
        f"# Objectives on the {settings.workload} workload, QoS {settings.qos}, backend {trial.user_attrs.get('backend', settings.backend)}: "
        + ", ".join(f"{k} {v:.4g}" for k, v in values.items()) + "\n"
        "# Area and power sources: SA areas and static power from hwmodel.area (45 nm; MAC units from the\n"
        "# Accelergy/Aladdin tables, register files and SRAMs from the Accelergy ART / CACTI reference points,\n"
        "# +25 % per-SA interconnect/control overhead); DRAM PHY area 0.15 mm2 per GB/s is an ASSUMPTION\n"
        "# (dse.area_power); DRAM 8 pJ/bit (LPDDR4) and NoP 100 GB/s / 1.3 pJ/bit as relmas6 (RELMAS Table 1).\n"
    )
    atomic_write_text(out, header + yaml.safe_dump(data, sort_keys=False, width=120))
    from hwmodel.spec import load_system

    load_system(out)  # what every other command will do with it: fail here, not there
    return out


def _acc_header(name: str) -> str:
    return (
        f"# SA class {name!r}: a shipped class scaled by the mascot DSE (hwmodel.spec.AcceleratorSpec.variant).\n"
        "# Energies, areas and static power are filled from the 45 nm technology tables (hwmodel.energy,\n"
        "# hwmodel.area: Accelergy ERT/ART, CACTI and Aladdin reference points) and written out explicitly.\n"
    )


def compare_with_baseline(study: Any, settings: StudySettings, baseline: str = "relmas6") -> pd.DataFrame:
    """The baseline (enqueued first, once per policy) and the best finished designs at equal or lower area.

    Rows: ``baseline`` (its best-SLA schedule); ``best_sla`` (highest SLA at area ≤ the baseline's, then lowest energy);
    ``best_energy_at_sla`` (lowest energy at area ≤ baseline and SLA ≥ baseline). Empty when the
    baseline did not complete (e.g. the area budget was below its area).
    """
    df = trials_frame(study, settings)
    need = {"sla_satisfaction", "energy_per_inference_mj", "area_mm2", "baseline"}
    if df.empty or not need <= set(df.columns):
        return pd.DataFrame()
    done = df[df["state"] == "COMPLETE"]
    base = done[done["baseline"].astype(str) == baseline]
    if base.empty:
        return pd.DataFrame()
    # the baseline under its best schedule of the study (relmas6 is enqueued once per policy)
    b = base.sort_values(["sla_satisfaction", "energy_per_inference_mj"], ascending=[False, True]).iloc[0]
    fits = done[done["area_mm2"] <= b["area_mm2"] + 1e-9]
    rows = [("baseline", b)]
    best = fits.sort_values(["sla_satisfaction", "energy_per_inference_mj"], ascending=[False, True])
    if len(best):
        rows.append(("best_sla", best.iloc[0]))
    good = fits[fits["sla_satisfaction"] >= b["sla_satisfaction"]].sort_values("energy_per_inference_mj")
    if len(good):
        rows.append(("best_energy_at_sla", good.iloc[0]))
    cols = [c for c in ("trial", "sla_satisfaction", "energy_per_inference_mj", "area_mm2", "peak_power_w",
                        "param_policy", "param_dram_gbps", "param_period_scale", "design") if c in done.columns]
    out = pd.DataFrame([{"row": name, **{c: r[c] for c in cols}} for name, r in rows])
    return out
