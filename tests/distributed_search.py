"""One process of a distributed keras-tuner search (run by test_tuner_distributed.py).

Its role comes from keras-tuner's own environment variables: KERASTUNER_TUNER_ID ("chief"
serves the oracle, "tuner0", "tuner1" run trials), KERASTUNER_ORACLE_IP/PORT.
    python tests/distributed_search.py SHARED_DIR MAX_TRIALS
"""

import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import keras_tuner as kt  # noqa: E402

sys.path.insert(0, os.path.dirname(__file__))
from test_tuner import build, data  # noqa: E402

from lr_tb import tuner as lt  # noqa: E402


def main(shared, max_trials):
    tuner = kt.RandomSearch(
        lt.ScheduleHyperModel(build),
        objective="val_accuracy",
        max_trials=max_trials,
        directory=os.path.join(shared, "kt"),
        project_name="dist",
        seed=7,
    )
    x, y = data()
    tuner.search(
        x,
        y,
        epochs=2,
        batch_size=16,
        validation_split=0.2,
        verbose=0,
        callbacks=[keras.callbacks.TensorBoard(os.path.join(shared, "search"))],
    )


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]))
