"""TensorBoard writing: scalar points appended to an event file, in bulk, without TensorFlow.

lr_tb computes a whole stretch of learning rates at once (they are a pure function of the
step), so it writes them as one batch of records with the `tensorboard` package's protos and
record framing. TensorFlow is not needed, so this works on the JAX and torch backends too.

Every lr_tb writer owns its own file, named like TensorFlow's
(`events.out.tfevents.<time>.<host>.<pid>.<n>.lr_tb`), in the run directory it is given;
TensorBoard merges all event files of a directory into one run, so the learning rate shows in
the same run as the curves `keras.callbacks.TensorBoard` writes there. TensorBoard reads a
run's files in name order, so the per-process counter in the name is zero-padded: files made
one after another (one per `fit`) sort in the order they were made.
"""

from __future__ import annotations

import itertools
import os
import socket
import struct
import time
from collections.abc import Iterable

import numpy as np
from tensorboard.compat.proto import event_pb2
from tensorboard.compat.tensorflow_stub.pywrap_tensorflow import masked_crc32c

_FILE_COUNTER = itertools.count()


def _record(data: bytes) -> bytes:
    """One TFRecord: length, masked CRC of the length, data, masked CRC of the data."""
    header = struct.pack("<Q", len(data))
    return (
        header
        + struct.pack("<I", masked_crc32c(header))
        + data
        + struct.pack("<I", masked_crc32c(data))
    )


class ScalarEventWriter:
    """Appends scalar points to a new event file in `run_dir`.

    The file (and `run_dir`) are created on construction, with the version record TensorBoard
    expects first. `write` encodes points; `flush` hands them to the operating system, so
    they survive the process being killed; `close` also syncs the file to disk.

    Args:
        run_dir: the run directory, e.g. `<log_dir>/train`.
        filename_suffix: appended to the file name, to tell lr_tb's files apart.

    Example:
        >>> writer = lr_tb.event_writer.ScalarEventWriter("runs/demo/train")
        >>> writer.write("learning_rate", steps=[0, 1, 2], values=[1e-3, 9e-4, 8e-4])
        >>> writer.close()
    """

    def __init__(self, run_dir: str, filename_suffix: str = ".lr_tb") -> None:
        os.makedirs(run_dir, exist_ok=True)
        name = (
            f"events.out.tfevents.{int(time.time()):010d}.{socket.gethostname()}."
            f"{os.getpid()}.{next(_FILE_COUNTER):06d}{filename_suffix}"
        )
        self.run_dir = run_dir
        self.path = os.path.join(run_dir, name)
        self._file = open(self.path, "wb")  # noqa: SIM115 - closed in close()
        version = event_pb2.Event(wall_time=time.time(), file_version="brain.Event:2")
        version.source_metadata.writer = "lr_tb"
        self._file.write(_record(version.SerializeToString()))
        self._file.flush()
        self.points_written = 0

    @property
    def closed(self) -> bool:
        return self._file.closed

    def write(
        self,
        tag: str,
        steps: Iterable[int],
        values: Iterable[float],
        wall_times: Iterable[float] | None = None,
    ) -> None:
        """Append one point per step: `values[i]` at `steps[i]` (wall time: now if not given)."""
        steps_np = np.asarray(steps, dtype=np.int64).ravel()
        values_np = np.asarray(values, dtype=np.float32).ravel()
        if steps_np.shape != values_np.shape:
            raise ValueError(
                f"`steps` and `values` must have the same length. Received: "
                f"{steps_np.size} steps and {values_np.size} values"
            )
        if wall_times is None:
            times = np.full(steps_np.shape, time.time(), dtype=np.float64)
        else:
            times = np.asarray(wall_times, dtype=np.float64).ravel()
        event = event_pb2.Event()
        value = event.summary.value.add(tag=tag)
        chunks = []
        for step, rate, wall in zip(
            steps_np.tolist(), values_np.tolist(), times.tolist(), strict=True
        ):
            event.step = step
            event.wall_time = wall
            value.simple_value = rate
            chunks.append(_record(event.SerializeToString()))
        self._file.write(b"".join(chunks))
        self.points_written += len(chunks)

    def flush(self) -> None:
        """Hand everything written so far to the operating system."""
        if not self._file.closed:
            self._file.flush()

    def close(self) -> None:
        """Flush, sync to disk and close; closing twice is harmless."""
        if self._file.closed:
            return
        self._file.flush()
        try:
            os.fsync(self._file.fileno())
        except OSError:  # pragma: no cover - e.g. a file system without fsync
            pass
        self._file.close()
