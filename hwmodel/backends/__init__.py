"""Cost backends: the built-in analytical model (more register through ``mascot.cost_backends``)."""
