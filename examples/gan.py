"""A model with two optimizers of its own, as in Keras' GAN examples: each optimizer gets its
own lr_tb schedule, and TensorBoard shows both rates, step by step, beside the losses.

    python examples/gan.py --logdir runs_gan
    tensorboard --logdir runs_gan

A tiny GAN on scikit-learn's bundled digits (offline): `compile()` is overridden with a
generator and a discriminator optimizer, and `train_step` applies both. `lr_tb.TensorBoard`
writes `batch_learning_rate/g_optimizer` and `batch_learning_rate/d_optimizer`; each
`lr_tb.ScheduleCallback(..., optimizer="g_optimizer")` schedules one of them. TensorFlow or
torch backend (a JAX `train_step` is stateless and carries its optimizers' state by hand).
About 10 s on 2 CPU cores.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys

# isort: split
import lr_tb  # first: Keras, imported by lr_tb, then starts without TensorFlow's C++ lines

# isort: split
import keras
from keras import ops

from lr_tb import datasets

LATENT = 16


class GAN(keras.Model):
    """Keras' GAN example's shape: two sub-models, two optimizers, one train_step."""

    def __init__(self) -> None:
        super().__init__()
        self.generator = keras.Sequential(
            [
                keras.Input((LATENT,)),
                keras.layers.Dense(64, "relu"),
                keras.layers.Dense(784, "sigmoid"),
            ]
        )
        self.discriminator = keras.Sequential(
            [keras.Input((784,)), keras.layers.Dense(64, "relu"), keras.layers.Dense(1)]
        )
        self.seed = keras.random.SeedGenerator(0)

    def compile(
        self, g_optimizer: keras.optimizers.Optimizer, d_optimizer: keras.optimizers.Optimizer
    ) -> None:
        super().compile()
        self.g_optimizer, self.d_optimizer = g_optimizer, d_optimizer
        self.bce = keras.losses.BinaryCrossentropy(from_logits=True)

    def call(self, images):  # what fit builds the model with: the discriminator's verdict
        return self.discriminator(ops.reshape(images, (-1, 784)))

    def _both_losses(self, real):
        z = keras.random.normal((ops.shape(real)[0], LATENT), seed=self.seed)
        fake = self.generator(z, training=True)
        real_logits = self.discriminator(real, training=True)
        fake_logits = self.discriminator(fake, training=True)
        d_loss = self.bce(ops.ones_like(real_logits), real_logits) + self.bce(
            ops.zeros_like(fake_logits), fake_logits
        )
        g_loss = self.bce(ops.ones_like(fake_logits), fake_logits)
        return d_loss, g_loss

    def train_step(self, data):
        real = ops.reshape(data[0] if isinstance(data, tuple) else data, (-1, 784))
        for optimizer, part, pick in (
            (self.d_optimizer, self.discriminator, 0),
            (self.g_optimizer, self.generator, 1),
        ):
            variables = part.trainable_variables
            if keras.backend.backend() == "tensorflow":
                import tensorflow as tf

                with tf.GradientTape() as tape:
                    loss = self._both_losses(real)[pick]
                grads = tape.gradient(loss, variables)
            elif keras.backend.backend() == "torch":
                self.zero_grad()
                loss = self._both_losses(real)[pick]
                loss.backward()
                grads = [v.value.grad for v in variables]
            else:
                raise RuntimeError("this example's train_step is for TensorFlow or torch")
            optimizer.apply(grads, variables)
            if pick == 0:
                d_loss = loss
        return {"d_loss": d_loss, "g_loss": loss}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--logdir", default="runs_gan", help="TensorBoard log directory")
    parser.add_argument("--epochs", type=int, default=3, help="epochs (3)")
    args = parser.parse_args(argv)
    if args.epochs < 1:
        parser.error("--epochs must be >= 1")
    if keras.backend.backend() == "jax":
        parser.error("this example's train_step is for the TensorFlow or torch backend")
    shutil.rmtree(os.path.join(args.logdir, "gan"), ignore_errors=True)

    digits = datasets.load("digits")
    keras.utils.set_random_seed(0)
    gan = GAN()
    gan.compile(keras.optimizers.Adam(2e-4, beta_1=0.5), keras.optimizers.Adam(2e-4, beta_1=0.5))
    steps = args.epochs * -(-len(digits.x_train) // 64)
    g_schedule = lr_tb.schedules.WarmupCosineDecay(2e-4, total_steps=steps, warmup_steps=steps // 5)
    d_schedule = lr_tb.schedules.ExponentialDecay(2e-4, 0.7, steps_per_epoch=steps // args.epochs)
    g_callback = lr_tb.ScheduleCallback(g_schedule, optimizer="g_optimizer")
    d_callback = lr_tb.ScheduleCallback(d_schedule, optimizer="d_optimizer")
    run = os.path.join(args.logdir, "gan")
    gan.fit(
        digits.x_train,
        batch_size=64,
        epochs=args.epochs,
        verbose=2,
        callbacks=[g_callback, d_callback, lr_tb.TensorBoard(run)],
    )
    for name, callback in (("g_optimizer", g_callback), ("d_optimizer", d_callback)):
        rates = callback.learning_rates
        print(f"{name}: {len(rates)} steps, learning rate {rates[0]:.3g} -> {rates[-1]:.3g}")
    print("\nSee both rates (batch_learning_rate/...) beside the losses:")
    print(f"  tensorboard --logdir {args.logdir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
