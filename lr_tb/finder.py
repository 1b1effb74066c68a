"""The learning-rate range test: train a copy of a model while the rate sweeps a range.

`find_learning_rate` trains a *copy* of a compiled model (its layers and weights cloned, its
optimizer rebuilt from its config, fresh state) for up to `num_steps` optimizer steps while
the rate grows from `min_lr` to `max_lr`, records the loss of every step, stops when the loss
diverges, and suggests a rate with fastai's rules (Smith, "Cyclical Learning Rates for
Training Neural Networks", 2017; fastai's `Learner.lr_find`). The sweep is an lr_tb schedule
(`RangeSweep`) applied by `lr_tb.ScheduleCallback`, so the rate is applied inside the compiled
train step and the rates reported (and written to TensorBoard) are the ones the optimizer
applied, bit for bit. The user's model and optimizer are not touched.

The suggestion rules `valley`, `steep` and `minimum` and the loss smoothing are transcribed
from fastai (`fastai/callback/schedule.py` and `AvgSmoothLoss` in `fastai/learner.py`,
fastai 2.x); each function's docstring says what it does and where it differs.
"""

from __future__ import annotations

import io
import math
import numbers
import time
import warnings
from collections.abc import Callable, Sequence
from typing import Any

import keras
import numpy as np
from keras import ops

from lr_tb import _fs, tags
from lr_tb import _keras_private as P
from lr_tb import _validation as v
from lr_tb._optimizers import checked_optimizer
from lr_tb.schedules.base import StepSchedule

__all__ = [
    "DEFAULT_RULE",
    "LRFinderResult",
    "RULES",
    "RangeSweep",
    "find_learning_rate",
    "minimum",
    "smooth_losses",
    "steep",
    "suggest",
    "valley",
]

MODES = ("exponential", "linear")
BETA = 0.98  # fastai's AvgSmoothLoss default
DEFAULT_RULE = "valley"  # fastai's default `suggest_funcs` since fastai 2.4
IMAGE_TAG = tags.FINDER_IMAGE
LOSS_TAG = tags.FINDER_LOSS
SMOOTHED_LOSS_TAG = tags.FINDER_SMOOTHED_LOSS


# -- the sweep --------------------------------------------------------------------------------
def check_sweep_args(min_lr: Any, max_lr: Any, num_steps: Any, mode: Any) -> dict[str, Any]:
    """Validate the sweep's arguments; returns the checked values by argument name."""
    low = v.check_positive("min_lr", min_lr)
    high = v.check_number("max_lr", max_lr)
    if high <= low:
        raise ValueError(
            f"Argument `max_lr` must be > min_lr. Received: max_lr={max_lr!r}, min_lr={min_lr!r}"
        )
    steps = v.check_int("num_steps", num_steps, 2)
    if mode not in MODES:
        raise ValueError(f"Argument `mode` must be one of {list(MODES)}. Received: mode={mode!r}")
    return {"min_lr": low, "max_lr": high, "num_steps": steps, "mode": mode}


@keras.saving.register_keras_serializable(package="lr_tb")
class RangeSweep(StepSchedule):
    """The range test's rate: from `min_lr` at step 0 to `max_lr` at step `num_steps - 1`.

    ```
    t = min(step, num_steps - 1) / (num_steps - 1)
    exponential: rate(step) = min_lr * (max_lr / min_lr) ** t
    linear:      rate(step) = min_lr + (max_lr - min_lr) * t
    ```

    (torch-lr-finder's `ExponentialLR`/`LinearLR`; fastai's `LRFinder` uses `t = step /
    num_it`, which stops one step short of `end_lr`.) After the last step it holds `max_lr`.

    Args:
        min_lr: the first rate, > 0.
        max_lr: the last rate, > min_lr.
        num_steps: steps of the sweep, an integer >= 2.
        mode: "exponential" (evenly spaced on a log axis) or "linear".
    """

    _config_keys = ("min_lr", "max_lr", "num_steps", "mode")

    def __init__(
        self, min_lr: float, max_lr: float, num_steps: int, mode: str = "exponential"
    ) -> None:
        self._set_args(check_sweep_args(min_lr, max_lr, num_steps, mode))

    def _rate(self, step: Any, dtype: str) -> Any:
        last = float(self.num_steps - 1)
        t = ops.clip(step, 0.0, last) / last
        if self.mode == "exponential":
            ratio = ops.cast(self.max_lr / self.min_lr, dtype)
            return ops.cast(self.min_lr, dtype) * ops.power(ratio, t)
        return ops.cast(self.min_lr, dtype) + ops.cast(self.max_lr - self.min_lr, dtype) * t

    @property
    def peak_learning_rate(self) -> float:
        return self.max_lr

    @property
    def floor_learning_rate(self) -> float:
        return self.min_lr


# -- fastai's smoothing and rules ---------------------------------------------------------------
def smooth_losses(losses: Sequence[float], beta: float = BETA) -> np.ndarray:
    """fastai's `AvgSmoothLoss`: an exponential moving average with bias correction.

    ```
    avg_0 = 0
    avg_i = lerp(loss_i, avg_{i-1}, beta) = loss_i + beta * (avg_{i-1} - loss_i)
    smoothed_i = avg_i / (1 - beta ** i)          (i = 1, 2, ...)
    ```
    computed in float64 (fastai: float32 torch tensors). A NaN or infinite loss makes every
    later value NaN or infinite, as in fastai.
    """
    out = np.empty(len(losses), dtype=np.float64)
    avg = 0.0
    with np.errstate(invalid="ignore", over="ignore"):
        for i, loss in enumerate(np.asarray(losses, dtype=np.float64)):
            avg = loss + beta * (avg - loss)
            out[i] = avg / (1.0 - beta ** (i + 1))
    return out


Point = tuple[float, float]


def valley(lrs: Sequence[float], losses: Sequence[float]) -> tuple[float, Point]:
    """fastai's `valley` (the default rule): the rate in the longest valley.

    Transcribed from fastai's `fastai/callback/schedule.py`: `lds[i]` is the length of the
    longest strictly decreasing sequence of losses (not necessarily contiguous) that ends at
    `i`; for the first longest one, ending at `max_end` and starting at `max_start = max_end -
    lds[max_end]` (fastai's arithmetic: one before its first point), the suggestion is the
    rate at `max_start + int(sections) + int(sections / 2)` with `sections = (max_end -
    max_start) / 3`: about halfway down the valley. fastai's inner loop over `j` is vectorized
    with NumPy, with the same result (tested against fastai's double loop).

    Returns:
        (suggested rate, (rate, loss) of the point to mark), as fastai's rules do.
    """
    lrs_np = np.asarray(lrs, dtype=np.float64)
    losses_np = np.asarray(losses, dtype=np.float64)
    n = len(losses_np)
    max_start, max_end = 0, 0
    lds = np.ones(n, dtype=np.int64)
    for i in range(1, n):
        # fastai: for j < i: if losses[i] < losses[j] and lds[i] < lds[j] + 1: lds[i] =
        # lds[j] + 1; and (inside the j loop) if lds[max_end] < lds[i]: max_end = i and
        # max_start = max_end - lds[max_end]. lds[i] ends as the largest lds[j] + 1 over the
        # j with a higher loss; it exceeds lds[max_end] (the longest so far) by at most 1, so
        # fastai's max_start, taken when it first does, is i - lds[i] with the final lds[i].
        higher = losses_np[:i] > losses_np[i]
        lds[i] = int(lds[:i][higher].max()) + 1 if higher.any() else 1
        if lds[max_end] < lds[i]:
            max_end = i
            max_start = max_end - int(lds[max_end])
    sections = (max_end - max_start) / 3
    idx = max_start + int(sections) + int(sections / 2)
    return float(lrs_np[idx]), (float(lrs_np[idx]), float(losses_np[idx]))


def steep(lrs: Sequence[float], losses: Sequence[float]) -> tuple[float, Point]:
    """fastai's `steep`: the rate where the loss falls fastest against log(rate).

    Transcribed from fastai's `fastai/callback/schedule.py`:
    `grads = (losses[1:] - losses[:-1]) / (log(lrs[1:]) - log(lrs[:-1]))`; the suggestion is
    `lrs[argmin(grads)]` (the left end of the steepest segment); the point marked is the
    loss at the first rate nearest it. Needs at least 2 points.
    """
    lrs_np = np.asarray(lrs, dtype=np.float64)
    losses_np = np.asarray(losses, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        grads = (losses_np[1:] - losses_np[:-1]) / (np.log(lrs_np[1:]) - np.log(lrs_np[:-1]))
    lr_steep = float(lrs_np[int(np.argmin(grads))])
    loss_idx = float(losses_np[int(np.argmin(np.abs(lrs_np - lr_steep)))])
    return lr_steep, (lr_steep, loss_idx)


def minimum(lrs: Sequence[float], losses: Sequence[float]) -> tuple[float, Point]:
    """fastai's `minimum`: one tenth of the rate at the lowest loss.

    Transcribed from fastai's `fastai/callback/schedule.py`: `lr_min = lrs[argmin(losses)]`;
    the suggestion is `lr_min / 10`; the point marked is `(lr_min, its loss)`.
    """
    lrs_np = np.asarray(lrs, dtype=np.float64)
    losses_np = np.asarray(losses, dtype=np.float64)
    lr_min = float(lrs_np[int(np.argmin(losses_np))])
    loss_idx = float(losses_np[int(np.argmin(np.abs(lrs_np - lr_min)))])
    return lr_min / 10, (lr_min, loss_idx)


RULES: dict[str, Callable[[Sequence[float], Sequence[float]], tuple[float, Point]]] = {
    "valley": valley,
    "steep": steep,
    "minimum": minimum,
}


def suggestion_window(
    lrs: Sequence[float], smoothed: Sequence[float], num_steps: int
) -> tuple[np.ndarray, np.ndarray]:
    """The points the rules look at, as fastai's `Learner.lr_find` picks them.

    fastai drops the first `num_it // 10` and the last 5 recorded points
    (`recorder.losses[num_it//10:-5]`) and cuts the rest at the first NaN. lr_tb also cuts at
    an infinite loss (it has no slope), and, where that leaves fewer than 2 points (a short
    sweep, or one stopped early), falls back to every point before the first non-finite one
    (fastai would fail there).
    """
    lrs_np = np.asarray(lrs, dtype=np.float64)
    smoothed_np = np.asarray(smoothed, dtype=np.float64)

    def finite_prefix(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        bad = np.flatnonzero(~np.isfinite(b))
        end = int(bad[0]) if bad.size else len(b)
        return a[:end], b[:end]

    lo = num_steps // 10
    window = finite_prefix(lrs_np[lo:-5], smoothed_np[lo:-5])
    if len(window[0]) >= 2:
        return window
    return finite_prefix(lrs_np, smoothed_np)


def suggest(
    lrs: Sequence[float], smoothed: Sequence[float], num_steps: int
) -> tuple[dict[str, float | None], dict[str, Point | None]]:
    """Every rule's suggestion (and the point it marks) on `suggestion_window`'s points;
    None for every rule where fewer than 2 points are left."""
    window_lrs, window_losses = suggestion_window(lrs, smoothed, num_steps)
    suggestions: dict[str, float | None] = {}
    points: dict[str, Point | None] = {}
    for name, rule in RULES.items():
        if len(window_lrs) < 2:
            suggestions[name], points[name] = None, None
        else:
            suggestions[name], points[name] = rule(window_lrs, window_losses)
    return suggestions, points


# -- the result ---------------------------------------------------------------------------------
class LRFinderResult:
    """What `find_learning_rate` found.

    Attributes:
        learning_rates: the rate each step applied (float32 values as Python floats).
        steps: the optimizer step of each (0, 1, ...; the x axis in TensorBoard).
        losses: the loss of each step's batch, as the train step computed it (before that
            step's update).
        smoothed_losses: `smooth_losses(losses)` (fastai's smoothing, beta 0.98).
        suggestion: the `rule`'s suggestion (`"valley"`, fastai's default), or None.
        rule: the name of the rule behind `suggestion`.
        suggestions: each rule's suggestion by name (`"valley"`, `"steep"`, `"minimum"`).
        points: the (rate, smoothed loss) each rule marks on the curve.
        num_steps: the steps asked for; `len(losses)` is less when the test stopped early.
        stop_reason: why it stopped: "num_steps", "diverged" (the smoothed loss exceeded
            `early_stop_factor` times its best), "not_finite" (a NaN or infinite loss) or
            "out_of_data" (an epoch yielded no batch: a generator that ran out).
    """

    def __init__(
        self,
        learning_rates: list[float],
        losses: list[float],
        num_steps: int,
        stop_reason: str,
        rule: str = DEFAULT_RULE,
        steps: list[int] | None = None,
    ) -> None:
        self.learning_rates = [float(r) for r in learning_rates]
        self.steps = list(range(len(self.learning_rates))) if steps is None else list(steps)
        self.losses = [float(x) for x in losses]
        self.smoothed_losses = smooth_losses(self.losses).tolist()
        self.num_steps = num_steps
        self.stop_reason = stop_reason
        self.rule = rule
        self.suggestions, self.points = suggest(
            self.learning_rates, self.smoothed_losses, num_steps
        )
        self.suggestion = self.suggestions[rule]

    @property
    def stopped_early(self) -> bool:
        return self.stop_reason != "num_steps"

    def __repr__(self) -> str:
        found = ", ".join(
            f"{k}={'None' if s is None else format(s, '.3g')}" for k, s in self.suggestions.items()
        )
        return (
            f"LRFinderResult(steps={len(self.losses)}/{self.num_steps}, "
            f"stop_reason={self.stop_reason!r}, suggestion={self.suggestion!r} ({self.rule}), "
            f"{found})"
        )

    def plot(self, ax: Any = None) -> tuple[Any, Any]:
        """Plot the loss against the rate (log x axis), each rule's point marked.

        The smoothed loss is the line (what the rules read), the raw losses are dots; the y
        axis stops above the highest smoothed loss the rules look at, so a divergence does
        not flatten the curve. Needs matplotlib.

        Args:
            ax: a matplotlib `Axes` to draw in; None: a new pyplot figure.

        Returns:
            (figure, axes).

        Raises:
            ImportError: matplotlib is not installed.
        """
        _import_matplotlib()
        if ax is None:
            import matplotlib.pyplot as plt

            fig, ax = plt.subplots(figsize=(6.4, 4.2))
        else:
            fig = ax.figure
        self._draw(ax)
        return fig, ax

    def _draw(self, ax: Any) -> None:
        lrs = np.asarray(self.learning_rates, dtype=np.float64)
        losses = np.asarray(self.losses, dtype=np.float64)
        smoothed = np.asarray(self.smoothed_losses, dtype=np.float64)
        ax.plot(lrs, losses, ".", color="0.65", markersize=3, label="loss (per step)")
        ax.plot(lrs, smoothed, "-", color="C0", label="smoothed loss")
        markers = {"valley": ("o", "C3"), "steep": ("s", "C2"), "minimum": ("^", "C1")}
        for name, point in self.points.items():
            if point is None:
                continue
            marker, color = markers.get(name, ("x", "C4"))
            chosen = " (suggestion)" if name == self.rule else ""
            note = " (a tenth of the point's rate)" if name == "minimum" else ""
            ax.plot(
                [point[0]],
                [point[1]],
                marker,
                color=color,
                markersize=9 if chosen else 7,
                label=f"{name}: {self.suggestions[name]:.2g}{chosen}{note}",
            )
        if self.suggestion is not None:
            ax.axvline(self.suggestion, color="C3", linestyle=":", linewidth=1)
        ax.set_xscale("log")
        ax.set_xlabel("learning rate")
        ax.set_ylabel("loss")
        ax.set_title(f"LR range test ({len(losses)} steps)")
        _, window = suggestion_window(lrs, smoothed, self.num_steps)
        finite = smoothed[np.isfinite(smoothed)]
        if window.size and finite.size:
            low, high = float(finite.min()), float(window.max())
            if high > low:
                pad = 0.08 * (high - low)
                ax.set_ylim(low - pad, high + 2 * pad)
        ax.grid(True, which="major", alpha=0.3)
        ax.legend(loc="best", fontsize="small")

    def to_png(self, dpi: int = 100) -> bytes:
        """`plot()` as PNG bytes, drawn without pyplot (no window, no global figure)."""
        _import_matplotlib()
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure

        fig = Figure(figsize=(6.4, 4.2))
        FigureCanvasAgg(fig)
        self._draw(fig.add_subplot())
        fig.tight_layout()
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png", dpi=dpi)
        return buffer.getvalue()


def _import_matplotlib() -> None:
    try:
        import matplotlib  # noqa: F401
    except ImportError as error:
        raise ImportError(
            "Plotting the LR range test needs matplotlib: pip install matplotlib "
            "(or pip install 'lr_tb[plot]')."
        ) from error


# -- the training -------------------------------------------------------------------------------
class _LossRecorder(keras.callbacks.Callback):
    """Records each step's batch loss and stops at `num_steps`, on divergence or on NaN.

    Keras' `loss` in the batch logs is a running mean over the epoch; the metrics are reset
    before every step (`model.reset_metrics()`, public), so after the step it is that batch's
    loss (Keras' loss tracker of one batch: `loss * n / n` in float32).
    """

    def __init__(self, num_steps: int, early_stop_factor: float | None) -> None:
        super().__init__()
        self.num_steps = num_steps
        self.factor = early_stop_factor
        self.losses: list[float] = []
        self.steps: list[int] = []  # the optimizer step of each loss
        self.wall_times: list[float] = []
        self._next_step = 0
        self.stop_reason = "num_steps"
        self._avg = 0.0
        self._best = math.inf
        self._steps_at_epoch_begin = 0

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        self._steps_at_epoch_begin = len(self.losses)

    def on_train_batch_begin(self, batch: int, logs: dict | None = None) -> None:
        # (`self.model` on JAX puts the training state back into the variables first, and
        # Keras re-reads it before the next step, so the reset is seen there too.)
        model = self.model
        model.reset_metrics()
        # The step this update will be. Not simply a count: on TensorFlow, the call that
        # finds the end of an input of unknown length (a generator) counts an optimizer
        # step without a batch.
        self._next_step = int(ops.convert_to_numpy(model.optimizer.iterations))

    def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
        if not logs or "loss" not in logs:
            raise KeyError(
                "find_learning_rate needs the train step's `loss` in the batch logs; "
                f"this model's train step logs {sorted(logs or {})}."
            )
        loss = float(np.asarray(logs["loss"]))
        self.losses.append(loss)
        self.steps.append(self._next_step)
        self.wall_times.append(time.time())
        with np.errstate(invalid="ignore", over="ignore"):
            self._avg = loss + BETA * (self._avg - loss)  # fastai: torch.lerp(loss, avg, beta)
            smoothed = self._avg / (1.0 - BETA ** len(self.losses))
        if not math.isfinite(smoothed):
            self.stop_reason = "not_finite"
        elif self.factor is not None:
            self._best = min(self._best, smoothed)
            if self._best > 0 and smoothed > self.factor * self._best:
                self.stop_reason = "diverged"
        if self.stop_reason != "num_steps" or len(self.losses) >= self.num_steps:
            self.model.stop_training = True

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        if len(self.losses) == self._steps_at_epoch_begin:  # the data yielded no batch
            self.stop_reason = "out_of_data"
            self.model.stop_training = True


def _fresh_optimizer(optimizer: Any, learning_rate: float) -> Any:
    """A new optimizer of the same class and config (fresh state), with a float rate."""

    def set_rate(config: dict) -> dict:
        config = dict(config)
        inner = config.get("inner_optimizer")
        if isinstance(inner, dict):  # LossScaleOptimizer: the rate is the inner one's
            inner = dict(inner)
            if isinstance(inner.get("config"), dict):
                inner["config"] = set_rate(inner["config"])
            config["inner_optimizer"] = inner
        elif "learning_rate" in config:
            config["learning_rate"] = learning_rate
        return config

    return type(optimizer).from_config(set_rate(optimizer.get_config()))


def _fresh_metric(metric: Any) -> Any:
    """A `keras.metrics.Metric` instance rebuilt from its config (its own state: the copy's
    training must not update the user's metric); anything else (a name, a function, a lambda)
    as given. A metric whose config does not rebuild it is used as given."""
    if not isinstance(metric, keras.metrics.Metric):
        return metric
    try:
        return type(metric).from_config(metric.get_config())
    except Exception:  # noqa: BLE001 - the user's own object still computes the same values
        return metric


def _is_keras_own_model(model: Any) -> bool:
    """A Sequential or functional model (Keras' own classes), not a user's subclass."""
    return type(model).__module__.split(".")[0] == "keras"


def _copy_model(model: Any, optimizer: Any, learning_rate: float) -> Any:
    """A clone of `model` with its weights, compiled with the same loss and metric objects
    the user gave `model.compile` (a Metric instance rebuilt from its config), a fresh
    optimizer, one step per train-function call.

    The clone is not compiled from the serialized compile config (`keras.models.clone_model`
    does that): an unregistered loss function or a lambda, which `model.fit` takes, does not
    deserialize."""
    try:
        clone = P.clone_uncompiled(model)
        weights = model.get_weights()
        if weights and not clone.built:
            raise ValueError("the clone is not built")
        if weights:
            clone.set_weights(weights)
    except Exception as error:  # noqa: BLE001 - say what could not be done, and why
        first_line = (str(error).strip().splitlines() or [""])[0][:300].rstrip(".")
        hint = (
            ""
            if _is_keras_own_model(model)
            else " A subclassed model needs a `get_config` that returns its constructor's "
            "arguments (or a `from_config`)."
        )
        raise TypeError(
            "find_learning_rate trains a copy of the model and could not copy this one with "
            f"keras.models.clone_model: {type(error).__name__}: {first_line}.{hint} "
            f"Received: model={type(model).__name__}"
        ) from error
    given = P.compile_arguments(model)
    kwargs: dict[str, Any] = {}
    for key in ("metrics", "weighted_metrics"):
        if given.get(key) is not None:
            kwargs[key] = keras.tree.map_structure(_fresh_metric, given[key])
    if given.get("loss_weights") is not None:
        kwargs["loss_weights"] = given["loss_weights"]
    clone.compile(
        optimizer=_fresh_optimizer(optimizer, learning_rate),
        loss=given.get("loss", model.loss),
        run_eagerly=model.run_eagerly,
        jit_compile=model.jit_compile,
        steps_per_execution=1,  # the loss of every step
        **kwargs,
    )
    return clone


def _yields_batches(x: Any) -> bool:
    """Whether `fit` takes `x` as a source of batches (a `tf.data.Dataset`, a `PyDataset`, a
    generator, a torch `DataLoader`, ...) rather than arrays to batch and shuffle itself: it
    has no `shape` and is not a list, tuple or dict (of arrays) or a number."""
    return not isinstance(x, (list, tuple, dict, numbers.Number)) and not hasattr(x, "shape")


def _check_early_stop_factor(value: Any) -> float | None:
    if value is None:
        return None
    factor = v.check_number("early_stop_factor", value)
    if factor <= 1:
        raise ValueError(
            f"Argument `early_stop_factor` must be > 1 or None. Received: early_stop_factor="
            f"{value!r}"
        )
    return factor


def _check_model(model: Any) -> Any:
    """The compiled model's optimizer (the one `get_config` rebuilds)."""
    if not isinstance(model, keras.Model):
        raise TypeError(f"Argument `model` must be a keras.Model. Received: model={model!r}")
    if not getattr(model, "compiled", False) or getattr(model, "optimizer", None) is None:
        raise TypeError(
            "Argument `model` must be a compiled model (call `model.compile(optimizer=..., "
            f"loss=...)` first). Received: an uncompiled {type(model).__name__}"
        )
    checked_optimizer(model, "find_learning_rate")  # refuses MultiOptimizer and the like
    return model.optimizer


def find_learning_rate(
    model: keras.Model,
    x: Any,
    y: Any = None,
    *,
    min_lr: float = 1e-7,
    max_lr: float = 10.0,
    num_steps: int = 100,
    mode: str = "exponential",
    batch_size: int | None = None,
    early_stop_factor: float | None = 4.0,
    log_dir: str | None = None,
) -> LRFinderResult:
    """The learning-rate range test: train a copy of `model` while the rate sweeps a range.

    A copy of the compiled model (`keras.models.clone_model`, its weights, an optimizer of
    the same class rebuilt from the model's optimizer's config with fresh state, compiled with
    the loss and metric objects given to `model.compile` (an unregistered function or a lambda
    works; a `Metric` instance is rebuilt from its config), one step per train-function call)
    is trained on `x`/`y` for up to
    `num_steps` steps while the rate grows from `min_lr` to `max_lr` (`RangeSweep`; step `t`
    of `exponential`: `min_lr * (max_lr / min_lr) ** (t / (num_steps - 1))`, of `linear`:
    `min_lr + (max_lr - min_lr) * t / (num_steps - 1)`), applied inside the train step by
    `lr_tb.ScheduleCallback`. The data is cycled (epoch after epoch) if it runs out; arrays
    are shuffled as `fit` does, a dataset, `PyDataset` or generator is read as it comes.

    The loss recorded for each step is that batch's loss (the metrics are reset before every
    step, so Keras' logged `loss` is not a running mean), computed before the step's update,
    paired with the rate that update applied (as in fastai and torch-lr-finder). The test
    stops early when fastai's smoothed loss (exponential moving average, beta 0.98, with bias
    correction) exceeds `early_stop_factor` times the lowest smoothed loss so far (checked
    while that lowest value is > 0), or is NaN or infinite.

    The suggestions are fastai's rules (`valley`, `steep`, `minimum`) on the smoothed losses,
    on the points fastai's `lr_find` gives them (see `suggestion_window`); `suggestion` is
    `valley`'s, fastai's default.

    `model` and its optimizer are left as they were, bit for bit: weights, step counter and
    moments. A Python generator given as `x` is consumed.

    Args:
        model: a compiled `keras.Model` (Sequential, functional, or subclassed with
            `get_config`), its optimizer of any Keras 3 class (its rate may be a schedule:
            the copy's is replaced).
        x: the inputs, as `model.fit` takes them: NumPy arrays, a `tf.data.Dataset`, a
            `keras.utils.PyDataset`, ...
        y: the targets (None for a dataset that yields them, or a model without).
        min_lr: the first rate, > 0.
        max_lr: the last rate, > min_lr.
        num_steps: the most steps to train, an integer >= 2.
        mode: "exponential" (fastai's and the usual choice) or "linear".
        batch_size: as `model.fit`'s (None: Keras' 32 for arrays; leave it None for a
            dataset).
        early_stop_factor: stop when the smoothed loss exceeds this many times its best, > 1;
            None: run every step (still stopping at a NaN or infinite loss).
        log_dir: a TensorBoard log directory, or None. In `<log_dir>/train`: `learning_rate`
            (written by `ScheduleCallback`), `loss` and `smoothed_loss` at every step, and the
            loss-against-rate figure as image `lr_finder` (when matplotlib is installed).
            Each call adds to the run at steps 0, 1, ...: give each test its own directory.

    Returns:
        `LRFinderResult`: `learning_rates`, `losses`, `smoothed_losses`, `suggestion`,
        `suggestions` by rule name, and `plot()`.

    Raises:
        TypeError / ValueError: an argument breaks its rule (the message names it), before
            any training; `model` is not compiled or cannot be copied.
        ValueError: `x` yields no batch.

    Example:
        >>> result = lr_tb.find_learning_rate(model, x, y, num_steps=100)
        >>> rate = result.suggestion  # also result.suggestions, by rule
        >>> figure = result.plot()
    """
    sweep_args = check_sweep_args(min_lr, max_lr, num_steps, mode)
    if batch_size is not None:
        batch_size = v.check_int("batch_size", batch_size, 1)
    factor = _check_early_stop_factor(early_stop_factor)
    log_dir = v.check_log_dir(log_dir)
    optimizer = _check_model(model)

    from lr_tb.callbacks.schedule import ScheduleCallback

    clone = _copy_model(model, optimizer, sweep_args["min_lr"])
    sweep = RangeSweep(**sweep_args)
    scheduler = ScheduleCallback(sweep, log_dir=log_dir)
    recorder = _LossRecorder(sweep.num_steps, factor)
    fit_kwargs: dict[str, Any] = {} if batch_size is None else {"batch_size": batch_size}
    if _yields_batches(x):  # Keras would warn that fit's default shuffle=True is ignored
        fit_kwargs["shuffle"] = False
    clone.fit(
        x,
        y,
        epochs=sweep.num_steps,  # at least one step an epoch: enough epochs to cycle
        verbose=0,
        callbacks=[scheduler, recorder],
        **fit_kwargs,
    )
    if not recorder.losses:
        raise ValueError("Argument `x` must yield at least one batch. Received: no batch")
    applied = dict(zip(scheduler.steps, scheduler.learning_rates, strict=True))
    rates = [applied[step] for step in recorder.steps]
    result = LRFinderResult(
        rates, recorder.losses, sweep.num_steps, recorder.stop_reason, steps=recorder.steps
    )
    if log_dir is not None:
        _write_run(_fs.join(log_dir, "train"), result, recorder.wall_times)
    return result


def _write_run(run_dir: str, result: LRFinderResult, wall_times: list[float]) -> None:
    """`loss` and `smoothed_loss` per step, and the figure as an image, in `run_dir`."""
    from lr_tb.event_writer import EventWriter

    steps = np.asarray(result.steps, dtype=np.int64)
    writer = EventWriter(run_dir, filename_suffix=".lr_tb_finder")
    try:
        writer.write(LOSS_TAG, steps, result.losses, wall_times)
        writer.write(SMOOTHED_LOSS_TAG, steps, result.smoothed_losses, wall_times)
        try:
            png = result.to_png()
        except ImportError:
            warnings.warn(
                "find_learning_rate: matplotlib is not installed, so the loss-vs-rate figure "
                "is not written to TensorBoard (pip install matplotlib).",
                RuntimeWarning,
                stacklevel=3,
            )
        else:
            described = ", ".join(
                f"{k}: {s:.3g}" for k, s in result.suggestions.items() if s is not None
            )
            writer.write_image(
                IMAGE_TAG,
                png,
                step=int(steps[-1]),
                description=f"Loss against learning rate. Suggestions: {described or 'none'}.",
            )
    finally:
        writer.close()
