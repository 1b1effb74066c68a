"""Argument checks shared by every public constructor.

Each check raises at construction time with a message of the form Keras uses::

    Argument `warmup_steps` must be an integer >= 0. Received: warmup_steps=-1

`TypeError` is for a value of the wrong kind (a string where a number goes, a bool where an
integer goes), `ValueError` for a value of the right kind outside its allowed range.
"""

from __future__ import annotations

import math
import numbers
import os
from collections.abc import Sequence
from typing import Any

from lr_tb import _fs


def fail(exc: type[Exception], name: str, rule: str, value: Any) -> Exception:
    """`exc` with the message every check raises: the argument, its rule, the value."""
    return exc(f"Argument `{name}` must be {rule}. Received: {name}={value!r}")


def check_number(name: str, value: Any) -> float:
    """A finite real number (not a bool); returns it as a float."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise fail(TypeError, name, "a real number", value)
    value = float(value)
    if not math.isfinite(value):
        raise fail(ValueError, name, "finite", value)
    return value


def check_positive(name: str, value: Any) -> float:
    value_f = check_number(name, value)
    if value_f <= 0:
        raise fail(ValueError, name, "> 0", value)
    return value_f


def check_non_negative(name: str, value: Any) -> float:
    value_f = check_number(name, value)
    if value_f < 0:
        raise fail(ValueError, name, ">= 0", value)
    return value_f


def check_in_range(
    name: str,
    value: Any,
    low: float,
    high: float,
    *,
    low_open: bool = False,
    high_open: bool = False,
) -> float:
    """A finite number in the interval given by low/high and their openness."""
    value_f = check_number(name, value)
    too_low = value_f <= low if low_open else value_f < low
    too_high = value_f >= high if high_open else value_f > high
    if too_low or too_high:
        interval = f"{'(' if low_open else '['}{low:g}, {high:g}{')' if high_open else ']'}"
        raise fail(ValueError, name, f"in {interval}", value)
    return value_f


def check_int(name: str, value: Any, minimum: int = 0) -> int:
    """An integer (a float with an integral value is accepted) that is >= minimum."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise fail(TypeError, name, f"an integer >= {minimum}", value)
    if isinstance(value, numbers.Integral):
        value_i = int(value)
    else:
        value_f = float(value)
        if not math.isfinite(value_f) or value_f != int(value_f):
            raise fail(ValueError, name, f"an integer >= {minimum}", value)
        value_i = int(value_f)
    if value_i < minimum:
        raise fail(ValueError, name, f"an integer >= {minimum}", value)
    return value_i


def check_optional_int(name: str, value: Any, minimum: int = 0) -> int | None:
    return None if value is None else check_int(name, value, minimum)


def check_verbose(value: Any) -> int:
    return check_int("verbose", value, 0)


def check_le(name_a: str, a: float, name_b: str, b: float) -> None:
    """Raise unless a <= b, naming both arguments and both values."""
    if a > b:
        raise ValueError(
            f"Argument `{name_a}` must be <= {name_b}. Received: {name_a}={a!r}, {name_b}={b!r}"
        )


def check_fractions(name: str, value: Any) -> list[float]:
    """A non-empty sequence of numbers strictly increasing inside the open interval (0, 1)."""
    if isinstance(value, (str, bytes)) or not isinstance(value, Sequence):
        raise fail(TypeError, name, "a list of fractions in (0, 1)", value)
    if len(value) == 0:
        raise fail(ValueError, name, "a non-empty list of fractions in (0, 1)", value)
    out = []
    for i, item in enumerate(value):
        if isinstance(item, bool) or not isinstance(item, numbers.Real):
            raise fail(TypeError, name, "a list of real numbers", value)
        item_f = float(item)
        if not (math.isfinite(item_f) and 0.0 < item_f < 1.0):
            raise fail(ValueError, name, "a list of fractions strictly inside (0, 1)", value)
        if i and item_f <= out[-1]:
            raise fail(ValueError, name, "strictly increasing", value)
        out.append(item_f)
    return out


def check_log_dir(value: Any) -> str | None:
    """None, a URL (`gs://bucket/run`: taken as is, nothing is probed), or a local path (str
    or os.PathLike) that is not an existing file and is writable."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (str, os.PathLike)):
        raise fail(TypeError, "log_dir", "a string path or None", value)
    path = os.fspath(value)
    if isinstance(path, bytes):
        raise fail(TypeError, "log_dir", "a string path or None", value)
    if not path:
        raise fail(ValueError, "log_dir", "a non-empty path", value)
    if _fs.is_remote(path):
        return path
    if os.path.exists(path) and not os.path.isdir(path):
        raise fail(ValueError, "log_dir", "a directory, not an existing file", value)
    # The nearest existing ancestor must be writable, or the run directory can't be made.
    probe = os.path.abspath(path)
    while not os.path.exists(probe):
        parent = os.path.dirname(probe)
        if parent == probe:
            break
        probe = parent
    if os.path.isdir(probe) and not os.access(probe, os.W_OK | os.X_OK):
        raise fail(ValueError, "log_dir", f"writable (no write access to {probe!r})", value)
    if os.path.exists(probe) and not os.path.isdir(probe):
        raise fail(ValueError, "log_dir", f"under a directory ({probe!r} is a file)", value)
    return path


def check_choice(name: str, value: Any, choices: Sequence[str]) -> str:
    """One of the strings in `choices`."""
    if not isinstance(value, str):
        raise fail(TypeError, name, f"one of {list(choices)}", value)
    if value not in choices:
        raise fail(ValueError, name, f"one of {list(choices)}", value)
    return value
