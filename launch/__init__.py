"""Turning sweeps into runs: `sweep` expands them; `local` executes them on this machine,
`slurm` submits them to SLURM as a job array (`task` is one array task, `jobs` the record of
them) and `status` reports on them. `cluster/` brings up a one-node SLURM cluster for tests."""
