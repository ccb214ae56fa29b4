"""dse: Optuna co-design of the sub-accelerator mix, hardware parameters and the schedule."""
