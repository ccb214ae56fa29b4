"""scheduler: event-driven multi-accelerator simulator, scheduling policies and experiments.

Reads layer tables and traces; never calls a cost model in its hot loop.
"""
