"""Make the README's pictures from the real thing: the quick demo's runs in the real
TensorBoard, photographed by headless Chromium (the first screen `tensorboard --logdir runs`
opens on, and filtered views), and one `lr-tb preview --png` per schedule.

    apt-get install --no-install-recommends chromium   # Debian's package: /usr/bin/chromium
    python tools/screenshots.py                        # writes docs/*.png

Nothing here is hand-edited; run it again to refresh the pictures. `default_view` is also what
tests/test_tensorboard_server.py asks: which cards TensorBoard draws in the view
`tensorboard --logdir` opens on.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from html.parser import HTMLParser

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, "tests"))

from tb_server import get_json, tensorboard, wait_for  # noqa: E402

CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
    "--force-device-scale-factor=1",
    # No WebGL: TensorBoard then draws its charts as SVG, its own fallback, which headless
    # Chromium always paints before the screenshot (with WebGL, about half the shots caught
    # the line charts still empty) and which the DOM holds, so `default_view` can read them.
    "--disable-3d-apis",
]

PREVIEWS = {
    "exponential": ["--steps", "2000", "--steps_per_epoch", "200", "--min_learning_rate", "1e-6"],
    "warmup_cosine": [
        "--steps",
        "2000",
        "--warmup_steps",
        "200",
        "--hold_steps",
        "100",
        "--warmup_learning_rate",
        "1e-5",
        "--min_learning_rate",
        "1e-6",
    ],
    "cosine_restarts": [
        "--steps",
        "2000",
        "--warmup_fraction",
        "0.1",
        "--warmup_learning_rate",
        "1e-5",
        "--min_learning_rate",
        "1e-6",
    ],
    "sgdr": ["--steps", "3100", "--first_cycle_steps", "100", "--t_mul", "2", "--m_mul", "0.7"],
}


def find_chromium() -> str | None:
    """Debian's `chromium` (or a Chrome) on PATH, else None."""
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        path = shutil.which(name)
        if path:
            return path
    return None


def _chromium(chromium: str, url: str, size: str, output: str, budget_ms: int) -> str:
    """Load `url` in headless Chromium with a new, empty profile (what a newcomer's browser
    holds: no saved TensorBoard settings, pins or filters), let the page run for `budget_ms`
    of virtual time, then do `output` (`--screenshot=...` or `--dump-dom`); returns stdout."""
    with tempfile.TemporaryDirectory() as profile:
        return subprocess.run(
            [
                chromium,
                *CHROMIUM_FLAGS,
                f"--user-data-dir={profile}",
                f"--window-size={size}",
                f"--virtual-time-budget={budget_ms}",
                output,
                url,
            ],
            check=True,
            capture_output=True,
            text=True,
            timeout=120,
        ).stdout


def shoot(url: str, path: str, size: str, chromium: str, budget_ms: int = 20000) -> None:
    _chromium(chromium, url, size, f"--screenshot={path}", budget_ms)
    print(f"wrote {os.path.relpath(path, ROOT)}")


@dataclass
class View:
    groups: list[str]  # the tag groups listed, top to bottom, expanded or not
    cards: dict[str, list[int]]  # tag of each card drawn -> points in each line it draws


class _ViewParser(HTMLParser):
    """Reads the time-series dashboard's DOM: group titles, each scalar card's tag (the
    `tb-truncated-path` of its heading) and the SVG paths of its series view (one a line)."""

    VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source"}

    def __init__(self) -> None:
        super().__init__()
        self.view = View([], {})
        self._open: list[tuple[str, list[str]]] = []
        self._card: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        classes = (a.get("class") or "").split()
        if tag == "span" and "group-title" in classes and a.get("title") is not None:
            self.view.groups.append(a["title"])  # "Pinned" has no title attribute
        elif tag == "tb-truncated-path" and "tag" in classes and a.get("title") is not None:
            self._card = a["title"]
            self.view.cards[self._card] = []
        elif (
            tag == "path"
            and self._card is not None
            and len(self._open) >= 2
            and self._open[-1][0] == "svg"
            and "series-view" in self._open[-2][1]
        ):
            self.view.cards[self._card].append((a.get("d") or "").count(","))  # x,y per point
        if tag not in self.VOID:
            self._open.append((tag, classes))

    def handle_endtag(self, tag: str) -> None:
        for i in range(len(self._open) - 1, -1, -1):
            if self._open[i][0] == tag:
                del self._open[i:]
                break


def default_view(base: str, chromium: str, png: str | None = None, size: str = "1500,900") -> View:
    """What `tensorboard --logdir` shows first: its base URL, nothing in the address (no tab,
    tag filter, smoothing or pins), in a fresh profile. Returns the tag groups of the dashboard
    it opens on and the scalar cards drawn there with the number of points of each line, read
    from the DOM TensorBoard built; with `png`, also a screenshot of that view, `size` pixels."""
    url = f"{base}/"
    parser = _ViewParser()
    parser.feed(_chromium(chromium, url, size, "--dump-dom", 20000))
    if png is not None:
        _chromium(chromium, url, size, f"--screenshot={png}", 20000)
    return parser.view


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default=os.path.join(ROOT, "docs"))
    parser.add_argument("--chromium", default=find_chromium() or "/usr/bin/chromium")
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    lr_tb_cli = [sys.executable, "-m", "lr_tb.cli"]

    for name, extra in PREVIEWS.items():
        schedule = "cosine_restarts" if name == "sgdr" else name
        subprocess.run(
            [
                *lr_tb_cli,
                "preview",
                schedule,
                *extra,
                "--png",
                os.path.join(args.out, f"preview_{name}.png"),
            ],
            check=True,
            env=env,
            capture_output=True,
        )
        print(f"wrote docs/preview_{name}.png")

    with tempfile.TemporaryDirectory() as logdir:
        subprocess.run(
            [*lr_tb_cli, "demo", "--quick", "--logdir", logdir, "--verbose", "0"],
            check=True,
            env=env,
        )
        with tensorboard(logdir) as base:
            wait_for(lambda: len(get_json(base, "/data/runs")) >= 8)
            # what `tensorboard --logdir runs` opens on, in a fresh profile, first screen
            shoot(
                f"{base}/",
                os.path.join(args.out, "tensorboard_first_view.png"),
                "1600,1200",
                args.chromium,
            )
            scalars = (
                f"{base}/?darkMode=false#scalars&_smoothingWeight=0"
                "&tagFilter=%5Ebatch_learning_rate%24%7C%5Eepoch_loss%24"
            )
            shoot(
                scalars,
                os.path.join(args.out, "tensorboard_scalars.png"),
                "1500,700",
                args.chromium,
            )

    with tempfile.TemporaryDirectory() as work:
        logdir = os.path.join(work, "search")
        subprocess.run(
            [
                sys.executable,
                os.path.join(ROOT, "examples", "tuner_search.py"),
                "--logdir",
                logdir,
                "--quick",
            ],
            check=True,
            env=env,
            capture_output=True,
        )
        with tensorboard(logdir) as base:
            wait_for(lambda: len(get_json(base, "/data/runs")) >= 12)
            shoot(
                f"{base}/?darkMode=false#hparams",
                os.path.join(args.out, "tensorboard_hparams.png"),
                "1500,800",
                args.chromium,
            )
            scalars = (
                f"{base}/?darkMode=false#scalars&_smoothingWeight=0"
                "&tagFilter=%5Ebatch_learning_rate%24%7C%5Eepoch_accuracy%24"
            )
            shoot(
                scalars, os.path.join(args.out, "tensorboard_search.png"), "1500,700", args.chromium
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
