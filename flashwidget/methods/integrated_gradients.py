"""Integrated Gradients (Sundararajan et al. 2017): gradients integrated along a straight path
from a baseline to the input, times the difference between them.

The integration rules and their points and weights are Captum's (``gausslegendre`` by default,
and the four Riemann sums), so a map equals Captum's for the same rule and number of steps.
The points on the path go through the model ``internal_batch_size`` at a time, so memory is
bounded by that, not by ``steps``: 200 steps never hold 200 graphs at once.
"""

from __future__ import annotations

import math
from numbers import Real

import numpy as np
import torch

from flashwidget.checks import require_positive_int
from flashwidget.methods.core import (
    Attribution,
    AttributionMethod,
    chunks,
    fixed_targets,
    pass_selector,
    report_progress,
)
from flashwidget.methods.gradient import Gradient
from flashwidget.targets import TargetSelector

RULES = (
    "gausslegendre",
    "riemann_left",
    "riemann_right",
    "riemann_middle",
    "riemann_trapezoid",
)
DEFAULT_BATCH = 32  # points on the path per pass


def path_points(rule: str, steps: int) -> tuple[list[float], list[float]]:
    """Where on the path (alphas in [0, 1]) the gradient is taken, and the weight of each."""
    if rule == "gausslegendre":
        nodes, weights = np.polynomial.legendre.leggauss(steps)
        return (0.5 * (1 + nodes)).tolist(), (0.5 * weights).tolist()
    sizes = [1 / steps] * steps
    if rule == "riemann_trapezoid":
        sizes[0] /= 2
        sizes[-1] /= 2
        return torch.linspace(0, 1, steps).tolist(), sizes
    first, last = {
        "riemann_left": (0, 1 - 1 / steps),
        "riemann_right": (1 / steps, 1),
        "riemann_middle": (1 / (2 * steps), 1 - 1 / (2 * steps)),
    }[rule]
    return torch.linspace(first, last, steps).tolist(), sizes


class IntegratedGradients(AttributionMethod):
    """Integrated Gradients of the class's logit from ``baseline`` to the input.

    Args:
        steps: points on the path (Captum's ``n_steps``).
        baseline: ``None`` for black in the model's input space (zeros), a number for a
            constant image, or a tensor of the input's shape ((C, H, W) for all images, or
            (N, C, H, W) one per image).
        rule: the integration rule, one of Captum's: "gausslegendre" (default),
            "riemann_left", "riemann_right", "riemann_middle", "riemann_trapezoid".
        internal_batch_size: points on the path per pass through the model; ``None`` for 32.
    """

    name = "integrated_gradients"
    iterative = True

    def __init__(
        self,
        model: torch.nn.Module,
        steps: int = 50,
        baseline: float | torch.Tensor | None = None,
        rule: str = "gausslegendre",
        internal_batch_size: int | None = None,
        **kwargs,
    ) -> None:
        super().__init__(model, **kwargs)
        require_positive_int(steps, "steps", "points on the integration path")
        if rule not in RULES:
            raise ValueError(f"rule must be one of {', '.join(RULES)}; got {rule!r}")
        if rule != "gausslegendre" and steps < 2:
            raise ValueError(f"the Riemann rules need steps >= 2; got {steps}")
        if internal_batch_size is not None:
            require_positive_int(internal_batch_size, "internal_batch_size")
        if baseline is not None and not isinstance(baseline, torch.Tensor):
            if isinstance(baseline, bool) or not isinstance(baseline, Real):
                raise TypeError(
                    f"baseline must be None, a number or a tensor; got {type(baseline).__name__}"
                )
            if not math.isfinite(baseline):
                raise ValueError(f"baseline must be finite; got {baseline}")
        self.steps = steps
        self.baseline = baseline
        self.rule = rule
        self.internal_batch_size = internal_batch_size or DEFAULT_BATCH
        self._gradient = Gradient(model, output_fn=self.output_fn)

    def _baseline_for(self, x: torch.Tensor) -> torch.Tensor:
        if self.baseline is None:
            return torch.zeros_like(x)
        if not isinstance(self.baseline, torch.Tensor):
            return torch.full_like(x, float(self.baseline))
        baseline = self.baseline.detach().to(device=x.device, dtype=x.dtype)
        if baseline.shape not in (x.shape[1:], (1, *x.shape[1:]), x.shape):
            raise ValueError(
                f"baseline has shape {tuple(baseline.shape)}; expected the input's shape "
                f"{tuple(x.shape[1:])} or {tuple(x.shape)}"
            )
        return baseline.expand_as(x)

    def _explain(self, x: torch.Tensor, select: TargetSelector) -> Attribution:
        baseline = self._baseline_for(x)
        logits, targets = self._classes(x, select)
        alphas, weights = path_points(self.rule, self.steps)
        num_images = x.shape[0]
        per_pass = max(1, self.internal_batch_size // num_images)
        delta = x - baseline
        total: torch.Tensor | None = None
        for piece in chunks(self.steps, per_pass):
            points = torch.cat([baseline + alphas[i] * delta for i in piece])
            count = len(piece)
            if targets is None:
                chosen = pass_selector(
                    select,
                    rows=lambda logits, m=count: logits.view(m, num_images, -1)[0],
                    spread=lambda picked, m=count: picked.repeat(m, 1),
                )
            else:
                chosen = fixed_targets(targets.repeat(len(piece), 1))
            result = self._gradient._explain(points, chosen)
            if targets is None:
                targets = result.targets.view(len(piece), num_images, -1)[0]
            grads = result.maps.view(len(piece), num_images, *result.maps.shape[1:])
            step = torch.tensor([weights[i] for i in piece], dtype=x.dtype, device=x.device)
            part = (grads * step.view(-1, *[1] * (grads.ndim - 1))).sum(dim=0)
            total = part if total is None else total + part
            report_progress(piece.stop, self.steps)
        maps = total * delta.unsqueeze(1)
        return Attribution(logits=logits, targets=targets, maps=maps)
