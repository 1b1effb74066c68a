"""lr_tb._fs: local paths through os, URLs through TensorBoard's gfile; event files and the
log_dir check on remote URLs (TensorFlow's ram:// file system, fsspec's memory:// through
TensorBoard's stub)."""

import importlib.util
import os
import struct
import subprocess
import sys
import uuid

import numpy as np
import pytest
from tensorboard.compat.proto import event_pb2

from lr_tb import _fs
from lr_tb import _validation as v
from lr_tb.event_writer import EventWriter

pytestmark = pytest.mark.backends

requires_tf = pytest.mark.skipif(
    importlib.util.find_spec("tensorflow") is None, reason="ram:// is TensorFlow's file system"
)
requires_fsspec = pytest.mark.skipif(
    importlib.util.find_spec("fsspec") is None, reason="memory:// is fsspec's file system"
)


def parse_events(data):
    """The Event protos of a TFRecord byte string."""
    events, offset = [], 0
    while offset < len(data):
        (length,) = struct.unpack("<Q", data[offset : offset + 8])
        events.append(event_pb2.Event.FromString(data[offset + 12 : offset + 12 + length]))
        offset += 16 + length
    assert offset == len(data)
    return events


def scalars(events, tag="learning_rate"):
    points = [(e.step, e.summary.value[0].simple_value) for e in events if e.HasField("summary")]
    assert all(e.summary.value[0].tag == tag for e in events if e.HasField("summary"))
    return [p[0] for p in points], np.float32([p[1] for p in points])


# -- is_remote / join ----------------------------------------------------------------------
@pytest.mark.parametrize(
    "path", ["gs://bucket/run", "s3://b/r", "hdfs://host:9000/run", "ram://run", "file:///tmp/x"]
)
def test_urls_are_remote(path):
    assert _fs.is_remote(path)


@pytest.mark.parametrize(
    "path",
    ["runs", "/tmp/runs", "./gs:/x", "gs:", "gs:/x", "C:\\runs", "C:/runs", "C://runs", "a b://x"],
)
def test_paths_are_local(path):
    assert not _fs.is_remote(path)


def test_is_remote_takes_path_like(tmp_path):
    assert not _fs.is_remote(tmp_path)


def test_join():
    assert _fs.join("gs://b/run", "train") == "gs://b/run/train"
    assert _fs.join("gs://b/run/", "train", "x.json") == "gs://b/run/train/x.json"
    assert _fs.join("gs://", "b", "run") == "gs://b/run"
    assert _fs.join("s3://b", "/train") == "s3://b/train"
    assert _fs.join("ram://run") == "ram://run"
    assert _fs.join("runs", "train") == os.path.join("runs", "train")
    assert _fs.join("/abs", "train", "f") == os.path.join("/abs", "train", "f")


# -- local ---------------------------------------------------------------------------------
def test_local_file_operations(tmp_path):
    run = _fs.join(str(tmp_path), "a", "train")
    _fs.makedirs(run)
    _fs.makedirs(run)  # exists: fine
    assert _fs.exists(run) and _fs.isdir(run)
    path = _fs.join(run, "progress.json")
    assert not _fs.exists(path)
    with pytest.raises(FileNotFoundError):
        _fs.read_text(path)
    _fs.write_text_atomic(path, '{"next_step": 1}')
    _fs.write_text_atomic(path, '{"next_step": 2} é')
    assert _fs.read_text(path) == '{"next_step": 2} é'
    assert _fs.exists(path) and not _fs.isdir(path)
    with _fs.open_writer(_fs.join(run, "bin")) as f:
        f.write(b"\x00\xff")
        f.flush()
    assert sorted(_fs.listdir(run)) == ["bin", "progress.json"]  # no temporary file left
    assert open(_fs.join(run, "bin"), "rb").read() == b"\x00\xff"


def test_local_write_needs_no_tensorflow(tmp_path):
    code = (
        "import sys, lr_tb\n"
        "from lr_tb import _fs\n"
        "from lr_tb.event_writer import EventWriter\n"
        f"w = EventWriter({str(tmp_path)!r})\n"
        "w.write('learning_rate', [0, 1], [0.5, 0.25]); w.close()\n"
        f"_fs.write_text_atomic(_fs.join({str(tmp_path)!r}, 'p.json'), '{{}}')\n"
        "print('tensorflow' in sys.modules)\n"
    )
    env = dict(os.environ, KERAS_BACKEND="jax")
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "False"


# -- remote: TensorFlow's ram:// -----------------------------------------------------------
@requires_tf
def test_ram_file_operations(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    run = f"ram://{uuid.uuid4().hex}/train"
    _fs.makedirs(run)
    _fs.makedirs(run)
    assert _fs.exists(run) and _fs.isdir(run)
    path = _fs.join(run, "lr_tb_progress.json")
    with pytest.raises(FileNotFoundError):
        _fs.read_text(path)
    _fs.write_text_atomic(path, '{"next_step": 1}')
    _fs.write_text_atomic(path, '{"next_step": 2}')
    assert _fs.read_text(path) == '{"next_step": 2}'
    assert _fs.listdir(run) == ["lr_tb_progress.json"]  # the temporary file was renamed
    assert os.listdir(tmp_path) == []  # nothing written to a local folder named "ram:"


@requires_tf
def test_event_writer_on_ram(tmp_path, monkeypatch):
    import tensorflow as tf

    monkeypatch.chdir(tmp_path)
    run = f"ram://{uuid.uuid4().hex}/run/train"
    writer = EventWriter(run)
    assert writer.path.startswith(run + "/events.out.tfevents.")
    assert writer.path.endswith(".lr_tb")
    values = np.float32([1e-3, 5e-4, 0.0, 2.5e-7])
    writer.write("learning_rate", [0, 1, 2, 300], values, wall_times=[1.0, 2.0, 3.0, 4.0])
    writer.flush()
    writer.close()
    writer.close()
    assert writer.closed and writer.points_written == 4
    assert _fs.listdir(run) == [writer.path.rsplit("/", 1)[1]]
    with tf.io.gfile.GFile(writer.path, "rb") as f:
        events = parse_events(f.read())
    assert events[0].file_version == "brain.Event:2"
    steps, read = scalars(events)
    assert steps == [0, 1, 2, 300]
    np.testing.assert_array_equal(read, values)
    assert [e.wall_time for e in events[1:]] == [1.0, 2.0, 3.0, 4.0]
    assert os.listdir(tmp_path) == []


@requires_tf
def test_event_files_on_ram_sort_in_creation_order(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # a local "ram:" folder, if one were made, goes there
    run = f"ram://{uuid.uuid4().hex}/train"
    paths = []
    for fit in range(3):
        writer = EventWriter(run)
        writer.write("learning_rate", [fit], [float(fit)])
        writer.close()
        paths.append(writer.path.rsplit("/", 1)[1])
    assert sorted(_fs.listdir(run)) == paths


# -- remote without TensorFlow: TensorBoard's stub gfile (here over fsspec's memory://) -----
@pytest.fixture
def stub_gfile(monkeypatch):
    from tensorboard.compat import tensorflow_stub

    monkeypatch.setattr(_fs, "_tf", lambda: tensorflow_stub)
    return tensorflow_stub.io.gfile


@requires_fsspec
def test_event_writer_through_the_stub(stub_gfile, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    run = f"memory://{uuid.uuid4().hex}/train"
    writer = EventWriter(run)
    writer.write("learning_rate", [0, 7], [0.5, 0.25], wall_times=[1.0, 2.0])
    writer.close()
    with stub_gfile.GFile(writer.path, "rb") as f:
        steps, read = scalars(parse_events(f.read()))
    assert steps == [0, 7] and read.tolist() == [0.5, 0.25]
    progress = _fs.join(run, "lr_tb_progress.json")
    _fs.write_text_atomic(progress, "1")  # the stub cannot rename: written directly
    _fs.write_text_atomic(progress, "2")
    assert _fs.read_text(progress) == "2"
    assert sorted(_fs.listdir(run)) == sorted(
        [writer.path.rsplit("/", 1)[1], "lr_tb_progress.json"]
    )


@requires_fsspec
def test_without_tensorflow_urls_go_through_the_stub(tmp_path):
    code = (
        "import sys\n"
        "sys.modules['tensorflow'] = None  # any `import tensorflow` now raises ImportError\n"
        "import fsspec\n"
        "from lr_tb import _fs\n"
        "from lr_tb.event_writer import EventWriter\n"
        "from tensorboard.compat import tensorflow_stub\n"
        "assert _fs._gfile() is tensorflow_stub.io.gfile\n"
        "w = EventWriter('memory://nontf/train')\n"
        "w.write('learning_rate', [0, 1], [0.5, 0.25]); w.close()\n"
        "_fs.write_text_atomic('memory://nontf/train/p.json', '{}')\n"
        "print(sorted(fsspec.filesystem('memory').ls('/nontf/train', detail=False))[-1])\n"
        "print(fsspec.open(w.path, 'rb').open().read().hex())\n"
    )
    env = dict(os.environ, KERAS_BACKEND="jax")
    out = subprocess.run(
        [sys.executable, "-c", code],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
    )
    listed, data = out.stdout.split()
    assert listed == "/nontf/train/p.json"
    steps, values = scalars(parse_events(bytes.fromhex(data)))
    assert steps == [0, 1] and values.tolist() == [0.5, 0.25]


# -- check_log_dir -------------------------------------------------------------------------
@pytest.mark.parametrize("url", ["gs://bucket/run", "s3://b/r", "ram://x/y", "hdfs://h/r"])
def test_check_log_dir_takes_urls_without_probing(url, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for scheme in ("gs:", "s3:", "ram:", "hdfs:"):  # local files that a probe would trip on
        (tmp_path / scheme).write_text("not a directory")
    assert v.check_log_dir(url) == url
    assert sorted(os.listdir(tmp_path)) == ["gs:", "hdfs:", "ram:", "s3:"]


def test_check_log_dir_still_refuses_bad_values(tmp_path):
    with pytest.raises(ValueError, match=r"Argument `log_dir` must be a non-empty path. .*=''"):
        v.check_log_dir("")
    with pytest.raises(TypeError, match="`log_dir` must be a string path or None. .*=5"):
        v.check_log_dir(5)
    with pytest.raises(TypeError, match="log_dir=b'gs://b'"):
        v.check_log_dir(b"gs://b")
    file = tmp_path / "file"
    file.write_text("x")
    with pytest.raises(ValueError, match="log_dir.*not an existing file"):
        v.check_log_dir(str(file))
    with pytest.raises(ValueError, match="log_dir.*is a file"):
        v.check_log_dir(str(file / "run"))
    assert v.check_log_dir(tmp_path / "new") == str(tmp_path / "new")


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root may write anywhere")
def test_check_log_dir_still_refuses_a_read_only_dir(tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    with pytest.raises(ValueError, match="log_dir.*writable"):
        v.check_log_dir(str(locked / "run"))
