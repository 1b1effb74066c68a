"""Importing Keras (and so TensorFlow) without TensorFlow's C++ start-up lines.

TensorFlow >= 2.19 prints a few lines to the process's stderr while it is imported, before it
reads `TF_CPP_MIN_LOG_LEVEL` (oneDNN's notice, "Could not find cuda drivers", "WARNING: All
log messages before absl::InitializeLog() ..."), and on a machine without a GPU an error line
("failed call to cuInit") at its first op unless the level is 3. Where lr_tb is what imports
Keras (`import lr_tb` first, the `lr-tb` command, the examples), it does so here: the level
defaults to 3 (fatal errors only; a level the user set is kept), and at level 3 file
descriptor 2 goes to /dev/null for the length of the import. A failing import still raises;
its traceback is printed once stderr is back. The standard library only.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator

LEVEL = "TF_CPP_MIN_LOG_LEVEL"


@contextlib.contextmanager
def backend_import() -> Iterator[None]:
    """Run the block (an `import keras`) without TensorFlow's C++ start-up lines; does
    nothing when Keras is imported already or the user set a level below 3."""
    if "keras" in sys.modules:
        yield
        return
    os.environ.setdefault(LEVEL, "3")
    if os.environ[LEVEL] != "3":
        yield
        return
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError, AttributeError):  # no file descriptor 2 (some notebooks)
        yield
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        yield
    finally:
        sys.stderr.flush()
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


def import_keras() -> None:
    """`import keras`, quietly (see the module docstring)."""
    with backend_import():
        import keras  # noqa: F401
