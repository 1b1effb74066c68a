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
