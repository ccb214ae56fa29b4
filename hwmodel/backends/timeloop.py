"""The ``timeloop`` cost backend: runs the real ``timeloop-mapper`` (with Accelergy) per layer.

Why: users of the field trust Timeloop; mascot must be able to drive it (to check the analytical
model, or to build tables with it) without requiring it. For each (layer, SA) the backend

1. writes the SA as Timeloop v0.3 architecture / component / constraint YAML (the exporter of
   :mod:`hwmodel.timeloop_format`), the layer as a ``CNN-Layer`` problem, and a mapper
   configuration (algorithm, threads, timeout, victory condition, optimisation metrics from the
   objective);
2. runs ``timeloop-mapper`` in a fresh temporary folder, several layers in parallel, stopping a
   search that passes the wall-clock cap with SIGINT (Timeloop then reports the best mapping so far,
   as the reference runs did);
3. parses ``timeloop-mapper.stats.txt`` and ``.map.yaml`` with :mod:`hwmodel.timeloop_output`.

Modelling choices (Timeloop's CNN-Layer has no groups and no non-MAC operators):

* a grouped convolution is one group's problem (C/g, M/g) run ``g`` times back to back: cycles,
  energy and DRAM traffic are multiplied by ``g``;
* ``vector`` layers (pooling, element-wise...) are costed by the ``analytical`` backend, and their
  rows say so (``backend = "analytical"``).

Without ``timeloop-mapper`` the constructor raises a :class:`MascotError` saying how to install it.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import yaml

from mascot.errors import MascotError
from mascot.io import safe_filename
from workloads.layer import Layer

from hwmodel.cost import LayerCost, scale_cost
from hwmodel.spec import AcceleratorSpec
from hwmodel.timeloop_output import read_run

INSTALL_HINT = (
    "install Timeloop and Accelergy (https://timeloop.csail.mit.edu/v4/installation: the "
    "`timeloopproject/timeloop-accelergy-exercises` Docker image has both, or build timeloop from source and "
    "`pip install accelergy`), then put `timeloop-mapper` on the PATH or pass --timeloop-bin DIR"
)
OBJECTIVE_METRICS = {"delay": ["delay", "energy"], "energy": ["energy", "delay"], "edp": ["edp"]}


def find_binary(name: str, hint_path: str | Path | None = None) -> Path | None:
    """``name`` in ``hint_path`` (a file or a folder) or on the PATH."""
    if hint_path:
        p = Path(hint_path).expanduser()
        candidate = p / name if p.is_dir() else p
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return candidate.resolve()
        if p.is_dir():
            return None
    found = shutil.which(name)
    return Path(found) if found else None


def problem_yaml(layer: Layer) -> dict[str, Any]:
    """A Timeloop v0.3 ``CNN-Layer`` problem for one group of ``layer``.

    Timeloop pairs R and P with ``Wstride`` / ``Wdilation`` and S and Q with ``Hstride`` /
    ``Hdilation``; mascot's P is the output height, so the H stride goes to ``Wstride``.
    """
    g = max(1, layer.groups)
    return {
        "problem": {
            "shape": {
                "name": "CNN-Layer",
                "dimensions": ["C", "M", "R", "S", "N", "P", "Q"],
                "coefficients": [{"name": n, "default": 1} for n in ("Wstride", "Hstride", "Wdilation", "Hdilation")],
                "data-spaces": [
                    {"name": "Weights", "projection": [[["C"]], [["M"]], [["R"]], [["S"]]]},
                    {"name": "Inputs", "projection": [[["N"]], [["C"]], [["R", "Wdilation"], ["P", "Wstride"]],
                                                      [["S", "Hdilation"], ["Q", "Hstride"]]]},
                    {"name": "Outputs", "projection": [[["N"]], [["M"]], [["Q"]], [["P"]]], "read-write": True},
                ],
            },
            "instance": {
                "C": layer.C // g, "M": layer.M // g, "R": layer.R, "S": layer.S, "N": layer.N,
                "P": layer.P, "Q": layer.Q,
                "Wstride": layer.stride_h, "Hstride": layer.stride_w,
                "Wdilation": layer.dilation_h, "Hdilation": layer.dilation_w,
            },
        }
    }


def mapper_yaml(objective: str, threads: int, timeout: int, victory_condition: int, algorithm: str,
                max_permutations: int = 16) -> dict[str, Any]:
    if objective not in OBJECTIVE_METRICS:
        raise MascotError(f"unknown objective {objective!r}", hint=f"use one of {', '.join(OBJECTIVE_METRICS)}")
    return {
        "mapper": {
            "optimization-metrics": OBJECTIVE_METRICS[objective],
            "live-status": False,
            "num-threads": threads,
            "timeout": timeout,
            "victory-condition": victory_condition,
            "algorithm": algorithm,
            "max-permutations-per-if-visit": max_permutations,
        }
    }


def _export_arch(spec: AcceleratorSpec, folder: Path) -> list[Path]:
    """Write the SA's Timeloop arch / component / constraint (/ ERT) files; return them in order."""
    from hwmodel.timeloop_format import write_timeloop

    files = write_timeloop(spec, folder, stem="sa")
    return [files[k] for k in ("arch", "constraints", "ert", "art")]


class TimeloopBackend:
    """Cost backend driving ``timeloop-mapper``; see the module docstring."""

    name = "timeloop"
    version = "tl3-1"

    def __init__(
        self,
        timeloop_bin: str | Path | None = None,
        objective: str = "delay",
        seed: int = 0,
        threads: int = 2,
        timeout: int = 15000,
        victory_condition: int = 1000,
        algorithm: str = "random-pruned",
        wall_cap_s: float = 60.0,
        n_parallel: int | None = None,
        keep_dir: str | Path | None = None,
    ):
        self.mapper_bin = find_binary("timeloop-mapper", timeloop_bin)
        if self.mapper_bin is None:
            where = f" in {timeloop_bin}" if timeloop_bin else " on the PATH"
            raise MascotError(f"the timeloop backend needs `timeloop-mapper`, not found{where}", hint=INSTALL_HINT)
        if objective not in OBJECTIVE_METRICS:
            raise MascotError(f"unknown objective {objective!r}", hint=f"use one of {', '.join(OBJECTIVE_METRICS)}")
        self.accelergy_bin = find_binary("accelergy", self.mapper_bin.parent) or find_binary("accelergy")
        self.objective = objective
        self.seed = seed  # Timeloop's random-pruned search is not seedable from its config; kept for the cache key
        self.threads = threads
        self.timeout = timeout
        self.victory_condition = victory_condition
        self.algorithm = algorithm
        self.wall_cap_s = wall_cap_s
        self.n_parallel = n_parallel or max(1, (os.cpu_count() or 1) // max(1, threads))
        self.keep_dir = Path(keep_dir) if keep_dir else None
        self._analytical: Any = None

    def cache_options(self) -> dict[str, Any]:
        """Everything besides the SA and the layer that changes a result (keys the table cache)."""
        return {"threads": self.threads, "timeout": self.timeout, "victory": self.victory_condition,
                "algorithm": self.algorithm, "wall_cap_s": self.wall_cap_s, "mapper": str(self.mapper_bin)}

    # --- CostBackend ------------------------------------------------------------------------
    def evaluate(self, layer: Layer, accelerator: AcceleratorSpec) -> LayerCost:
        return self.evaluate_many([layer], accelerator)[0]

    def evaluate_many(self, layers: list[Layer], accelerator: AcceleratorSpec) -> list[LayerCost]:
        """MAC layers run on Timeloop in parallel (one temp folder each); vector layers analytically."""
        results: list[LayerCost | None] = [None] * len(layers)
        mac = [(i, layer) for i, layer in enumerate(layers) if layer.is_mac]
        vector = [(i, layer) for i, layer in enumerate(layers) if not layer.is_mac]
        if vector:
            for (i, _), cost in zip(vector, self._vector_backend().evaluate_many([v for _, v in vector], accelerator)):
                results[i] = cost
        with ThreadPoolExecutor(max_workers=max(1, min(self.n_parallel, len(mac) or 1))) as pool:
            for (i, _), cost in zip(mac, pool.map(lambda item: self._run_one(item[1], accelerator), mac)):
                results[i] = cost
        return [r for r in results if r is not None]

    # --- internals --------------------------------------------------------------------------
    def _vector_backend(self) -> Any:
        if self._analytical is None:
            from hwmodel.cost import get_backend

            self._analytical = get_backend("analytical", objective=self.objective, seed=self.seed)
        return self._analytical

    def _run_one(self, layer: Layer, spec: AcceleratorSpec) -> LayerCost:
        if self.keep_dir is not None:
            self.keep_dir.mkdir(parents=True, exist_ok=True)
            folder = Path(tempfile.mkdtemp(prefix=f"{spec.name}-{safe_filename(layer.name, max_chars=40)}-", dir=self.keep_dir))
            return self._run_in(folder, layer, spec)
        with tempfile.TemporaryDirectory(prefix="mascot-timeloop-") as tmp:
            return self._run_in(Path(tmp), layer, spec)

    def _run_in(self, folder: Path, layer: Layer, spec: AcceleratorSpec) -> LayerCost:
        inputs = _export_arch(spec, folder)
        if self.accelergy_bin is None and not any("ert" in p.name.lower() for p in inputs):
            raise MascotError("the timeloop backend needs Accelergy (`accelergy`) for energies, not found",
                              hint=INSTALL_HINT)
        mapper = _dump(folder / "mapper.yaml", mapper_yaml(self.objective, self.threads, self.timeout,
                                                          self.victory_condition, self.algorithm))
        problem = _dump(folder / "problem.yaml", problem_yaml(layer))
        cmd = [str(self.mapper_bin), *map(str, inputs), str(mapper), str(problem)]
        env = dict(os.environ)
        if self.accelergy_bin is not None:
            env["PATH"] = f"{self.accelergy_bin.parent}{os.pathsep}{env.get('PATH', '')}"
        log = folder / "stdout.log"
        run_capped(cmd, folder, log, self.wall_cap_s, env)
        try:
            cost = read_run(folder, backend=self.name)
        except MascotError as exc:
            tail = log.read_text(errors="replace")[-1500:] if log.exists() else ""
            raise MascotError(f"timeloop-mapper failed on layer {layer.name!r} ({spec.name}): {exc}\n{tail}",
                              hint="run the command by hand in a folder kept with keep_dir= to see why") from None
        return scale_cost(cost, max(1, layer.groups))


def run_capped(cmd: list[str], cwd: Path, log: Path, wall_cap_s: float, env: dict[str, str] | None = None,
               grace_s: float = 60.0, on_start: Callable[[subprocess.Popen], None] | None = None) -> int:
    """Run ``cmd``; past ``wall_cap_s`` send SIGINT (Timeloop then writes its best mapping), kill after grace."""
    with open(log, "wb") as out:
        proc = subprocess.Popen(cmd, cwd=cwd, stdout=out, stderr=subprocess.STDOUT, env=env)
        if on_start:
            on_start(proc)
        try:
            return proc.wait(timeout=wall_cap_s)
        except subprocess.TimeoutExpired:
            proc.send_signal(signal.SIGINT)
            try:
                return proc.wait(timeout=grace_s)
            except subprocess.TimeoutExpired:
                proc.kill()
                return proc.wait()


def _dump(path: Path, data: dict[str, Any]) -> Path:
    from mascot.io import atomic_write_text

    return atomic_write_text(path, yaml.safe_dump(data, sort_keys=False))
