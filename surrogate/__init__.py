"""surrogate: learned (XGBoost) cost models that stand in for the slow analytical backend."""
