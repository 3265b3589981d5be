"""The three checks of one map together, with a verdict for each: what the widget's "Check this
map" runs, and what a script can run the same way.

The verdicts' thresholds (:data:`THRESHOLDS`), and why:

- **randomisation** passes when the median Spearman correlation between the map and the maps
  of the cascade (the model re-initialised from the output down, at checkpoints spaced
  geometrically from the output layer) is below 0.5. A map that keeps half its rank order while
  the layers that make the prediction are random is not explaining those layers. On the default
  model: gradient 0.37, SmoothGrad 0.30, Grad-CAM 0.10 pass; guided backprop 0.98 and Guided
  Grad-CAM 0.74 fail, as in Adebayo et al. (2018); Input x Gradient 0.64 and Integrated
  Gradients 0.59 fail too: the input they multiply by stays the same (the paper's observation).
- **class** passes when the Spearman correlation between the map for the class and the map for
  the least likely class is below the same 0.5: a map for "mortarboard" that ranks pixels like
  the map for the class the model believes least is not about mortarboards.
- **faithfulness** passes when the insertion area minus the deletion area is larger than the
  same difference for every one of a few random orderings of the pixels (four by default): a
  rank test, as the random orderings' areas spread widely (a model answers erratically to
  scattered pixels), so a mean would be a noisy bar. A random ranking passes with probability
  one in five. The value shown is the margin over the best random ordering.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from flashwidget import methods
from flashwidget.checks import checked_generator
from flashwidget.inputs import as_image_batch
from flashwidget.live import private_copy
from flashwidget.model_output import OutputFn
from flashwidget.steps import Steps
from flashwidget.trust.deletion import DeletionInsertion, deletion_insertion_steps
from flashwidget.trust.randomization import (
    RandomizationStep,
    randomizable_layers,
    randomization_steps,
)
from flashwidget.trust.sensitivity import ClassSensitivity, class_sensitivity_steps

THRESHOLDS = {"randomization": 0.5, "class": 0.5, "faithfulness": 0.0}
RHO = "\N{GREEK SMALL LETTER RHO}"  # Spearman's rank correlation, on the badges


@dataclass(frozen=True)
class Verdict:
    """One check's outcome: ``value`` against ``threshold``, a short ``summary`` for a badge
    and a ``detail`` sentence with the numbers and the rule."""

    name: str
    title: str
    passed: bool
    value: float
    threshold: float
    summary: str
    detail: str


@dataclass(frozen=True)
class CheckResult:
    """Everything a check found: the three checks' results and a verdict for each."""

    target: int
    method: str
    options: dict[str, Any]
    randomization: list[RandomizationStep]
    layers: int
    sensitivity: ClassSensitivity
    curves: DeletionInsertion
    verdicts: list[Verdict]

    def as_json(self) -> dict[str, Any]:
        """Plain numbers and strings (the first image's curves), as the widget sends them."""
        curves = self.curves
        return {
            "target": self.target,
            "method": self.method,
            "badges": [vars(verdict) for verdict in self.verdicts],
            "cascade": {
                "layers": [step.layer for step in self.randomization],
                "randomized": [step.position for step in self.randomization],
                "total": self.layers,
                "spearman": [step.spearman for step in self.randomization],
                "ssim": [step.ssim for step in self.randomization],
            },
            "curves": {
                "fractions": curves.fractions.tolist(),
                "deletion": curves.deletion[0].tolist(),
                "insertion": curves.insertion[0].tolist(),
                "deletion_auc": float(curves.deletion_auc[0]),
                "insertion_auc": float(curves.insertion_auc[0]),
                "random_deletion_auc": float(curves.random_deletion_auc[0]),
                "random_insertion_auc": float(curves.random_insertion_auc[0]),
            },
        }


def verdicts(
    randomization: list[RandomizationStep], sensitivity: ClassSensitivity, curves: DeletionInsertion
) -> list[Verdict]:
    """The three verdicts, by the rules of :data:`THRESHOLDS` (see the module's docstring)."""
    cascade = statistics.median(step.spearman for step in randomization)
    limit = THRESHOLDS["randomization"]
    first = randomization[0]
    gain = float((curves.insertion_auc - curves.deletion_auc).mean())
    chance = (curves.random_insertion_aucs - curves.random_deletion_aucs).mean(dim=1)
    margin = gain - float(chance.max())
    return [
        Verdict(
            "randomization",
            "Randomisation",
            cascade < limit,
            cascade,
            limit,
            f"{RHO} {cascade:.2f}",
            f"Median Spearman {cascade:.2f} between the map and the maps of the model "
            f"re-initialised from the output down ({len(randomization)} maps; {first.spearman:.2f}"
            f" with only {first.layer} re-initialised); passes below {limit}",
        ),
        Verdict(
            "class",
            "Class",
            sensitivity.spearman < THRESHOLDS["class"],
            sensitivity.spearman,
            THRESHOLDS["class"],
            f"{RHO} {sensitivity.spearman:.2f}",
            f"Spearman {sensitivity.spearman:.2f} between the map and the map for class "
            f"{sensitivity.other[0]} (the least likely); passes below {THRESHOLDS['class']}",
        ),
        Verdict(
            "faithfulness",
            "Faithfulness",
            margin > THRESHOLDS["faithfulness"],
            margin,
            THRESHOLDS["faithfulness"],
            f"{margin:+.3f}",
            f"Insertion area minus deletion area {gain:+.3f}, against {float(chance.min()):+.3f} "
            f"to {float(chance.max()):+.3f} for {len(chance)} random orderings of the pixels; "
            f"passes when above every one of them",
        ),
    ]


class MapCheck:
    """The randomisation, class and faithfulness checks of one map, run step by step.

    Each :meth:`step` does one unit of work (a map, or a batch of forward passes), so a caller
    can interleave a check of many seconds with other work, show :attr:`fraction` and
    :attr:`doing`, and drop it at any time; :meth:`run` does all of it. Everything runs on one
    private copy of the model taken here, so the checks see the same weights even while the
    user's model trains.

    Args:
        model, inputs, target: the classifier, the image (normalised) and the class explained.
        method, options: the attribution method (a registry name) and its options.
        attributions: the map to score by deletion and insertion; computed when omitted.
        checkpoints: maps along the cascading randomisation (see
            :func:`flashwidget.trust.randomization_check`).
        steps, random_orderings, batch_size: of the deletion and insertion curves.
        generator: the random source of the new weights (seeded 0 when omitted); the random
            orderings come from a generator of their own, seeded 0 (or from ``generator``'s
            first draw when one is given), so they do not depend on how many layers the
            cascade went through, and by default equal :func:`deletion_insertion`'s.
        output_fn: picks the logits out of a model output that is not a tensor.
    """

    def __init__(
        self,
        model: nn.Module,
        inputs: torch.Tensor,
        target: int,
        method: str = "gradient",
        options: Mapping[str, Any] | None = None,
        attributions: torch.Tensor | None = None,
        *,
        checkpoints: int | None = 12,
        steps: int = 20,
        random_orderings: int = 4,
        batch_size: int = 8,
        generator: torch.Generator | None = None,
        output_fn: OutputFn | None = None,
    ) -> None:
        self._copy, _ = private_copy(model)
        self._inputs = as_image_batch(inputs).detach()
        self.target, self.method, self.options = target, method, dict(options or {})
        self._attributions = attributions
        self._checkpoints, self._steps = checkpoints, steps
        self._orderings, self._batch_size = random_orderings, batch_size
        self._generator = checked_generator(generator)
        seed = 0 if generator is None else int(torch.randint(2**62, (), generator=generator))
        self._orderings_generator = torch.Generator().manual_seed(seed)
        self._output_fn = output_fn
        self.phases = ["comparing with another class", "re-initialising layers"]
        self.phases.append("deleting and inserting pixels")
        self._phase, self._done, self._total = 0, 0, 1
        self.result: CheckResult | None = None
        self._work = self._all()

    @property
    def fraction(self) -> float:
        """How much of the check is done, from 0 to 1."""
        if self.result is not None:
            return 1.0
        return (self._phase + self._done / self._total) / len(self.phases)

    @property
    def doing(self) -> str:
        """What the check is doing now, for a status line."""
        return f"{self.phases[self._phase]} ({self._done} of {self._total})"

    def step(self) -> bool:
        """Do one unit of work; ``False`` once the check is done (its :attr:`result` set)."""
        if self.result is not None:
            return False
        try:
            self._done, self._total = next(self._work)
        except StopIteration as end:
            self.result = end.value
            return False
        return True

    def run(self, progress: Callable[[float], None] | None = None) -> CheckResult:
        """Do all of the check (what is left of it) and return the result."""
        while self.step():
            if progress is not None:
                progress(self.fraction)
        assert self.result is not None
        return self.result

    def _phase_of(self, index: int, work: Steps) -> Steps:
        self._phase, self._done, self._total = index, 0, 1
        return (yield from work)

    def _all(self) -> Steps[CheckResult]:
        model, inputs, target = self._copy, self._inputs, self.target
        method, options = self.method, self.options
        sensitivity = yield from self._phase_of(
            0,
            class_sensitivity_steps(
                model, inputs, target, method, options, output_fn=self._output_fn
            ),
        )
        randomization = yield from self._phase_of(
            1,
            randomization_steps(
                model,
                inputs,
                target,
                method,
                options,
                generator=self._generator,
                checkpoints=self._checkpoints,
                output_fn=self._output_fn,
            ),
        )
        maps = self._attributions
        if maps is None:
            maps = methods.get(method, model, output_fn=self._output_fn, **options).attribute(
                inputs, target
            )
        curves = yield from self._phase_of(
            2,
            deletion_insertion_steps(
                model,
                inputs,
                target,
                maps,
                steps=self._steps,
                random_orderings=self._orderings,
                batch_size=self._batch_size,
                generator=self._orderings_generator,
                output_fn=self._output_fn,
            ),
        )
        return CheckResult(
            target=target,
            method=method,
            options=options,
            randomization=randomization,
            layers=len(randomizable_layers(model)),
            sensitivity=sensitivity,
            curves=curves,
            verdicts=verdicts(randomization, sensitivity, curves),
        )
