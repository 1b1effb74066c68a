"""File access for log directories: local paths through `os`, URLs through TensorBoard's gfile.

A `log_dir` may be a local path or a URL such as `gs://bucket/run`, `s3://bucket/run`,
`hdfs://host/run` or `ram://run`. Local paths use `os` and `open` directly (TensorFlow is
never imported for them). A URL goes through the file-system layer TensorBoard and Keras'
`TensorBoard` callback use, resolved the way `tensorboard.compat.tf` resolves it, on first
use: `tf.io.gfile` when TensorFlow is importable (gs://, hdfs://, ram://; s3:// with
tensorflow-io), otherwise TensorBoard's stub `tensorboard.compat.tensorflow_stub.io.gfile`
(s3:// through boto3, and whatever fsspec knows when fsspec is installed).

On object stores (gs://, s3://) a written file may show only once it is closed: `flush()`
does not promise that other readers see the bytes before `close()`.
"""

from __future__ import annotations

import errno
import os
import re
import uuid
from typing import Any, BinaryIO

# A URL scheme: a letter, then letters, digits, "+", "-" or ".", then "://". At least two
# characters, so a Windows drive letter ("C://x") is a path, not a scheme.
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]+://")


def is_remote(path: str) -> bool:
    """Whether `path` is a URL with a scheme (`gs://`, `s3://`, `hdfs://`, `ram://`, ...)."""
    return bool(_SCHEME.match(os.fspath(path)))


def _tf() -> Any:
    """TensorFlow if importable, else TensorBoard's stub of it (`tensorboard.compat.tf`)."""
    from tensorboard.compat import tf  # lazy: nothing is imported until an attribute is read

    return tf


def _gfile() -> Any:
    return _tf().io.gfile


def join(*parts: str) -> str:
    """Join path parts: with `os.path.join` for a local path, with single "/" for a URL.

    `join("gs://b/run", "train") == "gs://b/run/train"`; `join("runs", "train")` is
    `os.path.join("runs", "train")`.
    """
    if not parts:
        raise TypeError("join() needs at least one part")
    if not is_remote(parts[0]):
        return os.path.join(*parts)
    out = os.fspath(parts[0])
    for part in parts[1:]:
        part = os.fspath(part)
        if is_remote(part):
            out = part
        elif part:
            out = (out if out.endswith("/") else out + "/") + part.lstrip("/")
    return out


def makedirs(path: str) -> None:
    """Create the directory `path` and its parents; an existing directory is fine."""
    if is_remote(path):
        _gfile().makedirs(path)
    else:
        os.makedirs(path, exist_ok=True)


def exists(path: str) -> bool:
    return _gfile().exists(path) if is_remote(path) else os.path.exists(path)


def isdir(path: str) -> bool:
    return _gfile().isdir(path) if is_remote(path) else os.path.isdir(path)


def listdir(path: str) -> list[str]:
    """The names (not paths) in the directory `path`."""
    if not is_remote(path):
        return os.listdir(path)
    return [name.rstrip("/") for name in _gfile().listdir(path)]


def read_text(path: str) -> str:
    """The UTF-8 text of the file `path`; FileNotFoundError if there is none."""
    if not is_remote(path):
        with open(path, encoding="utf-8") as f:
            return f.read()
    gfile = _gfile()
    if not gfile.exists(path):
        raise FileNotFoundError(errno.ENOENT, os.strerror(errno.ENOENT), path)
    with gfile.GFile(path, "rb") as f:
        return f.read().decode("utf-8")


def write_text_atomic(path: str, text: str) -> None:
    """Replace the file `path` with `text` (UTF-8) so readers see the old or the new text.

    Locally: a temporary file beside it, then `os.replace`. On a URL: a temporary file, then
    a rename with overwrite (a copy and delete on object stores); a file system that cannot
    rename gets a direct write.
    """
    data = text.encode("utf-8")
    tmp = f"{path}.tmp-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    if not is_remote(path):
        try:
            with open(tmp, "wb") as f:
                f.write(data)
            os.replace(tmp, path)
        except BaseException:
            if os.path.exists(tmp):
                os.remove(tmp)
            raise
        return
    tf = _tf()
    gfile = tf.io.gfile
    if hasattr(gfile, "rename"):
        with gfile.GFile(tmp, "wb") as f:
            f.write(data)
        try:
            gfile.rename(tmp, path, overwrite=True)
            return
        except tf.errors.UnimplementedError:
            gfile.remove(tmp)
    with gfile.GFile(path, "wb") as f:
        f.write(data)


def create_exclusive(path: str, text: str) -> bool:
    """Create the file `path` with `text` (UTF-8) unless it exists; whether this call made it.

    Locally atomic (`O_CREAT | O_EXCL`): of two processes, exactly one gets True. On a URL a
    check then a write: two writers racing within one round trip may both get True.
    """
    if is_remote(path):
        if exists(path):
            return False
        write_text_atomic(path, text)
        return True
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    except FileExistsError:
        return False
    with os.fdopen(fd, "wb") as f:
        f.write(text.encode("utf-8"))
    return True


def remove(path: str) -> None:
    """Delete the file `path`; a missing file is fine."""
    try:
        if is_remote(path):
            _gfile().remove(path)
        else:
            os.remove(path)
    except FileNotFoundError:
        pass
    except Exception as e:  # gfile's NotFoundError is not a FileNotFoundError
        if type(e).__name__ != "NotFoundError":
            raise


def open_writer(path: str) -> BinaryIO:
    """A new binary file at `path` (truncated if it exists), with write, flush and close.

    Locally a plain `open(path, "wb")`; on a URL a gfile `GFile`, whose `flush()` may not
    make the bytes visible on an object store before `close()`.
    """
    if is_remote(path):
        return _gfile().GFile(path, "wb")
    return open(path, "wb")  # noqa: SIM115 - the caller closes it
