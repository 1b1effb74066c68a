"""The names lr_tb gives what it writes: TensorBoard tags, and the key it puts in epoch logs.

Per-step series take Keras' per-batch names (`keras.callbacks.TensorBoard` writes a per-batch
value as `batch_<name>` and a per-epoch one as `epoch_<name>`): TensorBoard lists tag groups
by name and opens the first ones, and `batch_*` sorts before Keras' `epoch_*`, so the first
thing `tensorboard --logdir` shows is the rate of every step. Each is one point per optimizer
update, on the 0-based update axis, in run `<log_dir>/train`.

lr_tb 0.1 wrote these without the `batch_` prefix (`learning_rate`, `momentum`, ...).
"""

from __future__ import annotations

PREFIX = "batch_"

LEARNING_RATE = PREFIX + "learning_rate"
"""The rate each optimizer update applied."""

EFFECTIVE_WEIGHT_DECAY = PREFIX + "effective_weight_decay"
"""`weight_decay * learning_rate` of each update (`log_weight_decay=True`)."""

LR_SCALE = PREFIX + "lr_scale"
"""The plateau's scale each update used (`ReduceLROnPlateau(schedule=...)`)."""

FINDER_LOSS = PREFIX + "loss"
"""`find_learning_rate`: each step's own batch loss."""

FINDER_SMOOTHED_LOSS = PREFIX + "smoothed_loss"
"""`find_learning_rate`: fastai's smoothed loss."""

FINDER_IMAGE = "lr_finder"
"""`find_learning_rate`: the loss-against-rate figure (an image, TensorBoard's Images tab)."""

EPOCH_LOG_KEY = "learning_rate"
"""The key lr_tb's callbacks set in the epoch logs (so `History` has it): the rate of the
epoch's last step, the one its last update applied. Keras' own `TensorBoard` writes epoch logs
as `epoch_<key>`."""


def momentum(attribute: str) -> str:
    """The tag of an optimizer's momentum attribute (`momentum` of SGD, `beta_1` of Adam):
    `batch_momentum`, `batch_beta_1`."""
    return PREFIX + attribute


MOMENTUM = momentum("momentum")
BETA_1 = momentum("beta_1")

__all__ = [
    "BETA_1",
    "EFFECTIVE_WEIGHT_DECAY",
    "EPOCH_LOG_KEY",
    "FINDER_IMAGE",
    "FINDER_LOSS",
    "FINDER_SMOOTHED_LOSS",
    "LEARNING_RATE",
    "LR_SCALE",
    "MOMENTUM",
    "momentum",
]
