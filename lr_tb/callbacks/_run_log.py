"""History and writing: the `learning_rates` a callback keeps and the TensorBoard run it
writes, `<log_dir>/train`, tag `learning_rate`, one point per optimizer step.

Points are appended in bulk (`add`), flushed at flush points, and the file is closed at the
end of a fit. Beside the event files, `lr_tb_progress.json` records the step after the last
one flushed, so a resumed fit whose first step is further on (a SIGKILL lost unflushed
points) can fill the gap, when the rate is a pure function of the step. Paths go through
`lr_tb._fs`, so `gs://`, `s3://` and `hdfs://` log directories work where TensorFlow's
file systems do.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable

import numpy as np

from lr_tb import _fs
from lr_tb.event_writer import EventWriter

TAG = "learning_rate"
PROGRESS_FILE = "lr_tb_progress.json"


class RunLog:
    """The history of one callback's fit, and its writer (None without a run directory)."""

    def __init__(self, run_dir: str | None) -> None:
        self.run_dir = run_dir
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
            self._writer = EventWriter(self.run_dir)
        self._last_wall_time = time.time()

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
                self._writer.write(TAG, steps, rates, walls)
            for tag, values in extra.items():
                if self.only_tags is None or tag in self.only_tags:
                    self._writer.write(tag, steps, values, walls)
            self._last_wall_time = now

    def flush(self) -> None:
        if self._writer is not None:
            self._writer.flush()
            self._write_progress()

    def close(self, finished: bool = False) -> None:
        """Close the file; `finished`: the fit ended normally (no resume will follow)."""
        if self._writer is not None:
            self._writer.close()
            self._write_progress(finished)
            self._writer = None

    def _progress_path(self) -> str:
        return _fs.join(self.run_dir, PROGRESS_FILE)

    def _write_progress(self, finished: bool = False) -> None:
        if self._next_step is None or self.run_dir is None:
            return
        progress = {"next_step": self._next_step, "finished": finished}
        _fs.write_text_atomic(self._progress_path(), json.dumps(progress))

    def fill_gap_before(self, start: int, rates_of: Callable[[np.ndarray], np.ndarray]) -> None:
        """Write the steps between this run's last flushed step and `start`: steps a crashed
        fit of the same curve ran but never flushed (the rate is `rates_of(steps)`). A run
        whose last fit ended normally has no such steps: nothing is written."""
        if self._writer is None or self.only_tags is not None:
            return
        try:
            progress = json.loads(_fs.read_text(self._progress_path()))
            flushed = int(progress["next_step"])
        except (OSError, ValueError, KeyError, TypeError):
            return
        if progress.get("finished"):
            return
        if flushed < start:
            steps = np.arange(flushed, start, dtype=np.int64)
            self._writer.write(TAG, steps, rates_of(steps))
            self._writer.flush()
