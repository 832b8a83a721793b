"""Evaluating a network given as plain variables (params, batch_stats), outside the trainer.

Analyses that edit or reload parameters (layer criticality, checkpoints) call these; the
per-batch loss and accuracy are the trainer's own (`steps.evaluate_batches`), so the numbers
match the logged ones.
"""

from collections.abc import Callable
from typing import Any

import flax.linen as nn
import jax
import ml_collections
import numpy as np

from jaxgen import steps
from jaxgen.config.validation import model_kwargs
from jaxgen.data.augment import prepare_inputs
from jaxgen.data.pipeline import Dataset, Split, load_dataset, padded_batches
from jaxgen.models import build_model

PyTree = Any
Evaluator = Callable[[PyTree, PyTree], dict[str, float]]


def load_model_and_data(config: ml_collections.ConfigDict) -> tuple[nn.Module, Dataset]:
  """The model and the dataset of a run config, built as the trainer builds them.

  Args:
    config: a run config (e.g. `Run.config`).

  Returns:
    (the flax module, the Dataset).
  """
  dataset = load_dataset(config.data)
  model = build_model(config.model.name, dataset.num_classes, **model_kwargs(config.model))
  return model, dataset


def init_params(model: nn.Module, config: ml_collections.ConfigDict, sample_images: np.ndarray,
                key: jax.Array) -> PyTree:
  """Freshly initialised parameters of `model` from `key`.

  Args:
    model: the flax module.
    config: the run config (its input preprocessing gives the model's input shape).
    sample_images: a batch of raw images of the dataset (their values are unused).
    key: the initialisation key.

  Returns:
    The params tree.
  """
  sample = prepare_inputs(sample_images, None, False, config.data, config.augment)
  return model.init({"params": key, "dropout": key}, sample, train=False)["params"]


def make_evaluator(model: nn.Module, config: ml_collections.ConfigDict, images: np.ndarray,
                   labels: np.ndarray, batch_size: int | None = None) -> Evaluator:
  """A function (params, batch_stats) -> metrics on one fixed set of examples.

  The examples are padded and put on the device once and the evaluation is compiled once,
  so calling the result many times (one per edited network) costs one forward pass each.

  Args:
    model: the flax module.
    config: the run config (preprocessing, `train.eval_top_k`, `train.eval_batch_size`).
    images: raw images (N, H, W, C) as the dataset gives them.
    labels: int labels (N,).
    batch_size: examples per batch (default: `config.train.eval_batch_size`).

  Returns:
    evaluator(params, batch_stats) -> {"loss", "accuracy", "top{k}_accuracy"...} as floats.
  """
  batch_size = batch_size or config.train.eval_batch_size
  data = jax.device_put(padded_batches(Split(images, labels), batch_size))

  @jax.jit
  def run(variables):
    return steps.evaluate_batches(variables, *data, model=model, config=config)

  def evaluator(params: PyTree, batch_stats: PyTree) -> dict[str, float]:
    metrics = run({"params": params, "batch_stats": batch_stats})
    return {name: float(value) for name, value in metrics.items()}

  return evaluator


def evaluate(model: nn.Module, params: PyTree, batch_stats: PyTree, images: np.ndarray,
             labels: np.ndarray, config: ml_collections.ConfigDict,
             batch_size: int | None = None) -> dict[str, float]:
  """Loss, accuracy and top-k accuracies of one network on a set of examples, in eval mode.

  Args:
    model: the flax module.
    params: the network's params.
    batch_stats: its BatchNorm statistics ({} for none).
    images: raw images (N, H, W, C) as the dataset gives them.
    labels: int labels (N,).
    config: the run config (preprocessing, `train.eval_top_k`).
    batch_size: examples per batch (default: `config.train.eval_batch_size`).

  Returns:
    {"loss": mean loss, "accuracy": fraction correct, "top{k}_accuracy": ...} as floats.

  Each call builds and compiles its evaluator: to evaluate many networks on the same examples
  (e.g. every layer reset of a criticality heatmap), build one with `make_evaluator`.
  """
  return make_evaluator(model, config, images, labels, batch_size)(params, batch_stats)
