"""Make the README's pictures from the real thing: the quick demo's runs in the real
TensorBoard, photographed by headless Chromium, and one `lr-tb preview --png` per schedule.

    apt-get install chromium          # Debian's package: /usr/bin/chromium
    python tools/screenshots.py       # writes docs/*.png

Nothing here is hand-edited; run it again to refresh the pictures.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile

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


def shoot(url: str, path: str, size: str, chromium: str, budget_ms: int = 20000) -> None:
    with tempfile.TemporaryDirectory() as profile:
        subprocess.run(
            [
                chromium,
                *CHROMIUM_FLAGS,
                f"--user-data-dir={profile}",
                f"--window-size={size}",
                f"--virtual-time-budget={budget_ms}",
                f"--screenshot={path}",
                url,
            ],
            check=True,
            capture_output=True,
            timeout=120,
        )
    print(f"wrote {os.path.relpath(path, ROOT)}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default=os.path.join(ROOT, "docs"))
    parser.add_argument("--chromium", default=shutil.which("chromium") or "/usr/bin/chromium")
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
            scalars = (
                f"{base}/?darkMode=false#scalars&_smoothingWeight=0"
                "&tagFilter=%5Elearning_rate%24%7C%5Eepoch_loss%24"
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
                "&tagFilter=%5Elearning_rate%24%7C%5Eepoch_accuracy%24"
            )
            shoot(
                scalars, os.path.join(args.out, "tensorboard_search.png"), "1500,700", args.chromium
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
