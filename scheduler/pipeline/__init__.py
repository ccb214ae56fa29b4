"""Pipelined multi-accelerator partitioning (RESPECT, DAC'23).

Split a DNN's layer DAG into ``k`` pipeline stages on ``k`` identical devices (Coral Edge TPUs by
default) so that the slowest stage, which sets the pipeline's throughput, is as fast as possible.

* :mod:`~scheduler.pipeline.model`: the problem record and the stage-time cost model;
* :mod:`~scheduler.pipeline.costs`: problems from a LayerGraph + accelerator spec (+ layer table);
* solvers: :mod:`~scheduler.pipeline.exact` (CP-SAT), :mod:`~scheduler.pipeline.heuristic`
  (Edge TPU compiler style and latency-balanced), :mod:`~scheduler.pipeline.learned` (a
  BiLSTM policy trained by :mod:`~scheduler.pipeline.train` on :mod:`~scheduler.pipeline.synthetic`
  DAGs), all behind :func:`~scheduler.pipeline.solve.solve`;
* :mod:`~scheduler.pipeline.bench`: the RESPECT-style comparison, table and plot.

Importing this package does not import torch or OR-Tools; the solver modules do.
"""

from scheduler.pipeline.model import Partition, PipelineProblem, StageBreakdown, breakdown, evaluate_batch, is_feasible
from scheduler.pipeline.solve import SOLVERS, solve

__all__ = ["SOLVERS", "Partition", "PipelineProblem", "StageBreakdown", "breakdown", "evaluate_batch", "is_feasible",
           "solve"]
