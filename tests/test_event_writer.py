"""lr_tb.event_writer: the records are valid TFRecords that TensorBoard's own readers load."""

import os
import struct

import numpy as np
import pytest
from conftest import read_scalars
from tensorboard.backend.event_processing.event_file_loader import EventFileLoader
from tensorboard.compat.tensorflow_stub.pywrap_tensorflow import masked_crc32c

from lr_tb.event_writer import ScalarEventWriter


def test_points_read_back_exactly(tmp_path):
    writer = ScalarEventWriter(str(tmp_path / "train"))
    values = np.float32([1e-3, 7.5e-4, 1.2345678e-5, 0.0])
    writer.write("learning_rate", [0, 1, 2, 3], values, wall_times=[10.0, 11.0, 12.0, 13.0])
    writer.write("learning_rate", [4], [2e-6])
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


def test_flushed_points_are_on_disk_before_close(tmp_path):
    writer = ScalarEventWriter(str(tmp_path))
    writer.write("learning_rate", range(100), np.linspace(1, 0, 100))
    writer.flush()
    steps, _ = read_scalars(str(tmp_path))  # another reader, file still open
    assert steps == list(range(100))
    writer.close()
    writer.close()  # harmless


def test_record_framing_and_crc(tmp_path):
    writer = ScalarEventWriter(str(tmp_path))
    writer.write("learning_rate", [0, 1], [0.5, 0.25])
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
    writer = ScalarEventWriter(str(tmp_path))
    with pytest.raises(ValueError, match="same length"):
        writer.write("learning_rate", [0, 1], [0.1])
    writer.close()


def test_files_sort_in_creation_order(tmp_path):
    # one file per fit: a 10th fit in the same second must not sort before the 9th
    for fit in range(12):
        writer = ScalarEventWriter(str(tmp_path))
        writer.write("learning_rate", [fit], [float(fit)])
        writer.close()
    names = sorted(os.listdir(tmp_path))
    assert [int(n.split(".")[-2]) for n in names] == sorted(int(n.split(".")[-2]) for n in names)
    steps, values = read_scalars(str(tmp_path))
    assert steps == list(range(12))
