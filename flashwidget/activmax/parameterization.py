"""How the optimised image is represented (Olah et al. 2017, "Feature Visualization", Distill).

Gradient ascent straight on pixels finds high-frequency patterns that excite a channel the way
an adversarial example does: noise to a person. Two changes of variables make the same ascent
find images a person can read:

- **Fourier space, scaled by 1/frequency**: the image is the inverse FFT of a spectrum whose
  parameters are scaled so that each frequency has about the energy it has in natural images;
  a step of the optimiser then changes low frequencies as readily as high ones, instead of
  mostly the high ones, as pixel-space steps do.
- **Decorrelated colour**: the three channels optimised are ImageNet's principal colour
  components, mapped to RGB by the square root of ImageNet's colour covariance; a sigmoid keeps
  every pixel in [0, 1].
"""

from __future__ import annotations

import torch

# The square root of ImageNet's RGB covariance, as Lucid publishes it (rows R, G, B; columns the
# principal components), scaled so that its largest column has unit norm.
_COLOR_SQRT = torch.tensor([[0.26, 0.09, 0.02], [0.27, 0.00, -0.05], [0.27, -0.09, 0.03]])
COLOR_CORRELATION = _COLOR_SQRT / _COLOR_SQRT.norm(dim=0).max()
# Lucid's constant: keeps the Fourier image's initial values in the sigmoid's linear range.
_FOURIER_SCALE = 4.0
PARAMETERIZATIONS = ("fft", "pixel")


def _frequencies(height: int, width: int) -> torch.Tensor:
    """(height, width // 2 + 1): the spatial frequency of each entry of a real FFT."""
    rows = torch.fft.fftfreq(height)[:, None]
    columns = torch.fft.rfftfreq(width)[None, :]
    return (rows.square() + columns.square()).sqrt()


class ImageParameterization:
    """A batch of RGB images in [0, 1], (batch, 3, size, size), as a function of the
    :attr:`parameters` the optimiser changes.

    Args:
        kind: "fft" (Fourier space scaled by 1/frequency) or "pixel".
        batch, size: how many images, and their side in pixels.
        decorrelate: optimise ImageNet's decorrelated colour components instead of RGB.
        generator: the source of the small random start (standard deviation 0.01).
        device, dtype: where and in which precision the parameters live.
    """

    def __init__(
        self,
        kind: str,
        batch: int,
        size: int,
        decorrelate: bool,
        generator: torch.Generator,
        device: torch.device,
        dtype: torch.dtype = torch.float32,
    ) -> None:
        if kind not in PARAMETERIZATIONS:
            raise ValueError(f"param must be one of {', '.join(PARAMETERIZATIONS)}; got {kind!r}")
        self.kind, self.size, self.decorrelate = kind, size, decorrelate
        if kind == "fft":
            frequencies = _frequencies(size, size)
            shape = (batch, 3, *frequencies.shape, 2)  # real and imaginary parts
            # 1/f, with the zero frequency counted as the lowest non-zero one
            self._scale = (1.0 / frequencies.clamp(min=1.0 / size)).to(device, dtype)[..., None]
        else:
            shape = (batch, 3, size, size)
        start = torch.randn(shape, generator=generator, dtype=torch.float32) * 0.01
        self.parameters = [start.to(device, dtype).requires_grad_(True)]
        self._color = COLOR_CORRELATION.to(device, dtype)

    def __call__(self) -> torch.Tensor:
        (values,) = self.parameters
        if self.kind == "fft":
            spectrum = torch.view_as_complex((values * self._scale).contiguous())
            spatial = torch.fft.irfftn(spectrum, s=(self.size, self.size), norm="ortho")
            spatial = spatial / _FOURIER_SCALE
        else:
            spatial = values
        if self.decorrelate:
            spatial = torch.einsum("rc,nchw->nrhw", self._color, spatial)
        return torch.sigmoid(spatial)
