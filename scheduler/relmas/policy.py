"""The trained RELMAS actor as a scheduling policy: ``relmas:PATH`` and ``relmas:default``.

At every period the actor reads the primer row and the first ``max_rq`` RQ entries (deadline
order) and answers, per entry, a priority (column 0) and the SA of the highest score (columns
1..M). Entries past ``max_rq`` run after every encoded one, each on its fastest SA
(:func:`scheduler.sim.encoding.decode_action`).

A *policy file* (what ``mascot train relmas -o policy.pt`` writes) holds only the actor's weights,
its shapes and the encoder's vocabulary: a plain dict of tensors and numbers, loaded with
``torch.load(weights_only=True)``. ``relmas:default`` is a dispatcher over the shipped policies
of ``scheduler/relmas/models/`` for ``relmas6``: it looks at the models a trace requests and picks
the policy trained on that workload set (light ⊂ light, heavy ⊂ heavy, anything else mixed).
The shipped files (format 2) are residual policies over PREMA-H with the extended features
(:mod:`scheduler.relmas.codec`); a file's ``mode`` / ``residual`` / ``encoder.features`` say how to
read it, and format-1 files (no such keys) load as the paper's direct policy.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch

from mascot.errors import MascotError
from scheduler.policies.base import Policy
from scheduler.relmas.codec import Codec, ResidualSpec
from scheduler.relmas.encoding import Encoder
from scheduler.relmas.networks import Actor
from scheduler.sim.view import Decision, PeriodView

FORMAT = "mascot.relmas.policy"
FORMAT_VERSION = 2  # 2: + "mode" / "residual" and the encoder's feature set (format-1 files still load)
MODELS_DIR = Path(__file__).resolve().parent / "models"
DEFAULT_SYSTEM = "relmas6"
WORKLOAD_SETS: tuple[str, ...] = ("light", "heavy", "mixed")


def policy_payload(actor: Actor, encoder: Encoder, max_rq: int, meta: dict[str, Any] | None = None,
                   mode: str = "direct", residual: ResidualSpec | None = None) -> dict[str, Any]:
    """The dict a policy file holds (tensors, numbers, strings only: safe to load)."""
    return {
        "mode": mode,
        "residual": None if residual is None or mode != "residual" else residual.to_dict(),
        "format": FORMAT,
        "version": FORMAT_VERSION,
        "hidden": actor.hidden,
        "n_features": actor.n_features,
        "n_actions": actor.n_actions,
        "max_rq": int(max_rq),
        "encoder": encoder.to_dict(),
        "actor": {k: v.detach().clone() for k, v in actor.state_dict().items()},
        "meta": dict(meta or {}),
    }


def save_policy(path: str | Path, actor: Actor, encoder: Encoder, max_rq: int, meta: dict[str, Any] | None = None,
                mode: str = "direct", residual: ResidualSpec | None = None) -> Path:
    from mascot.io import atomic_write

    payload = policy_payload(actor, encoder, max_rq, meta, mode, residual)
    return atomic_write(path, lambda p: torch.save(payload, p))


def load_payload(path: str | Path) -> dict[str, Any]:
    p = Path(path)
    if not p.is_file():
        raise MascotError("RELMAS policy file not found", path=p, hint="train one with `mascot train relmas -o FILE.pt` or use relmas:default")
    try:
        d = torch.load(p, map_location="cpu", weights_only=True)
    except Exception as exc:  # corrupted / foreign file
        raise MascotError(f"cannot read RELMAS policy: {exc}", path=p) from None
    if not isinstance(d, dict) or d.get("format") != FORMAT:
        raise MascotError("not a RELMAS policy file", path=p, hint="pass the file written by `mascot train relmas -o`")
    if int(d.get("version", 0)) > FORMAT_VERSION:
        raise MascotError(f"RELMAS policy format {d.get('version')} is newer than this mascot ({FORMAT_VERSION})", path=p)
    return d


class RelmasPolicy(Policy):
    """Greedy (noise-free) RELMAS actor; ``decision_rows`` counts the SJs it decided (for timing).

    ``refine = K > 0`` is our extension beyond the paper: the actor's action and K perturbed copies
    (Gaussian noise of ``refine_std`` on every output, seeded by ``reset``) are scored with the
    simulator's one-period what-if forecast (:class:`~scheduler.sim.forecast.BatchForecaster`, the
    fitness MAGMA uses) and the best is applied; ties keep the actor's own action. It costs K + 1
    forecasts per period instead of MAGMA's thousands.

    ``mode="residual"`` (ours, :mod:`scheduler.relmas.codec`): the actor corrects a base heuristic's
    decision instead of replacing it.
    """

    name = "relmas"

    def __init__(self, actor: Actor, encoder: Encoder, max_rq: int = 128, label: str = "relmas", refine: int = 0,
                 refine_std: float = 0.3, mode: str = "direct", residual: ResidualSpec | None = None) -> None:
        self.actor = actor.eval()
        self.encoder = encoder
        self.max_rq = int(max_rq)
        self.codec = Codec(encoder, self.max_rq, mode, residual)
        self.name = label
        self.refine = int(refine)
        self.refine_std = float(refine_std)
        self.decision_rows = 0
        # One intra-op thread for the process (a deliberate global setting): the network is far too
        # small to gain from more, and on a busy machine torch's pool spin-waits (measured: 100 ms
        # instead of ~1 ms per decision); switching per call costs ~10 ms by itself.
        if torch.get_num_threads() != 1:
            torch.set_num_threads(1)
        with torch.no_grad():  # torch initialises lazily: pay that here, not in the first decision
            self.actor(torch.zeros((1, 2, encoder.n_features)))
        self.reset(0)

    @classmethod
    def load(cls, path: str | Path, max_rq: int | None = None, refine: int = 0) -> "RelmasPolicy":
        d = load_payload(path)
        actor = Actor(int(d["n_features"]), int(d["n_actions"]), int(d["hidden"]))
        try:
            actor.load_state_dict(d["actor"])
        except RuntimeError as exc:
            raise MascotError(f"RELMAS policy weights do not match their shapes: {exc}", path=path) from None
        mode = str(d.get("mode", "direct"))
        residual = ResidualSpec.from_dict(d["residual"]) if d.get("residual") else None
        return cls(actor, Encoder.from_dict(d["encoder"]), int(max_rq or d["max_rq"]), label="relmas", refine=refine,
                   mode=mode, residual=residual)

    def reset(self, seed: int = 0) -> None:
        super().reset(seed)
        self.decision_rows = 0
        if hasattr(self, "codec"):
            self.codec.reset(seed)

    @torch.no_grad()
    def actions(self, view: PeriodView) -> np.ndarray:
        """[min(R, max_rq), G] actor outputs for ``view``.

        """
        self.encoder.check(view)
        state = self.codec.encode(view)
        return self.actor(torch.from_numpy(state)[None])[0].numpy()

    def schedule(self, view: PeriodView) -> Decision:
        a = self.actions(view)
        self.decision_rows += view.n_rq
        best = self.codec.decode(view, a)
        if self.refine <= 0 or view._sim is None or len(a) == 0:
            return best
        cands = [best] + [
            self.codec.decode(view, np.clip(a + self.rng.normal(0.0, self.refine_std, size=a.shape), -1.0, 1.0))
            for _ in range(self.refine)
        ]
        sa = np.stack([c.sa for c in cands])
        prio = np.stack([c.priority for c in cands])
        fit = view.batch_forecaster().evaluate(sa, prio)
        return cands[int(np.argmax(fit))]


def workload_set_of(model_names: set[str]) -> str:
    """light / heavy when every requested model is in that set, mixed otherwise."""
    from workloads.traces import workload_sets
    from workloads.zoo import resolve_name

    def canon(m: str) -> str:
        try:
            return resolve_name(m)
        except MascotError:
            return m

    names = {canon(m) for m in model_names}
    sets = {k: {canon(m) for m in v} for k, v in workload_sets().items()}
    for ws in ("light", "heavy"):
        if ws in sets and names <= sets[ws]:
            return ws
    return "mixed"


def shipped_policy_path(workload_set: str, system: str = DEFAULT_SYSTEM) -> Path:
    return MODELS_DIR / f"{system}-{workload_set}.pt"


class DefaultRelmasPolicy(Policy):
    """``relmas:default``: the shipped policy for the trace's workload set (chosen per trace)."""

    name = "relmas"

    def __init__(self, system: str = DEFAULT_SYSTEM, refine: int = 0) -> None:
        self.system = system
        self.refine = int(refine)
        self._policies: dict[str, RelmasPolicy] = {}
        for ws in WORKLOAD_SETS:  # load up front so no decision pays for reading a file
            if shipped_policy_path(ws, system).is_file():
                self._get(ws)
        self._jobs_id: int | None = None
        self.current: RelmasPolicy | None = None
        self.reset(0)

    def _get(self, ws: str) -> RelmasPolicy:
        if ws not in self._policies:
            path = shipped_policy_path(ws, self.system)
            if not path.is_file():
                raise MascotError(
                    f"no shipped RELMAS policy for workload set {ws!r} on {self.system!r}",
                    path=path, hint="train one with `mascot train relmas` and pass relmas:PATH",
                )
            self._policies[ws] = RelmasPolicy.load(path, refine=self.refine)
        return self._policies[ws]

    def reset(self, seed: int = 0) -> None:
        super().reset(seed)
        self._jobs_id = None
        self.current = None
        for p in self._policies.values():
            p.reset(seed)

    def schedule(self, view: PeriodView) -> Decision:
        if self.current is None or self._jobs_id != id(view.jobs):
            names = {view.table.models[k] for k in np.unique(view.jobs.model).tolist()}
            self.current = self._get(workload_set_of(names))
            self._jobs_id = id(view.jobs)
        return self.current.schedule(view)


def make_policy(arg: str, **kw: Any) -> Policy:
    """Factory for the registry prefix ``relmas``: ``relmas:PATH`` or ``relmas:default``.

    A ``?refine=K`` suffix (``relmas:default?refine=8``) turns on the forecast refinement."""
    arg, _, query = arg.strip().partition("?")
    if query:
        key, _, value = query.partition("=")
        if key != "refine" or not value.isdigit():
            raise MascotError(f"unknown RELMAS option {query!r}", hint="the only option is ?refine=K (K >= 0 candidates)")
        kw["refine"] = int(value)
    if arg in ("", "default"):
        return DefaultRelmasPolicy(**kw)
    return RelmasPolicy.load(arg, **kw)


def register() -> None:
    """Register the ``relmas:`` prefix in the policy registry (idempotent)."""
    from scheduler.policies import register_policy_prefix

    register_policy_prefix("relmas", make_policy)


register()
