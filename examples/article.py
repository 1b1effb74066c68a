"""The article, reproduced in TensorBoard: its CNN trained with each of its four schedules.

    python examples/article.py --logdir runs [--quick] [--data auto|mnist|digits]
    tensorboard --logdir runs

The same as `lr-tb demo`; see `python examples/article.py --help`.
"""

import sys

from lr_tb.cli import main

if __name__ == "__main__":
    sys.exit(main(["demo", *sys.argv[1:]]))
