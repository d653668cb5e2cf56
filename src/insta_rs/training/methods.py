"""The registries of training methods: one entry per name, and nothing else lists them.

:data:`METHODS` holds the parameter-update methods (``train.method`` of a fixed-sigma baseline and
``stage1.method`` / ``stage2.method`` of a two-stage model): the module that implements the method's
``training_loss(stage, model, x, labels, sigma, epoch, generator)`` and the method's own options with their
defaults and ranges. :data:`insta_rs.training.two_stage.TWO_STAGE_METHODS` holds the per-example-sigma methods
(``train.method``) that train a stage I and fine-tune it in a stage II.

Adding a parameter-update method: write its module (``training_loss``), add its entry here, test it. The
config schema, the config checks and the workflow's training rules take the names from here. Free of torch:
the workflow's rule files read it while parsing; a method's module is imported when it trains.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import Callable


@dataclass(frozen=True)
class Option:
    """A method option: its default, the smallest allowed number (None: any), and words allowed instead of a
    number. An ``int`` default makes the option an integer."""

    default: object
    minimum: float | None = None
    words: tuple[str, ...] = ()

    def check(self, value: object, where: str) -> object:
        """``value`` if allowed (ints widened to float where the default is a float), else ValueError."""
        if isinstance(value, str) and value in self.words:
            return value
        integer = isinstance(self.default, int)
        allowed = (int,) if integer else (int, float)
        if isinstance(value, bool) or not isinstance(value, allowed) or (
                self.minimum is not None and value < self.minimum):
            kind = "an integer" if integer else "a number"
            limit = f" >= {self.minimum:g}" if self.minimum is not None else ""
            words = f" or one of {', '.join(self.words)}" if self.words else ""
            raise ValueError(f"{where} = {value!r}: use {kind}{limit}{words}")
        return value if integer else float(value)


# A backward pass costs about two forward passes: one forward-and-backward pass counts as three.
FORWARD_AND_BACKWARD = 3


@dataclass(frozen=True)
class Method:
    """A parameter-update method: where its ``training_loss`` lives, what it does, its options, and its cost: the
    forward-pass equivalents it spends per training example and epoch, given its options (for ``snakemake
    cost``; a backward pass counts as two forward passes)."""

    module: str
    summary: str
    options: dict[str, Option] = field(default_factory=dict)
    forward_cost: Callable[[dict], float] = lambda options: FORWARD_AND_BACKWARD

    def training_loss(self) -> Callable:
        """The method's ``training_loss`` (imports its module, and so torch)."""
        return importlib.import_module(self.module).training_loss


METHODS: dict[str, Method] = {
    "gaussian": Method("insta_rs.training.gaussian", "Gaussian data augmentation (Cohen et al. 2019)"),
    "smoothadv": Method("insta_rs.training.smoothadv", "adversarial training of the soft smoothed classifier "
                        "(Salman et al. 2019)",
                        {"eps": Option("adaptive", minimum=0, words=("adaptive",)), "m_train": Option(2, 1),
                         "steps": Option(10, 1), "warmup": Option(10, 0)},
                        # each PGD step and the update: a forward and backward pass over the m_train noisy copies
                        lambda options: FORWARD_AND_BACKWARD * options["m_train"] * (options["steps"] + 1)),
    "macer": Method("insta_rs.training.macer", "certified-radius maximization (Zhai et al. 2020)",
                    {"k": Option(16, 1), "lambda": Option(12.0, 0), "gamma": Option(8.0), "beta": Option(16.0)},
                    lambda options: FORWARD_AND_BACKWARD * options["k"]),  # forward and backward over k copies
}
