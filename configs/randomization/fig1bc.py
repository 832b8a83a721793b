"""Figures 1b and 1c: time to fit and test error at fit against label corruption p.

  python -m launch.local --config=configs/randomization/fig1bc.py --workdir=/tmp/rand/fig1bc
  python -m jaxgen.analysis.randomization /tmp/rand/fig1bc

33 runs: p in {0, 0.1, ..., 1.0} (each training label redrawn uniformly from the 10 classes
with probability p, once, from data.corruption.seed; test labels stay true) x {Small Inception
(lr 0.1), Small AlexNet (lr 0.01), MLP 1x512 (lr 0.01)}. Each stops at 100% running train
accuracy over an epoch; summary.json records the step, epoch and test accuracy at that point.

Expected (paper, Fig. 1b/c): the steps to fit grow with p (Inception ~5k steps at p=0 to
~15k at p=1); the test error at fit rises from the clean error (Table 1, no crop, no weight
decay: 14.25% Inception, 23.93% AlexNet, 49.49% MLP 1x512) to ~90% at p=1. The MLP reached
only 99.34% train accuracy on random labels in Table 1, so its p=1 run may end at the epoch
limit as "not fitted"; the analysis shows it so.
Runtime (estimated, not measured: no GPU or CIFAR-10 here; per step on a 2-core CPU,
measured: Inception 7.9 s, AlexNet 0.9 s, MLP 11 ms): Inception and AlexNet runs are GPU jobs
of about 5-30 minutes each; the 11 MLP runs take about 5 s per epoch on a 2-core CPU.
"""

import ml_collections

from configs.randomization import base

MODELS = ("inception_small", "alexnet_small", "mlp_1x512")


def get_config() -> ml_collections.ConfigDict:
  return base.get_config()


def get_sweep() -> list[dict]:
  return [{**base.model_overrides(model), **base.label_noise_overrides(p)}
          for model in MODELS for p in base.CORRUPTION_LEVELS]
