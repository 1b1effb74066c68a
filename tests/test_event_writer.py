"""lr_tb.event_writer: the records are valid TFRecords that TensorBoard's own readers load."""

import os
import struct

import numpy as np
import pytest
from conftest import read_scalars
from tensorboard.backend.event_processing.event_file_loader import EventFileLoader
from tensorboard.compat.tensorflow_stub.pywrap_tensorflow import masked_crc32c

from lr_tb import event_writer
from lr_tb.event_writer import EventWriter, encode_scalar_events
from lr_tb.tags import LEARNING_RATE as TAG

pytestmark = pytest.mark.backends


def test_points_read_back_exactly(tmp_path):
    writer = EventWriter(str(tmp_path / "train"))
    values = np.float32([1e-3, 7.5e-4, 1.2345678e-5, 0.0])
    writer.write(TAG, [0, 1, 2, 3], values, wall_times=[10.0, 11.0, 12.0, 13.0])
    writer.write(TAG, [4], [2e-6])
    writer.close()
    assert writer.points_written == 5 and writer.closed
    steps, read = read_scalars(str(tmp_path / "train"))
    assert steps == [0, 1, 2, 3, 4]
    np.testing.assert_array_equal(read, np.append(values, np.float32(2e-6)))
    events = list(EventFileLoader(writer.path).Load())
    assert events[0].file_version == "brain.Event:2"
    assert [e.wall_time for e in events[1:5]] == [10.0, 11.0, 12.0, 13.0]
    assert os.path.basename(writer.path).startswith("events.out.tfevents.")
    assert writer.path.endswith(".lr_tb")


def test_files_of_two_processes_in_one_second_are_read_in_the_order_they_were_made(
    tmp_path, monkeypatch
):
    """A resume right after a crash: another process (here a larger pid) wrote steps 0-4, this
    one writes 0-2 again within the same second. TensorBoard reads files in name order and
    shows the later file's points: the name's time (microseconds) orders them, not the pid."""
    clock = iter([1_800_000_000.2, 1_800_000_000.7])  # one second, two processes

    def at(seconds):
        monkeypatch.setattr(event_writer.time, "time", lambda: seconds)
        monkeypatch.setattr(event_writer.time, "time_ns", lambda: int(seconds * 1e9))

    at(next(clock))
    monkeypatch.setattr(event_writer.os, "getpid", lambda: 99999)
    crashed = EventWriter(str(tmp_path))
    crashed.write(TAG, range(5), [1.0] * 5)
    crashed.close()
    at(next(clock))
    monkeypatch.setattr(event_writer.os, "getpid", lambda: 10000)
    resumed = EventWriter(str(tmp_path))
    resumed.write(TAG, range(3), [2.0] * 3)
    resumed.close()
    names = [os.path.basename(p) for p in (crashed.path, resumed.path)]
    assert sorted(names) == names, names
    steps, values = read_scalars(str(tmp_path))
    assert steps == [0, 1, 2, 3, 4, 0, 1, 2]
    assert values.tolist() == [1.0] * 5 + [2.0] * 3


def test_flushed_points_are_on_disk_before_close(tmp_path):
    writer = EventWriter(str(tmp_path))
    writer.write(TAG, range(100), np.linspace(1, 0, 100))
    writer.flush()
    steps, _ = read_scalars(str(tmp_path))  # another reader, file still open
    assert steps == list(range(100))
    writer.close()
    writer.close()  # harmless


def test_record_framing_and_crc(tmp_path):
    writer = EventWriter(str(tmp_path))
    writer.write(TAG, [0, 1], [0.5, 0.25])
    writer.close()
    data = open(writer.path, "rb").read()
    offset, records = 0, 0
    while offset < len(data):  # TFRecord: len, masked crc(len), payload, masked crc(payload)
        header = data[offset : offset + 8]
        (length,) = struct.unpack("<Q", header)
        (header_crc,) = struct.unpack("<I", data[offset + 8 : offset + 12])
        payload = data[offset + 12 : offset + 12 + length]
        (payload_crc,) = struct.unpack("<I", data[offset + 12 + length : offset + 16 + length])
        assert header_crc == masked_crc32c(header) and payload_crc == masked_crc32c(payload)
        offset += 16 + length
        records += 1
    assert offset == len(data) and records == 3


def test_mismatched_lengths_are_refused(tmp_path):
    writer = EventWriter(str(tmp_path))
    with pytest.raises(ValueError, match="same length"):
        writer.write(TAG, [0, 1], [0.1])
    writer.close()


def test_files_sort_in_creation_order(tmp_path):
    # one file per fit: a 10th fit in the same second must not sort before the 9th
    for fit in range(12):
        writer = EventWriter(str(tmp_path))
        writer.write(TAG, [fit], [float(fit)])
        writer.close()
    names = sorted(os.listdir(tmp_path))
    assert [int(n.split(".")[-2]) for n in names] == sorted(int(n.split(".")[-2]) for n in names)
    steps, values = read_scalars(str(tmp_path))
    assert steps == list(range(12))


def test_vectorized_encoding_is_byte_for_byte_protobuf():
    from tensorboard.compat.proto import event_pb2

    from lr_tb.event_writer import _record, encode_scalar_events

    rng = np.random.default_rng(0)
    edges = [0, 1, 127, 128, 16383, 16384, 2**21, 2**28, 2**31, 2**35 + 5, 2**42]
    steps = np.concatenate([edges, np.sort(rng.integers(0, 2**45, 300))]).astype(np.int64)
    values = np.concatenate([[0.0, -1.5, np.inf], rng.random(steps.size - 3)]).astype(np.float32)
    walls = 1.7e9 + rng.random(steps.size)
    event = event_pb2.Event()
    value = event.summary.value.add(tag="learning_rate")
    expected = []
    for step, rate, wall in zip(steps.tolist(), values.tolist(), walls.tolist(), strict=True):
        event.step, event.wall_time, value.simple_value = step, wall, rate
        expected.append(_record(event.SerializeToString()))
    assert encode_scalar_events("learning_rate", steps, values, walls) == b"".join(expected)


def test_negative_steps_are_refused(tmp_path):
    writer = EventWriter(str(tmp_path))
    with pytest.raises(ValueError, match="steps"):
        writer.write(TAG, [-1], [0.1])
    writer.close()


def _protobuf_records(tag, steps, values, walls):
    """What protobuf serializes for each point, framed by TensorBoard's own RecordWriter."""
    import io

    from tensorboard.compat.proto import event_pb2, summary_pb2
    from tensorboard.summary.writer.record_writer import RecordWriter

    out = io.BytesIO()
    records = RecordWriter(out)
    for step, value, wall in zip(steps.tolist(), values.tolist(), walls.tolist(), strict=True):
        summary = summary_pb2.Summary(
            value=[summary_pb2.Summary.Value(tag=tag, simple_value=value)]
        )
        event = event_pb2.Event(wall_time=wall, step=step, summary=summary)
        records.write(event.SerializeToString())
    return out.getvalue()


SPECIAL_VALUES = np.float32(
    [0.0, -0.0, -1.5, np.inf, -np.inf, np.nan, 1e-45, -3e-39, 1.1754942e-38, 3.4028235e38]
)


def _tags_of_every_length(max_bytes=300):
    """A tag of every UTF-8 byte length 1..max_bytes in ASCII, and in 2-, 3- and 4-byte
    characters (padded with ASCII to the exact length)."""
    tags = []
    for char, pad in (("a", ""), ("é", "e"), ("学", "x"), ("🙂", "s")):
        width = len(char.encode("utf-8"))
        for n in range(width, max_bytes + 1):
            tags.append(char * (n // width) + pad * (n % width))
    return tags


def test_every_tag_length_is_byte_for_byte_protobuf():
    # 119- and 120-byte tags used to give a single-byte length of 128: a corrupt record
    rng = np.random.default_rng(1)
    tags = _tags_of_every_length()
    assert {len(t.encode("utf-8")) for t in tags} == set(range(1, 301))
    assert len(set(tags)) == len(tags) == 300 + 299 + 298 + 297
    for tag in tags:
        steps = np.concatenate(
            [[0], rng.integers(1, 200, 2), rng.integers(0, 2**40, 3), [2**40]]
        ).astype(np.int64)
        rng.shuffle(steps)
        values = np.concatenate([rng.choice(SPECIAL_VALUES, 3), rng.standard_normal(4)])
        values = values.astype(np.float32)
        walls = rng.uniform(1.0, 2e9, steps.size)
        encoded = encode_scalar_events(tag, steps, values, walls)
        assert encoded == _protobuf_records(tag, steps, values, walls), tag


def test_every_tag_length_reads_back_in_tensorboard(tmp_path):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    tags = _tags_of_every_length()
    steps = np.array([0, 5, 127, 128, 2**40], dtype=np.int64)
    writer = EventWriter(str(tmp_path))
    for i, tag in enumerate(tags):
        writer.write(tag, steps, SPECIAL_VALUES[i % 6 : i % 6 + 5], wall_times=[1.0 + i] * 5)
    writer.close()
    acc = EventAccumulator(str(tmp_path), size_guidance={"scalars": 0})
    acc.Reload()
    assert sorted(acc.Tags()["scalars"]) == sorted(tags)
    for i, tag in enumerate(tags):
        events = acc.Scalars(tag)
        assert [e.step for e in events] == steps.tolist()
        assert [e.wall_time for e in events] == [1.0 + i] * 5
        read = np.float32([e.value for e in events])
        np.testing.assert_array_equal(read, SPECIAL_VALUES[i % 6 : i % 6 + 5])


def test_steps_at_every_varint_length_are_byte_for_byte_protobuf():
    # a step's varint is 1..9 bytes: the records group by it, each length its CRC tables
    edges = [(1 << (7 * i)) + d for i in range(1, 9) for d in (-1, 0)]
    steps = np.int64([0, 1, *edges, 2**63 - 1])
    values = np.linspace(-1.0, 1.0, steps.size).astype(np.float32)
    walls = np.linspace(1.0, 2e9, steps.size)
    for tag in ("batch_learning_rate", "x"):
        encoded = encode_scalar_events(tag, steps, values, walls)
        assert encoded == _protobuf_records(tag, steps, values, walls)


def test_empty_tag_is_byte_for_byte_protobuf():
    steps, values, walls = np.int64([0, 3]), np.float32([0.5, 1.0]), np.float64([1.0, 2.0])
    assert encode_scalar_events("", steps, values, walls) == _protobuf_records(
        "", steps, values, walls
    )


def _png(width, height):
    """A grey PNG built by hand (no imaging library): signature, IHDR, IDAT, IEND."""
    import zlib

    def chunk(kind, data):
        return (
            struct.pack(">I", len(data))
            + kind
            + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
        )

    rows = b"".join(b"\x00" + b"\x80" * width for _ in range(height))  # filter 0, grey 128
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)  # 8-bit greyscale
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


def test_image_reads_back_as_tensorboards_image_plugin_stores_it(tmp_path):
    from tensorboard.backend.event_processing import plugin_event_accumulator
    from tensorboard.plugins.image import metadata

    png = _png(5, 3)
    writer = EventWriter(str(tmp_path))
    writer.write_image("figure", png, step=7, description="five by three")
    writer.close()
    acc = plugin_event_accumulator.EventAccumulator(str(tmp_path))
    acc.Reload()
    assert list(acc.PluginTagToContent(metadata.PLUGIN_NAME)) == ["figure"]
    (event,) = acc.Tensors("figure")
    assert event.step == 7
    assert list(event.tensor_proto.string_val) == [b"5", b"3", png]  # width, height, image
    assert acc.SummaryMetadata("figure").summary_description == "five by three"
    with pytest.raises(ValueError, match="Argument `png` must be the bytes of a PNG image"):
        writer.write_image("figure", b"GIF89a" + bytes(30))


def test_close_does_not_wait_for_the_disk_but_the_file_is_complete(tmp_path, monkeypatch):
    """`close()` hands every byte to the operating system (readable at once, and surviving
    the process) without `fsync`, which made the end of every fit wait for the disk."""
    synced = []
    monkeypatch.setattr(event_writer.os, "fsync", lambda fd: synced.append(fd))
    writer = event_writer.EventWriter(str(tmp_path / "train"))
    writer.write("batch_learning_rate", steps=[0, 1, 2], values=[1e-3, 9e-4, 8e-4])
    writer.close()
    assert writer.closed and writer._file.closed and synced == []
    steps, values = read_scalars(str(tmp_path / "train"), "batch_learning_rate")
    assert steps == [0, 1, 2]
    np.testing.assert_array_equal(values, np.float32([1e-3, 9e-4, 8e-4]))
