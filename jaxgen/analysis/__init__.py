"""Study-level analysis: reads finished runs (workdirs) and draws each paper's figures.

Every study module reads runs through `runs` (the run record and finding runs in sweep
directories), draws per-layer curves with `jaxgen.plots.draw_layer_curves`, evaluates edited
networks with `jaxgen.evaluation`, and shares the command line of `cli`:

  python -m jaxgen.analysis.<study> [SUBCOMMAND] PATH [PATH ...] [--out=DIR]

`overview` runs every study analysis that the runs under a path support (the "analyse any
workdir" notebook).
"""
