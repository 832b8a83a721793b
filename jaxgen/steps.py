"""Pure per-seed train, eval and measurement steps, and the data order of an epoch. The
trainer vmaps them over seeds and jits each once per run."""

import flax.linen as nn
import jax
import jax.numpy as jnp
import ml_collections
import optax

from jaxgen import metrics as metrics_lib
from jaxgen import precision
from jaxgen.data.augment import prepare_inputs
from jaxgen.data.pipeline import batch_of_order, epoch_order, gather_batch
from jaxgen.train_state import (
    DATA_STREAM,
    GRADIENT_NOISE_STREAM,
    REFERENCE_FIELDS,
    STEP_STREAM,
    TrainState,
    zero_sums,
)


def _cross_entropy(logits: jnp.ndarray, labels: jnp.ndarray) -> jnp.ndarray:
  return optax.softmax_cross_entropy_with_integer_labels(logits, labels)


def seed_epoch_order(rng: jax.Array, epoch: jax.Array, *, num_examples: int,
                     config: ml_collections.ConfigDict) -> jax.Array:
  """The order in which one seed visits the training examples in epoch `epoch`.

  Args:
    rng: the seed's base key (`TrainState.rng`); its data stream fixes the order.
    epoch: the epoch (0-based).
    num_examples: the training set's size (bound statically).
    config: the run config (bound statically; `train.shuffle`).

  Returns:
    (num_examples,) int32 indices, the `order` that `train_step` takes during the epoch.
  """
  data_key = jax.random.fold_in(rng, DATA_STREAM)
  return epoch_order(data_key, epoch, num_examples, config.train.shuffle)


def train_step(state: TrainState, order: jax.Array, images: jnp.ndarray, labels: jnp.ndarray,
               *, model: nn.Module, tx: optax.GradientTransformation,
               config: ml_collections.ConfigDict,
               batch_sharding: jax.sharding.Sharding | None = None,
               keep_frozen: bool = True) -> TrainState:
  """One optimizer step of one seed on its next batch of the device-resident training set.

  Args:
    state: the seed's state.
    order: the seed's `seed_epoch_order` of the current epoch (N,).
    images: all training images (N, H, W, C), shared by every seed.
    labels: all training labels (N,).
    model: the flax module (bound statically).
    tx: the optimizer (bound statically).
    config: the run config (bound statically).
    batch_sharding: how to lay the batch out over the "data" mesh axis, if at all.
    keep_frozen: whether a seed that is no longer active keeps its state (bound statically).
      False is for steps that only run while every seed is active: the select between the
      new and the old state costs a quarter of an MLP's step on XLA:CPU, which then computes
      the optimizer's update twice and copies the old state.

  Returns:
    The new state; unchanged if the seed is no longer active and `keep_frozen`.
  """
  step_key = jax.random.fold_in(jax.random.fold_in(state.rng, STEP_STREAM), state.step)
  augment_key, dropout_key = jax.random.split(step_key)

  indices = batch_of_order(order, state.step, config.train.batch_size)
  batch_images, batch_labels = gather_batch(images, labels, indices)
  if batch_sharding is not None:
    batch_images = jax.lax.with_sharding_constraint(batch_images, batch_sharding)
  inputs = prepare_inputs(batch_images, augment_key, True, config.data, config.augment)

  def loss_fn(params):
    variables = {"params": params, "batch_stats": state.batch_stats}
    logits, updates = precision.apply_model(
        model, variables, inputs, config.train.compute_dtype, train=True,
        mutable=["batch_stats"], rngs={"dropout": dropout_key})
    logits = logits.astype(jnp.float32)  # The loss in float32 under mixed precision too.
    return _cross_entropy(logits, batch_labels).mean(), (logits, updates)

  (loss, (logits, model_updates)), grads = jax.value_and_grad(loss_fn, has_aux=True)(
      state.params)
  extra_args = {}
  if config.optim.gradient_noise:  # The optimizer's first transform adds it from this key.
    extra_args["noise_key"] = jax.random.fold_in(
        jax.random.fold_in(state.rng, GRADIENT_NOISE_STREAM), state.step)
  updates, opt_state = tx.update(grads, state.opt_state, state.params, **extra_args)
  correct = jnp.sum(jnp.argmax(logits, -1) == batch_labels)
  sums = state.train_sums
  new_state = state.replace(
      step=state.step + 1,
      params=optax.apply_updates(state.params, updates),
      batch_stats=model_updates.get("batch_stats", state.batch_stats),
      opt_state=opt_state,
      train_sums={"loss": sums["loss"] + loss * batch_labels.shape[0],
                  "correct": sums["correct"] + correct,
                  "count": sums["count"] + batch_labels.shape[0]},
  )
  if not keep_frozen:
    return new_state
  return jax.tree.map(lambda new, old: jnp.where(state.active, new, old), new_state, state)


def eval_step(state: TrainState, images: jnp.ndarray, labels: jnp.ndarray,
              mask: jnp.ndarray, *, model: nn.Module, config: ml_collections.ConfigDict,
              batch_sharding: jax.sharding.Sharding | None = None) -> dict[str, jnp.ndarray]:
  """Loss, accuracy and top-k accuracies of one seed's state on a whole split: the
  `evaluate_batches` of its params and batch_stats (see there for the arguments)."""
  variables = {"params": state.params, "batch_stats": state.batch_stats}
  return evaluate_batches(variables, images, labels, mask, model=model, config=config,
                          batch_sharding=batch_sharding)


def evaluate_batches(variables: dict, images: jnp.ndarray, labels: jnp.ndarray,
                     mask: jnp.ndarray, *, model: nn.Module, config: ml_collections.ConfigDict,
                     batch_sharding: jax.sharding.Sharding | None = None
                     ) -> dict[str, jnp.ndarray]:
  """Loss, accuracy and top-k accuracies of model variables on a whole split, in batches.

  Args:
    variables: {"params": ..., "batch_stats": ...} of one network.
    images: the split padded to (num_batches, batch, H, W, C).
    labels: (num_batches, batch) labels.
    mask: (num_batches, batch) 1 for real examples, 0 for padding.
    model: the flax module (bound statically).
    config: the run config (bound statically).
    batch_sharding: how to lay each batch out over the "data" mesh axis, if at all.

  Returns:
    {"loss": mean loss, "accuracy": fraction correct} over the real examples, and
    "top{k}_accuracy" (true label among the k largest logits) for each k in
    `config.train.eval_top_k`.
  """
  top_k = tuple(config.train.eval_top_k)

  def one_batch(batch):
    batch_images, batch_labels, batch_mask = batch
    if batch_sharding is not None:
      batch_images = jax.lax.with_sharding_constraint(batch_images, batch_sharding)
    inputs = prepare_inputs(batch_images, None, False, config.data, config.augment)
    logits = precision.apply_model(model, variables, inputs, config.train.compute_dtype,
                                   train=False).astype(jnp.float32)
    loss = jnp.sum(_cross_entropy(logits, batch_labels) * batch_mask)
    hits = {"accuracy": jnp.argmax(logits, -1) == batch_labels}
    if top_k:
      # Ties with the k-th largest logit count as hits, as in tf.math.in_top_k.
      descending = -jnp.sort(-logits, axis=-1)
      true_logit = jnp.take_along_axis(logits, batch_labels[:, None], axis=-1)[:, 0]
      for k in top_k:
        hits[f"top{k}_accuracy"] = true_logit >= descending[:, k - 1]
    return loss, {name: jnp.sum(hit * batch_mask) for name, hit in hits.items()}

  losses, hit_counts = jax.lax.map(one_batch, (images, labels, mask))
  count = jnp.sum(mask)
  return {"loss": jnp.sum(losses) / count,
          **{name: jnp.sum(hits) / count for name, hits in hit_counts.items()}}


def measure_step(state: TrainState, *,
                 config: ml_collections.ConfigDict) -> tuple[TrainState, dict[str, jnp.ndarray]]:
  """Closes a logging interval: averaged train loss/accuracy and the per-layer metrics.

  Args:
    state: the seed's state; it holds the reference snapshots the configured metrics declare.
    config: the run config (bound statically).

  Returns:
    The state with the train sums reset and `previous_params`, if kept, set to the current
    parameters (the reference of the next relative-weight-change measurement), and a flat
    dict of scalars: "loss", "accuracy" and "<metric>/<layer path>" for each configured metric.
  """
  sums = state.train_sums
  count = jnp.maximum(sums["count"], 1.0)
  values = {"loss": sums["loss"] / count, "accuracy": sums["correct"] / count}
  for name in config.metrics.names:
    kind = metrics_lib.METRICS.metadata(name)["reference"]
    reference = None if kind is None else getattr(state, REFERENCE_FIELDS[kind])
    if kind is not None and reference is None:
      raise ValueError(f"metric {name!r} compares with the {kind} parameters, which this state "
                       "does not keep; build it with init_state(..., references=...)")
    per_layer = metrics_lib.METRICS.build(name, config.metrics, state.params, reference)
    values.update({f"{name}/{path}": value for path, value in per_layer.items()})
  previous = None if state.previous_params is None else state.params
  return state.replace(previous_params=previous, train_sums=zero_sums()), values
