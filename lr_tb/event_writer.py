"""TensorBoard writing: scalar points appended to an event file, in bulk, without TensorFlow.

Images (a PNG, e.g. a matplotlib figure) are written as `tf.summary.image` writes them, so
TensorBoard's Images tab shows them (`EventWriter.write_image`).

lr_tb computes a whole stretch of learning rates at once (they are a pure function of the
step), so it writes them as one batch of records with the `tensorboard` package's protos and
record framing. TensorFlow is not needed, so this works on the JAX and torch backends too.
A run directory may be a URL (`gs://bucket/run/train`): files then go through TensorBoard's
gfile layer (`lr_tb._fs`), TensorFlow's when it is importable.

Every lr_tb writer owns its own file, named like TensorFlow's
(`events.out.tfevents.<time>.<host>.<pid>.<n>.lr_tb`), in the run directory it is given;
TensorBoard merges all event files of a directory into one run, so the learning rate shows in
the same run as the curves `keras.callbacks.TensorBoard` writes there. TensorBoard reads a
run's files in name order, so files made one after another must sort in the order they were
made: `<time>` is in microseconds (16 digits; TensorFlow writes seconds), so a file another
process made in the same second (a resume right after a crash) sorts by time, not by pid, and
after a file named in seconds (by TensorFlow, or lr_tb 0.1) of the same second; the counter `<n>`
is zero-padded.
"""

from __future__ import annotations

import functools
import itertools
import os
import socket
import struct
import time
from collections.abc import Iterable

import numpy as np
from tensorboard.compat.proto import event_pb2, summary_pb2, tensor_pb2, tensor_shape_pb2, types_pb2
from tensorboard.compat.tensorflow_stub.pywrap_tensorflow import masked_crc32c

from lr_tb import _fs

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


def _crc32c_table() -> np.ndarray:
    table = np.arange(256, dtype=np.uint32)
    for _ in range(8):
        table = np.where(table & 1, (table >> 1) ^ np.uint32(0x82F63B78), table >> 1)
    return table.astype(np.uint32)


_CRC_TABLE = _crc32c_table()


@functools.lru_cache(maxsize=32)
def _record_crc_tables(varying: int, tail: bytes) -> tuple[np.ndarray, np.uint32]:
    """The CRC-32C register after a record payload laid out as `varying` bytes that differ
    per record, the constant bytes `tail`, then 4 more varying bytes (the float), as one
    lookup per varying byte: the register update is affine over GF(2), so the final register
    is `XOR_p T[p][byte_p] ^ c`, where `T[p][b]` is byte `b` at position `p` carried through
    the bytes after it (from a zero register), and `c` the initial register and the constant
    bytes carried through the whole payload. Returns `T` for the `varying + 4` varying
    positions, in order, and `c`."""
    length = varying + len(tail) + 4
    positions = np.empty((length, 256), np.uint32)
    table = _CRC_TABLE.copy()
    for p in range(length - 1, -1, -1):  # byte b at p, then zero bytes to the end
        positions[p] = table
        table = _CRC_TABLE[table & 0xFF] ^ (table >> 8)
    constant = np.uint32(0xFFFFFFFF)
    for _ in range(length):  # the initial register through `length` zero bytes
        constant = _CRC_TABLE[constant & 0xFF] ^ (constant >> 8)
    for i, byte in enumerate(tail):  # the tag's constant bytes
        constant ^= positions[varying + i][byte]
    tables = np.concatenate([positions[:varying], positions[length - 4 :]])
    tables.flags.writeable = False  # cached: shared by every later call
    return tables, np.uint32(constant)


def _masked(crc: np.ndarray) -> np.ndarray:
    crc = crc ^ np.uint32(0xFFFFFFFF)
    return ((crc >> 15) | (crc << 17)) + np.uint32(0xA282EAD8)  # uint32 arithmetic wraps


# a step's varint is i + 1 bytes from 2**(7 i) on (9 at most for an int64 >= 0); step 0
# takes none (proto3 leaves it out)
_VARINT_BOUNDS = np.array([1] + [1 << (7 * i) for i in range(1, 9)], dtype=np.int64)


def _varint_lengths(steps: np.ndarray) -> np.ndarray:
    """Bytes of each step's varint; 0 for step 0, which proto3 leaves out."""
    return np.searchsorted(_VARINT_BOUNDS, steps, side="right")


def _varint(n: int) -> bytes:
    """Protobuf's base-128 varint of a non-negative integer: 7 bits a byte, low bits first."""
    out = bytearray()
    while n >= 0x80:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


@functools.lru_cache(maxsize=64)
def _summary_field(tag: bytes) -> bytes:
    """Event field 5, `Summary{value: [Value{tag, simple_value}]}`, up to the float's 4 bytes.

    Every length is a varint, so a tag of any length encodes (proto3 leaves out an empty tag).
    """
    value = (b"\x0a" + _varint(len(tag)) + tag if tag else b"") + b"\x15"  # tag, float key
    value_len = len(value) + 4  # + the float's 4 bytes
    summary_len = 1 + len(_varint(value_len)) + value_len
    return b"\x2a" + _varint(summary_len) + b"\x0a" + _varint(value_len) + value


@functools.lru_cache(maxsize=64)
def _length_header(payload_len: int) -> np.ndarray:
    """A record's first 12 bytes: the payload's length and its masked CRC."""
    header = struct.pack("<Q", payload_len)
    return np.frombuffer(header + struct.pack("<I", masked_crc32c(header)), dtype=np.uint8)


def encode_scalar_events(
    tag: str, steps: np.ndarray, values: np.ndarray, wall_times: np.ndarray
) -> bytes:
    """The TFRecords of `Event(wall_time, step, summary={tag: simple_value})` for every point,
    byte for byte what protobuf serializes, built with NumPy a column at a time.

    Steps must be >= 0 and wall times non-zero; records are grouped in runs of equal
    step-varint length (a handful of runs for ascending steps). The tag may be any length.
    """
    tail_bytes = _summary_field(tag.encode("utf-8"))
    tail = np.frombuffer(tail_bytes, dtype=np.uint8)
    lengths = _varint_lengths(steps)
    bounds = [0, *(np.flatnonzero(np.diff(lengths)) + 1).tolist(), len(steps)]
    chunks = []
    for a, b in zip(bounds[:-1], bounds[1:], strict=True):
        if a == b:
            continue
        k = int(lengths[a])
        n = b - a
        payload_len = 9 + (1 + k if k else 0) + len(tail) + 4
        rows = np.empty((n, 12 + payload_len + 4), dtype=np.uint8)
        rows[:, 0:12] = _length_header(payload_len)
        at = 12
        rows[:, at] = 0x09  # field 1, wall_time: fixed64
        rows[:, at + 1 : at + 9] = wall_times[a:b].astype("<f8").view(np.uint8).reshape(n, 8)
        at += 9
        if k:
            rows[:, at] = 0x10  # field 2, step: varint
            step = steps[a:b].astype(np.uint64)
            for i in range(k):
                byte = (step >> np.uint64(7 * i)) & np.uint64(0x7F)
                if i < k - 1:
                    byte |= np.uint64(0x80)
                rows[:, at + 1 + i] = byte.astype(np.uint8)
            at += 1 + k
        varying = at - 12  # the wall time's and the step's bytes
        rows[:, at : at + len(tail)] = tail
        at += len(tail)
        rows[:, at : at + 4] = values[a:b].astype("<f4").view(np.uint8).reshape(n, 4)
        at += 4
        # the CRC: one table lookup per varying byte, the tag's bytes folded into a constant
        tables, constant = _record_crc_tables(varying, tail_bytes)
        columns = np.r_[12 : 12 + varying, at - 4 : at]
        lookups = tables[np.arange(columns.size), rows[:, columns]]
        crc = np.bitwise_xor.reduce(lookups, axis=1) ^ constant
        rows[:, at:] = _masked(crc).astype("<u4").view(np.uint8).reshape(n, 4)
        chunks.append(rows.tobytes())
    return b"".join(chunks)


def png_size(png: bytes) -> tuple[int, int]:
    """(width, height) of a PNG, from its IHDR chunk (the first chunk after the signature)."""
    if len(png) < 24 or png[:8] != b"\x89PNG\r\n\x1a\n" or png[12:16] != b"IHDR":
        raise ValueError(f"Argument `png` must be the bytes of a PNG image. Received: {png[:16]!r}")
    width, height = struct.unpack(">II", png[16:24])
    return width, height


def image_summary(tag: str, png: bytes, description: str = "") -> summary_pb2.Summary:
    """A `Summary` holding one PNG as TensorBoard's image plugin stores images: what
    `tf.summary.image` writes (plugin "images"; a string tensor of shape [3]: the width and
    the height as decimal strings, then the encoded image)."""
    from tensorboard.plugins.image import metadata as image_metadata

    width, height = png_size(png)
    tensor = tensor_pb2.TensorProto(
        dtype=types_pb2.DT_STRING,
        tensor_shape=tensor_shape_pb2.TensorShapeProto(
            dim=[tensor_shape_pb2.TensorShapeProto.Dim(size=3)]
        ),
        string_val=[str(width).encode("ascii"), str(height).encode("ascii"), bytes(png)],
    )
    value = summary_pb2.Summary.Value(
        tag=tag,
        metadata=image_metadata.create_summary_metadata(display_name=tag, description=description),
        tensor=tensor,
    )
    return summary_pb2.Summary(value=[value])


class EventWriter:
    """Appends scalar points (and any other summary) to a new event file in `run_dir`.

    The file (and `run_dir`) are created on construction, with the version record TensorBoard
    expects first. `write` encodes points; `flush` hands them to the operating system, so
    they survive the process being killed; `close` also syncs the file to disk.

    `run_dir` may also be a URL (`gs://`, `s3://`, `hdfs://`, `ram://`, ...), written through
    TensorBoard's gfile layer (`lr_tb._fs`): `tf.io.gfile` when TensorFlow is importable,
    else TensorBoard's stub. On an object store such as gs:// or s3:// the file may be
    visible only once closed: `flush` does not promise that a reader (TensorBoard) sees the
    points before `close`.

    Args:
        run_dir: the run directory, e.g. `<log_dir>/train`; a local path or a URL.
        filename_suffix: appended to the file name, to tell lr_tb's files apart.

    Example:
        >>> writer = lr_tb.event_writer.EventWriter("runs/demo/train")
        >>> writer.write("learning_rate", steps=[0, 1, 2], values=[1e-3, 9e-4, 8e-4])
        >>> writer.close()
    """

    def __init__(self, run_dir: str, filename_suffix: str = ".lr_tb") -> None:
        _fs.makedirs(run_dir)
        name = (
            f"events.out.tfevents.{time.time_ns() // 1000:016d}.{socket.gethostname()}."
            f"{os.getpid()}.{next(_FILE_COUNTER):06d}{filename_suffix}"
        )
        self.run_dir = run_dir
        self.path = _fs.join(run_dir, name)
        self._file = _fs.open_writer(self.path)
        self._closed = False
        version = event_pb2.Event(wall_time=time.time(), file_version="brain.Event:2")
        version.source_metadata.writer = "lr_tb"
        self._file.write(_record(version.SerializeToString()))
        self._file.flush()
        self.points_written = 0

    @property
    def closed(self) -> bool:
        return self._closed

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
        if steps_np.size and (steps_np.min() < 0 or not np.all(times)):
            raise ValueError("`steps` must be >= 0 and `wall_times` non-zero.")
        self._file.write(encode_scalar_events(tag, steps_np, values_np, times))
        self.points_written += steps_np.size

    def write_summary(self, summary: summary_pb2.Summary, step: int = 0) -> None:
        """Append one event holding any `Summary` proto (e.g. HParams session data).

        TensorBoard's helpers return TensorFlow's own `Summary` class when TensorFlow is
        installed: any Summary is taken by its bytes."""
        summary = summary_pb2.Summary.FromString(summary.SerializeToString())
        event = event_pb2.Event(wall_time=time.time(), step=step, summary=summary)
        self._file.write(_record(event.SerializeToString()))

    def write_image(self, tag: str, png: bytes, step: int = 0, description: str = "") -> None:
        """Append one PNG image at `step` (TensorBoard's Images tab; see `image_summary`).

        Raises:
            ValueError: `png` is not a PNG, or `step` < 0.
        """
        if int(step) < 0:
            raise ValueError(f"Argument `step` must be >= 0. Received: step={step!r}")
        self.write_summary(image_summary(tag, png, description), step=int(step))

    def flush(self) -> None:
        """Hand everything written so far to the operating system (to the file system's
        client for a URL: an object store may show the bytes only after `close`)."""
        if not self._closed:
            self._file.flush()

    def close(self) -> None:
        """Flush and close; closing twice is harmless. Every byte is then the operating
        system's (it survives the process, whatever ends it); it is not forced to the disk
        with `fsync`: that made the end of every `fit` wait for the disk (about 9 ms a fit,
        measured on this project's machine, even when run on another thread)."""
        if self._closed:
            return
        self._closed = True
        try:
            self._file.flush()
        finally:
            self._file.close()
