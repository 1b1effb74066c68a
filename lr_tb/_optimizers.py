"""What lr_tb needs to know of an optimizer, from its public Python: which optimizer a callback
follows (`checked_optimizer`), the optimizers a model holds (a GAN's), gradient accumulation,
the momentum attribute lr_tb can cycle and log, and the weight decay."""

from __future__ import annotations

from typing import Any

import keras

from lr_tb import _keras_private as P


def unwrap(optimizer: Any) -> Any:
    """The optimizer that holds the learning rate (inside a `LossScaleOptimizer`)."""
    while hasattr(optimizer, "inner_optimizer"):
        optimizer = optimizer.inner_optimizer
    return optimizer


def checked_optimizer(model: Any, who: str, chosen: Any = None) -> Any:
    """The rate-holding optimizer a callback follows: `chosen` (an optimizer, or the name of
    a model attribute holding one), else the compiled model's; a clear error when there is
    none."""
    if isinstance(chosen, str):
        found = getattr(model, chosen, None)
        if not isinstance(found, keras.optimizers.Optimizer):
            names = ", ".join(repr(n) for n in held_optimizers(model))
            raise ValueError(
                f"{who}: argument `optimizer` names no optimizer of the model; it has "
                f"{names}. Received: optimizer={chosen!r}"
            )
        chosen = found
    optimizer = getattr(model, "optimizer", None) if chosen is None else chosen
    if optimizer is None:
        raise TypeError(
            f"{who} needs a compiled model with an optimizer; call `model.compile(optimizer=...)`"
            f" first. Received: model.optimizer=None"
        )
    inner = unwrap(optimizer)
    if hasattr(inner, "optimizers") or hasattr(inner, "optimizer_map"):
        raise TypeError(
            f"{who} does not support `keras.optimizers.MultiOptimizer`: each sub-optimizer has "
            "its own learning rate and step counter, and lr_tb schedules and logs one. Use one "
            f"optimizer, or one model per optimizer. Received: optimizer={optimizer!r}"
        )
    if not isinstance(inner, keras.optimizers.Optimizer) or not P.has_rate(inner):
        raise TypeError(
            f"{who} needs a Keras 3 optimizer with a `learning_rate`. "
            f"Received: optimizer={optimizer!r}"
        )
    return inner


def held_optimizers(model: Any) -> dict[str, Any]:
    """The optimizers a model holds as public attributes, by name: `optimizer` (the compiled
    one) and, on a model whose own `compile` keeps more (a GAN's `g_optimizer` and
    `d_optimizer`), those; each once. Public Python only (`vars(model)`)."""
    found: dict[str, Any] = {}
    for name, value in vars(model).items():
        if name.startswith("_") or not isinstance(value, keras.optimizers.Optimizer):
            continue
        if all(unwrap(value) is not unwrap(seen) for seen in found.values()):
            found[name] = value
    return found


def other_optimizers(model: Any, optimizer: Any) -> dict[str, Any]:
    """`held_optimizers` besides `optimizer`."""
    return {n: o for n, o in held_optimizers(model).items() if unwrap(o) is not unwrap(optimizer)}


def attribute_of(model: Any, optimizer: Any) -> str | None:
    """The name of the model attribute holding `optimizer`, or None."""
    held = held_optimizers(model).items()
    return next((n for n, o in held if unwrap(o) is unwrap(optimizer)), None)


def accumulation_steps(optimizer: Any) -> int:
    return int(getattr(optimizer, "gradient_accumulation_steps", None) or 1)


def momentum_attr(optimizer: Any) -> str | None:
    """The attribute lr_tb can cycle and log for this optimizer: "momentum" (SGD), "beta_1"
    (Adam, AdamW, Adamax, Nadam), or None."""
    if isinstance(optimizer, keras.optimizers.SGD):
        return "momentum"
    if isinstance(
        optimizer,
        (keras.optimizers.Adam, keras.optimizers.Adamax, keras.optimizers.Nadam),
    ):
        return "beta_1"
    return None


def check_momentum_optimizer(optimizer: Any, who: str) -> str:
    """The momentum attribute of this optimizer; a clear TypeError when lr_tb cannot set or
    record it in-step."""
    attr = momentum_attr(optimizer)
    if attr is None:
        raise TypeError(
            f"{who} cycles or logs the optimizer's momentum, which lr_tb supports for "
            "keras.optimizers.SGD (`momentum`) and Adam, AdamW, Adamax, Nadam (`beta_1`). "
            f"Received: optimizer={type(optimizer).__name__}"
        )
    own = optimizer.__dict__.get(attr)
    if isinstance(own, bool) or not isinstance(own, (int, float)):
        raise TypeError(
            f"{who} needs the optimizer's `{attr}` to be a float. Received: {attr}={own!r}"
        )
    if attr == "momentum" and own == 0:
        raise TypeError(
            f"{who}: keras.optimizers.SGD(momentum=0.0) has no momentum to cycle or log: Keras "
            "builds its velocity only when `momentum != 0` (a Python test in SGD.build). "
            "Construct it with momentum > 0, e.g. keras.optimizers.SGD(0.01, momentum=0.9). "
            f"Received: momentum={own!r}"
        )
    return attr


def weight_decay_of(optimizer: Any) -> float:
    """The optimizer's `weight_decay` (0.0 when None): Keras 3 applies it decoupled, in the
    base `Optimizer._apply_weight_decay`, as `w -= w * weight_decay * learning_rate`."""
    value = getattr(optimizer, "weight_decay", None)
    return 0.0 if value is None else float(value)
