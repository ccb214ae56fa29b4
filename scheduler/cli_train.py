"""``mascot train relmas``: train a RELMAS scheduling policy (DDPG, LSTM actor and critic).

Importing this module also registers the ``relmas:`` policy prefix, so ``relmas:PATH`` and
``relmas:default`` work in every command that takes a policy name (``mascot simulate``,
``mascot compare``).
"""

from __future__ import annotations

from pathlib import Path

import typer

from mascot.errors import MascotError
from mascot.ui import console, print_frame, print_json, progress

train_app = typer.Typer(help="Train learned scheduling policies.", no_args_is_help=True)


@train_app.command("relmas")
def relmas_cmd(
    table: Path = typer.Option(..., "--table", help="Layer table (Parquet/CSV) built for the system."),
    system: str = typer.Option("relmas6", "--system", help="System name or YAML path."),
    workload: str = typer.Option("mixed", "--workload", "-w", help="Workload set: light | heavy | mixed."),
    qos: str = typer.Option("medium", "--qos", help="QoS of the training traces: low | medium | high | mixed."),
    steps: int = typer.Option(2000, "--steps", min=0, help="DDPG updates (mini-batch gradient steps)."),
    seed: int = typer.Option(0, "--seed", min=0, help="Seed of the networks, the noise and the training traces."),
    output: Path = typer.Option(..., "--output", "-o", help="Policy file to write (the best validated actor)."),
    hidden: int = typer.Option(256, "--hidden", min=2, help="LSTM hidden size h of actor and critic."),
    max_rq: int = typer.Option(64, "--max-rq", min=1, help="RQ entries the policy encodes (most urgent first)."),
    period_s: float | None = typer.Option(None, "--period-s", help="Scheduling period (default: the scenario's)."),
    mean_interarrival_s: float | None = typer.Option(None, "--mean-interarrival-s", help="Mean request gap (default: the scenario's)."),
    duration_s: float | None = typer.Option(None, "--duration-s", help="Length of each training trace."),
    qos_factor: float | None = typer.Option(None, "--qos-factor", help="Medium QoS factor (deadline / isolated latency)."),
    bc_episodes: int = typer.Option(4, "--bc-episodes", min=0, help="Teacher episodes for the warm start (0: none)."),
    bc_steps: int = typer.Option(400, "--bc-steps", min=0, help="Imitation updates of the actor (0: plain DDPG)."),
    teacher: str = typer.Option("prema-h", "--teacher", help="Heuristic imitated by the warm start."),
    critic_warmup: int = typer.Option(200, "--critic-warmup", min=0, help="First updates train only the critic."),
    bc_weight: float = typer.Option(2.5, "--bc-weight", min=0.0, help="TD3+BC actor penalty λ (0: the paper's plain DDPG)."),
    eval_every: int = typer.Option(250, "--eval-every", min=1, help="Validate (held-out traces) every K updates."),
    eval_traces: int = typer.Option(2, "--eval-traces", min=1, help="Held-out validation traces (per --eval-qos level)."),
    eval_qos: str = typer.Option("medium", "--eval-qos", help="QoS levels of the validation traces: e.g. medium, low,medium,high, all."),
    mode: str = typer.Option("direct", "--mode", help="direct: the paper's decoding; residual: the actor corrects --base (ours)."),
    features: str = typer.Option("paper", "--features", help="paper: F = 4 + 2M; extended: + remaining work, slack, token, QoS, base rank (ours)."),
    base: str = typer.Option("prema-h", "--base", help="Heuristic the residual actor corrects (--mode residual)."),
    prio_scale: float = typer.Option(0.5, "--prio-scale", min=0.0, help="Residual: priority shift at |a| = 1 (base ranks span [-1, 1])."),
    sa_bonus: float = typer.Option(0.75, "--sa-bonus", min=0.0, help="Residual: score bonus of the heuristic's SA."),
    noise_std: float = typer.Option(0.2, "--noise-std", min=0.0, help="Exploration noise σ at the start (decays to --noise-std-final)."),
    noise_std_final: float = typer.Option(0.05, "--noise-std-final", min=0.0, help="Exploration noise σ after the decay."),
    job_noise: bool = typer.Option(False, "--job-noise", help="Residual: one priority-noise draw per job, shared by its SJs (ours)."),
    noise_decay_updates: int = typer.Option(2000, "--noise-decay-updates", min=1, help="Updates over which σ decays linearly."),
    actor_lr: float = typer.Option(1e-4, "--actor-lr", min=0.0, help="Actor learning rate (Adam)."),
    discount: float = typer.Option(0.9, "--discount", min=0.0, max=0.999,
                                   help="Critic's discount per period (horizon ≈ 1 / (1 − discount) periods; the paper gives none)."),
    updates_per_step: float = typer.Option(0.5, "--updates-per-step", min=0.0, help="DDPG updates per decision of each new episode."),
    select_margin: float = typer.Option(0.0, "--select-margin", min=0.0, help="Validation SLA gain a later actor needs to replace the best one."),
    max_minutes: float = typer.Option(0.0, "--max-minutes", min=0.0, help="Stop after this many minutes of wall time (0: no limit)."),
    checkpoint_every: int = typer.Option(500, "--checkpoint-every", min=1, help="Checkpoint every K updates (<output>.ckpt)."),
    resume: bool = typer.Option(False, "--resume", help="Continue from <output>.ckpt."),
    threads: int = typer.Option(1, "--threads", min=1, help="torch CPU threads."),
    alpha: float = typer.Option(0.10, "--alpha", help="Reward: deadline hit."),
    beta: float = typer.Option(0.11, "--beta", help="Reward: deadline miss penalty."),
    gamma: float = typer.Option(0.05, "--gamma", help="Reward: weight of normalised slack."),
    delta: float = typer.Option(0.01, "--delta", help="Reward: weight of events beyond the period."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object instead of tables."),
) -> None:
    """Train RELMAS on generated traces of one scenario; writes the policy, a CSV learning curve and its PNG."""
    import pandas as pd

    from scheduler.relmas.scenarios import scenario
    from scheduler.relmas.train import Trainer, config_from
    from scheduler.table import load_sim_table
    from workloads.traces import workload_sets

    sets = workload_sets()
    if workload not in sets:
        raise MascotError(f"unknown workload set {workload!r}", hint=f"use one of {', '.join(sets)}")
    sim_table = load_sim_table(table, system, models=None)
    missing = sorted(set(sets[workload]) - set(sim_table.models))
    if missing:
        from workloads.zoo import resolve_name

        missing = [m for m in missing if resolve_name(m) not in sim_table.models]
    if missing:
        raise MascotError(f"the layer table lacks models {missing} of workload set {workload!r}", path=table,
                          hint="build the table with every model of the set")
    sc = scenario(workload, qos, period_s=period_s, mean_interarrival_s=mean_interarrival_s, duration_s=duration_s,
                  medium_qos_factor=qos_factor)
    cfg = config_from(steps=steps, seed=seed, hidden=hidden, max_rq=max_rq, bc_episodes=bc_episodes, bc_steps=bc_steps,
                      teacher=teacher, critic_warmup=critic_warmup, bc_weight=bc_weight, eval_every=eval_every, eval_traces=eval_traces,
                      eval_qos=eval_qos, mode=mode, features=features, base=base, prio_scale=prio_scale, sa_bonus=sa_bonus,
                      noise_std=noise_std, noise_std_final=noise_std_final, noise_decay_updates=noise_decay_updates, job_noise=job_noise, actor_lr=actor_lr,
                      discount=discount,
                      updates_per_step=updates_per_step, select_margin=select_margin, max_wall_s=max_minutes * 60.0,
                      checkpoint_every=checkpoint_every, threads=threads, alpha=alpha, beta=beta, gamma=gamma, delta=delta)
    from scheduler.policies import get_policy

    get_policy(teacher)  # unknown teacher / base names fail now, not after minutes of work
    get_policy(base)
    trainer = Trainer(sim_table, sc, cfg, output=output)
    with progress(disable=as_json) as bar:
        task = bar.add_task(f"RELMAS {sc.name}", total=steps, status="warm start")

        def tick(updates: int, info: dict) -> None:
            bar.update(task, completed=updates, status=f"best val SLA {info['val']:.3f}")

        result = trainer.run(resume=resume, progress=tick)
        bar.update(task, completed=result.updates, status=f"best val SLA {result.best_val_sla:.3f}")
    head = {
        "policy": str(output), "scenario": sc.name, "updates": result.updates, "episodes": result.episodes,
        "best_val_sla": result.best_val_sla, "best_update": trainer.best_update(), "reference_val_sla": trainer.reference,
        "wall_s": round(result.wall_s, 1),
        "curve_csv": str(output.with_suffix(".curve.csv")), "curve_png": str(output.with_suffix(".curve.png")),
        "checkpoint": str(trainer.ckpt_path),
    }
    if as_json:
        print_json(head)
        return
    cols = ["updates", "episodes", "train_sla", "val_sla", "best_val_sla", "critic_loss", "actor_loss", "wall_s"]
    print_frame(result.curve[cols].tail(12), title=f"RELMAS learning curve ({sc.name})")
    refs = pd.DataFrame([{"policy": k, "val_sla": v} for k, v in trainer.reference.items()])
    if len(refs):
        print_frame(refs, title="reference policies on the validation traces")
    console.print(f"wrote {output}: the actor of update {head['best_update']} (use it as relmas:{output}), "
                  f"{head['curve_csv']}, {head['curve_png']}")


def register(app: typer.Typer) -> None:
    # the relmas: policy prefix registers itself on first use (scheduler.policies resolves it lazily),
    # so torch is not imported when the CLI starts
    app.add_typer(train_app, name="train")
