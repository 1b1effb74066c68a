"""History and writing: the `learning_rates` a callback keeps and the TensorBoard run it
writes, `<log_dir>/train`, tag `batch_learning_rate` (`lr_tb.tags`), one point per optimizer
step.

Points are appended in bulk (`add`), flushed at flush points, and the file is closed at the
end of a fit. Beside the event files, `lr_tb_progress.json` records the step after the last
one flushed, so a resumed fit whose first step is further on (a SIGKILL lost unflushed
points) can fill the gap, when the rate is a pure function of the step; a fit that closes
its file after writing every step it ran removes the record (there is no gap to fill). Paths
go through `lr_tb._fs`, so `gs://`, `s3://` and `hdfs://` log directories work where
TensorFlow's file systems do.

**One writer per run.** In a multi-process fit (Keras' distribution API on JAX) only process 0
writes, unless `LR_TB_WRITE_ON=all` gives every process a run of its own (`lr_tb._process`).
Two independent processes given the same run (two scripts started on one `log_dir` by
mistake) never merge their series silently: the first writer records itself in
`lr_tb_writer.json` (host, pid, process start, a heartbeat refreshed at flush points, removed
when its file is closed); a second process that finds a live writer there warns and writes its
own run, `<run>/<host>-<pid>`, with its own progress file. A writer is live while its pid runs
(same host) or while its heartbeat is younger than `STALE_AFTER` (another host): the record a
killed process leaves does not stop a resume.
"""

from __future__ import annotations

import json
import os
import socket
import time
import uuid
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np

from lr_tb import _fs, _process, tags
from lr_tb.event_writer import EventWriter

TAG = tags.LEARNING_RATE
PROGRESS_FILE = "lr_tb_progress.json"
OWNER_FILE = "lr_tb_writer.json"
# A writer on another host whose heartbeat is older than this (seconds) is gone.
STALE_AFTER = 600.0
# How often (seconds, at flush points) a writer refreshes its heartbeat.
HEARTBEAT_SECS = 60.0


_OWN_START: dict[int, str | None] = {}  # this process's start time, by pid (a fork's differs)


def _own_start() -> str | None:
    """This process's start time: read once per process (a `/proc` read costs ~30-60 us, and
    every fit that opens a run records it)."""
    pid = os.getpid()
    if pid not in _OWN_START:
        _OWN_START[pid] = _proc_start(pid)
    return _OWN_START[pid]


def _proc_start(pid: int) -> str | None:
    """The start time of process `pid` (Linux `/proc`), to tell a reused pid; None if unknown."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return fields[19] if len(fields) > 19 else None


def _pid_alive(pid: int, start: str | None) -> bool:
    """Whether process `pid` of this host runs (and is the one that started at `start`)."""
    if os.path.isdir("/proc"):
        try:
            with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            return False
        if fields and fields[0] in ("Z", "X"):  # exited, not yet reaped
            return False
        return start is None or len(fields) <= 19 or fields[19] == start
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # exists, owned by someone else
        return True
    return True


def _read_record(path: str) -> dict[str, Any] | None:
    try:
        record = json.loads(_fs.read_text(path))
    except (OSError, ValueError):
        return None
    return record if isinstance(record, dict) else None


def _live_other(record: dict[str, Any] | None, me: dict[str, Any]) -> bool:
    """Whether `record` names a writer other than this process that is still writing."""
    if record is None or record.get("token") == me["token"]:
        return False
    try:
        host, pid, beat = str(record["host"]), int(record["pid"]), float(record["time"])
    except (KeyError, TypeError, ValueError):
        return False
    if host == me["host"]:
        # This process's own leftover (an interrupted fit) is not another writer.
        return pid != me["pid"] and _pid_alive(pid, record.get("start"))
    return time.time() - beat < STALE_AFTER


class _Owner:
    """This process's claim on a run directory (`OWNER_FILE`)."""

    def __init__(self, run_dir: str) -> None:
        self.path = _fs.join(run_dir, OWNER_FILE)
        pid = os.getpid()
        self.record = {
            "host": socket.gethostname(),
            "pid": pid,
            "start": _own_start(),
            "token": uuid.uuid4().hex,
            "time": time.time(),
        }
        self._beat = time.monotonic()

    def _text(self) -> str:
        self.record["time"] = time.time()
        return json.dumps(self.record)

    def claim(self) -> dict[str, Any] | None:
        """Take the run; None if taken, else the record of the live writer that holds it."""
        if _fs.create_exclusive(self.path, self._text()):
            return None
        other = _read_record(self.path)
        if other is None:  # being created this instant, or torn: look again once
            time.sleep(0.05)
            other = _read_record(self.path)
        if _live_other(other, self.record):
            return other
        _fs.write_text_atomic(self.path, self._text())  # a stale record: take over
        time.sleep(0.05)  # another process taking over at the same moment: the last one wins
        back = _read_record(self.path)
        if back is not None and back.get("token") != self.record["token"]:
            return back
        return None

    def heartbeat(self) -> None:
        if time.monotonic() - self._beat >= HEARTBEAT_SECS:
            self._beat = time.monotonic()
            record = _read_record(self.path)
            if record is None or record.get("token") == self.record["token"]:
                _fs.write_text_atomic(self.path, self._text())

    def release(self) -> None:
        record = _read_record(self.path)
        if record is not None and record.get("token") == self.record["token"]:
            _fs.remove(self.path)


class RunLog:
    """The history of one callback's fit, and its writer (None without a run directory)."""

    def __init__(self, run_dir: str | None, suffix: str | None = None) -> None:
        # Where this process writes: None on processes other than 0 of a multi-process fit.
        self.run_dir = _process.run_dir_for(run_dir)
        # one of several optimizers: every tag written as `<tag>/<suffix>`
        self.suffix = suffix
        self._owner: _Owner | None = None
        self.steps: list[int] = []
        self.rates: list[float] = []
        # other per-step series written beside the rate (`momentum`, ...), by tag
        self.extra: dict[str, list[float]] = {}
        # when another callback writes the rate to the same run: the only tags written here
        self.only_tags: set[str] | None = None
        self._writer: EventWriter | None = None
        self._last_wall_time = time.time()
        self._next_step: int | None = None

    def open(self) -> None:
        if self.run_dir is not None and self._writer is None:
            self._claim()
            self._writer = EventWriter(self.run_dir)
        self._last_wall_time = time.time()

    def _claim(self) -> None:
        """Own the run directory, or warn and move to a run of this process's own."""
        _fs.makedirs(self.run_dir)
        owner = _Owner(self.run_dir)
        other = owner.claim()
        if other is not None:
            own = _fs.join(self.run_dir, f"{owner.record['host']}-{owner.record['pid']}")
            warnings.warn(
                f"lr_tb: another process (pid {other.get('pid')} on host {other.get('host')!r})"
                f" is writing the TensorBoard run {self.run_dir!r}; this process writes its own"
                f" run {own!r} instead, so the two series are not merged. Give each training "
                "its own log_dir.",
                RuntimeWarning,
                stacklevel=2,
            )
            self.run_dir = own
            _fs.makedirs(own)
            owner = _Owner(own)
            owner.claim()
        self._owner = owner

    @property
    def next_step(self) -> int | None:
        return self._next_step

    def start_at(self, step: int) -> None:
        self._next_step = step

    def add(
        self,
        steps: np.ndarray,
        rates: np.ndarray,
        keep: np.ndarray | None = None,
        extra: dict[str, np.ndarray] | None = None,
    ) -> None:
        """Keep and write these (consecutive, ascending) steps; `keep` thins the points;
        `extra`: other series of the same steps, by tag, written beside the rate."""
        if steps.size == 0:
            return
        self._next_step = int(steps[-1]) + 1
        extra = dict(extra or {})
        if keep is not None:
            steps, rates = steps[keep], rates[keep]
            extra = {tag: values[keep] for tag, values in extra.items()}
        self.steps.extend(steps.tolist())
        self.rates.extend(rates.astype(np.float32).tolist())
        for tag, values in extra.items():
            self.extra.setdefault(tag, []).extend(values.astype(np.float32).tolist())
        if self._writer is not None and steps.size:
            now = time.time()
            # Steps ran evenly between the last flush point and now, as far as we know.
            walls = np.linspace(self._last_wall_time, now, steps.size + 1)[1:]
            if self.only_tags is None:
                self._writer.write(self.tag(TAG), steps, rates, walls)
            for tag, values in extra.items():
                if self.only_tags is None or tag in self.only_tags:
                    self._writer.write(self.tag(tag), steps, values, walls)
            self._last_wall_time = now

    def tag(self, name: str) -> str:
        """The tag a series is written under (`batch_learning_rate/<optimizer>` when the model
        has several optimizers)."""
        return name if self.suffix is None else f"{name}/{self.suffix}"

    def flush(self) -> None:
        if self._writer is not None:
            self._writer.flush()
            self._write_progress()
            if self._owner is not None:
                self._owner.heartbeat()

    def close(self, finished: bool = False, complete: bool = True) -> None:
        """Close the file; `finished`: the fit ended normally (no resume will follow);
        `complete`: every step the fit ran was written."""
        if self._writer is not None:
            self._writer.close()
            if complete:  # nothing to fill in after this fit: no record (see fill_gap_before)
                self._remove_progress()
            else:
                self._write_progress(finished)
            self._writer = None
            if self._owner is not None:
                self._owner.release()
                self._owner = None

    def _progress_path(self) -> str:
        """`lr_tb_progress.json`; one of several optimizers keeps its own,
        `lr_tb_progress.<suffix>.json` (their step counts may differ)."""
        if self.suffix is None:
            return _fs.join(self.run_dir, PROGRESS_FILE)
        stem, ext = os.path.splitext(PROGRESS_FILE)
        return _fs.join(self.run_dir, f"{stem}.{self.suffix}{ext}")

    def _write_progress(self, finished: bool = False) -> None:
        """`next_step`: every step before it is on disk. A record left behind means the
        writer died between flush points (a hard kill), or closed without writing every step
        it ran: a resumed fit fills the gap (`fill_gap_before`), unless `finished` (the fit
        ended normally). A writer closed after writing every step removes the record
        (`close`); earlier lr_tb releases wrote `"closed": true` instead, read alike."""
        if self._next_step is None or self.run_dir is None:
            return
        progress = {"next_step": self._next_step, "finished": finished}
        _fs.write_text_atomic(self._progress_path(), json.dumps(progress))

    def _remove_progress(self) -> None:
        """A fit closed after writing every step it ran leaves no progress record: a later
        fit has nothing to fill in. (Removing costs a tenth of replacing the record: ext4
        writes a renamed-over file's data out at the rename.)"""
        if self.run_dir is not None:
            _fs.remove(self._progress_path())

    def fill_gap_before(self, start: int, rates_of: Callable[[np.ndarray], np.ndarray]) -> None:
        """Write the steps between this run's last flushed step and `start`: steps a crashed
        fit of the same curve ran but never flushed (the rate is `rates_of(steps)`). A run
        whose last fit was closed (ended normally, or raised or was interrupted and closed
        after writing every step it ran) has no such steps: nothing is written, so updates
        made since outside any lr_tb fit (`train_on_batch`, a plain `fit`) are not given this
        schedule's rates. No record (a closed fit removes it, an earlier lr_tb release wrote
        `closed`): nothing is written."""
        if self._writer is None or self.only_tags is not None:
            return
        try:
            progress = json.loads(_fs.read_text(self._progress_path()))
            flushed = int(progress["next_step"])
        except (OSError, ValueError, KeyError, TypeError):
            return
        if progress.get("finished") or progress.get("closed"):
            return
        if flushed < start:
            steps = np.arange(flushed, start, dtype=np.int64)
            self._writer.write(self.tag(TAG), steps, rates_of(steps))
            self._writer.flush()
