"""Turning sweeps into runs: `sweep` expands them, `local` executes them on this machine."""
