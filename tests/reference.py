"""Plain-Python (float64) reference implementations of the schedules, written from the
formulas in shared/SEED.md, independent of lr_tb's keras.ops code."""

import math


def exponential(step, base, decay_rate, steps_per_epoch=1, floor=0.0):
    return max(base * decay_rate ** (step // steps_per_epoch), floor)


def warmup_cosine(step, base, total, warmup_lr=0.0, warmup=0, hold=0, floor=0.0):
    if step < warmup:
        return warmup_lr + (base - warmup_lr) * step / warmup
    if step < warmup + hold:
        return base
    if step >= total:
        return floor
    progress = (step - warmup - hold) / (total - warmup - hold)
    return floor + 0.5 * (base - floor) * (1 + math.cos(math.pi * progress))


def cycles_from_restarts(restarts, total):
    starts = [0] + [int(r * total) for r in restarts]  # the article: truncated, in float64
    return list(zip(starts, starts[1:] + [total], strict=True))


def cycles_sgdr(first, t_mul, total):
    out, start, length = [], 0.0, float(first)
    while start < total:
        out.append((start, start + length))
        start, length = start + length, length * t_mul
    return out


def cosine_restarts(
    step,
    base,
    total,
    cycles,
    m_mul=1.0,
    warmup_lr=0.0,
    warmup_fraction=0.0,
    hold_fraction=0.0,
    floor=0.0,
):
    if step >= total:
        return floor
    for i, (start, end) in enumerate(cycles):
        if start <= step < end:
            length = end - start
            peak = max(base * m_mul**i, floor)
            w, h = warmup_fraction * length, hold_fraction * length
            p = step - start
            if p < w:
                s = min(warmup_lr, peak)
                return s + (peak - s) * p / w
            if p < w + h:
                return peak
            progress = (p - w - h) / (length - w - h)
            return floor + 0.5 * (peak - floor) * (1 + math.cos(math.pi * progress))
    raise AssertionError(f"step {step} in no cycle")


# -- transformers' schedules ----------------------------------------------------------------
# The lr lambdas of huggingface/transformers' src/transformers/optimization.py (commit
# 005edacb6b5dabbf0843e92c6623de9e07ca6241), transcribed line for line; each returns what
# torch's LambdaLR applies, `lr_init * factor`.


def hf_constant_with_warmup(current_step, lr_init, num_warmup_steps):
    if current_step < num_warmup_steps:
        return lr_init * (float(current_step) / float(max(1.0, num_warmup_steps)))
    return lr_init * 1.0


def hf_polynomial(current_step, lr_init, num_warmup_steps, num_training_steps, lr_end, power):
    if current_step < num_warmup_steps:
        return lr_init * (float(current_step) / float(max(1, num_warmup_steps)))
    elif current_step > num_training_steps:
        return lr_init * (lr_end / lr_init)
    else:
        lr_range = lr_init - lr_end
        decay_steps = num_training_steps - num_warmup_steps
        pct_remaining = 1 - (current_step - num_warmup_steps) / decay_steps
        decay = lr_range * pct_remaining**power + lr_end
        return lr_init * (decay / lr_init)


def hf_inverse_sqrt(current_step, lr_init, num_warmup_steps, timescale=None):
    if timescale is None:
        timescale = num_warmup_steps or 10_000
    if current_step < num_warmup_steps:
        return lr_init * (float(current_step) / float(max(1, num_warmup_steps)))
    shift = timescale - num_warmup_steps
    decay = 1.0 / math.sqrt((current_step + shift) / timescale)
    return lr_init * decay


def hf_wsd(
    current_step,
    lr_init,
    num_warmup_steps,
    num_decay_steps,
    num_training_steps=None,
    num_stable_steps=None,
    warmup_type="linear",
    decay_type="cosine",
    min_lr_ratio=0.0,
    num_cycles=0.5,
):
    if num_stable_steps is None:
        num_stable_steps = num_training_steps - num_warmup_steps - num_decay_steps
    return lr_init * _hf_wsd_lambda(
        current_step,
        num_warmup_steps=num_warmup_steps,
        num_stable_steps=num_stable_steps,
        num_decay_steps=num_decay_steps,
        warmup_type=warmup_type,
        decay_type=decay_type,
        min_lr_ratio=min_lr_ratio,
        num_cycles=num_cycles,
    )


def _hf_wsd_lambda(
    current_step,
    *,
    num_warmup_steps,
    num_stable_steps,
    num_decay_steps,
    warmup_type,
    decay_type,
    min_lr_ratio,
    num_cycles,
):
    if current_step < num_warmup_steps:
        progress = float(current_step) / float(max(1, num_warmup_steps))
        if warmup_type == "linear":
            factor = progress
        elif warmup_type == "cosine":
            factor = 0.5 * (1.0 - math.cos(math.pi * progress))
        elif warmup_type == "1-sqrt":
            factor = 1.0 - math.sqrt(1.0 - progress)
        factor = factor * (1.0 - min_lr_ratio) + min_lr_ratio
        return max(0.0, factor)

    if current_step < num_warmup_steps + num_stable_steps:
        return 1.0

    if current_step < num_warmup_steps + num_stable_steps + num_decay_steps:
        progress = float(current_step - num_warmup_steps - num_stable_steps) / float(
            max(1, num_decay_steps)
        )
        if decay_type == "linear":
            factor = 1.0 - progress
        elif decay_type == "cosine":
            factor = 0.5 * (1.0 + math.cos(math.pi * float(num_cycles) * 2.0 * progress))
        elif decay_type == "1-sqrt":
            factor = 1.0 - math.sqrt(progress)
        factor = factor * (1.0 - min_lr_ratio) + min_lr_ratio
        return max(0.0, factor)
    return min_lr_ratio
