"""Optimizers: optax builders from config, schedules, and layer-wise transforms."""
