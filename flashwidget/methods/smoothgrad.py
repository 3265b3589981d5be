"""SmoothGrad (Smilkov et al. 2017): the average map over noisy copies of the input.

Composition, as Captum's ``NoiseTunnel``: any input-space method is the base, and this class
only draws the noise, runs the base on the noisy copies for the classes chosen on the clean
input, and averages. The noise's standard deviation is given as the paper gives it, a fraction
of each image's value range (10 to 20 % works best there), not as an absolute number.
Noise comes from a ``torch.Generator`` (seeded 0 unless one is passed), so the same call gives
the same map and the global random state is never drawn from. Each image of a batch draws its
noise from a stream of its own, seeded in turn from that generator, one sample at a time, so
how the samples are cut into passes (``internal_batch_size``) never changes the map.
"""

from __future__ import annotations

import torch

from flashwidget.checks import checked_generator, require_fraction, require_positive_int
from flashwidget.methods.core import (
    Attribution,
    AttributionMethod,
    chunks,
    fixed_targets,
    pass_selector,
    report_progress,
    reporting_progress,
)
from flashwidget.targets import TargetSelector

DEFAULT_BATCH = 32  # noisy images per pass: bounds memory whatever the number of samples


def _randn(x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Standard normal noise of one image's shape, from ``generator``."""
    return torch.randn(x.shape[1:], generator=generator, device=generator.device, dtype=x.dtype)


class SmoothGrad(AttributionMethod):
    """Average of a base method's maps over ``samples`` noisy copies of each image.

    Args:
        base: the registry name of an input-space method ("gradient", "guided_backprop",
            "input_x_gradient", "integrated_gradients", "guided_gradcam").
        samples: noisy copies per image.
        noise: the noise's standard deviation as a fraction of the image's value range
            (max - min), as in the paper.
        squared: average the squared maps (SmoothGrad-squared, Captum's "smoothgrad_sq").
        internal_batch_size: how many noisy images go through the model at once; ``None``
            for 32. Memory is bounded by this, not by ``samples``.
    """

    name = "smoothgrad"
    iterative = True
    call_options = frozenset({"generator"})

    def __init__(
        self,
        model: torch.nn.Module,
        base: str = "gradient",
        samples: int = 25,
        noise: float = 0.15,
        squared: bool = False,
        internal_batch_size: int | None = None,
        **kwargs,
    ) -> None:
        super().__init__(model, **kwargs)
        from flashwidget.methods.registry import get, input_space_methods

        allowed = [name for name in input_space_methods() if name != self.name]
        if base not in allowed:
            raise ValueError(
                f"SmoothGrad's base must be an input-space method, one of {', '.join(allowed)}; "
                f"got {base!r}"
            )
        require_positive_int(samples, "samples", "noisy copies per image")
        if internal_batch_size is not None:
            require_positive_int(internal_batch_size, "internal_batch_size")
        self.base = get(base, model, labels=self.labels, output_fn=self.output_fn)
        self.samples = samples
        self.noise = require_fraction(noise, "noise")
        self.squared = bool(squared)
        self.internal_batch_size = internal_batch_size or DEFAULT_BATCH

    def _explain(
        self,
        x: torch.Tensor,
        select: TargetSelector,
        generator: torch.Generator | None = None,
    ) -> Attribution:
        generator = checked_generator(generator)
        logits, targets = self._classes(x, select)
        num_images = x.shape[0]
        seeds = torch.randint(2**62, (num_images,), generator=generator, device=generator.device)
        streams = [torch.Generator(generator.device).manual_seed(int(s)) for s in seeds]
        value_range = x.amax(dim=(1, 2, 3)) - x.amin(dim=(1, 2, 3))
        sigma = (self.noise * value_range).view(num_images, 1, 1, 1, 1)
        per_pass = max(1, self.internal_batch_size // num_images)
        total: torch.Tensor | None = None
        for piece in chunks(self.samples, per_pass):
            draws = len(piece)
            # One draw per sample: torch's CPU generator fills in blocks of 16 values, so one
            # draw of two samples differs from two draws of one when C*H*W is not a multiple
            # of 16, and the map would depend on how samples are cut into passes.
            noise = torch.stack(
                [torch.stack([_randn(x, g) for _ in range(draws)]) for g in streams]
            )
            noisy = (x.unsqueeze(1) + sigma * noise.to(x.device)).flatten(0, 1)
            if targets is None:
                chosen = pass_selector(
                    select,
                    rows=lambda logits, d=draws: logits.view(num_images, d, -1)[:, 0],
                    spread=lambda picked, d=draws: picked.repeat_interleave(d, dim=0),
                )
            else:
                chosen = fixed_targets(targets.repeat_interleave(draws, dim=0))
            with reporting_progress(None):
                result = self.base._explain(noisy, chosen)
            if targets is None:
                targets = result.targets.view(num_images, draws, -1)[:, 0]
            maps = result.maps.view(num_images, draws, *result.maps.shape[1:])
            part = (maps.square() if self.squared else maps).sum(dim=1)
            total = part if total is None else total + part
            report_progress(piece.stop, self.samples)
        return Attribution(logits=logits, targets=targets, maps=total / self.samples)
