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
    """A batch of RGB images in [0, 1], (batch, 3, height, width), as a function of the
    :attr:`parameters` the optimiser changes.

    Args:
        kind: "fft" (Fourier space scaled by 1/frequency) or "pixel".
        batch, height, width: how many images, and their size in pixels.
        decorrelate: optimise ImageNet's decorrelated colour components instead of RGB.
        generator: the source of the small random start (standard deviation 0.01).
        device, dtype: where and in which precision the parameters live.
        init: images (batch, 3, height, width) in [0, 1] to start from instead (DeepDream
            starts from a photo): the parameters that give them back, each step inverted.
    """

    def __init__(
        self,
        kind: str,
        batch: int,
        height: int,
        width: int,
        decorrelate: bool,
        generator: torch.Generator,
        device: torch.device,
        dtype: torch.dtype = torch.float32,
        init: torch.Tensor | None = None,
    ) -> None:
        if kind not in PARAMETERIZATIONS:
            raise ValueError(f"param must be one of {', '.join(PARAMETERIZATIONS)}; got {kind!r}")
        self.kind, self.shape, self.decorrelate = kind, (height, width), decorrelate
        self._color = COLOR_CORRELATION.to(device, dtype)
        if kind == "fft":
            frequencies = _frequencies(height, width)
            shape = (batch, 3, *frequencies.shape, 2)  # real and imaginary parts
            # 1/f, with the zero frequency counted as the lowest non-zero one
            lowest = 1.0 / max(height, width)
            self._scale = (1.0 / frequencies.clamp(min=lowest)).to(device, dtype)[..., None]
        else:
            shape = (batch, 3, height, width)
        if init is None:
            start = (torch.randn(shape, generator=generator) * 0.01).to(device, dtype)
        else:
            start = self._inverse(init.detach().to(device, dtype))
        self.parameters = [start.requires_grad_(True)]

    def __call__(self) -> torch.Tensor:
        (values,) = self.parameters
        if self.kind == "fft":
            spectrum = torch.view_as_complex((values * self._scale).contiguous())
            spatial = torch.fft.irfftn(spectrum, s=self.shape, dim=(-2, -1), norm="ortho")
            spatial = spatial / _FOURIER_SCALE
        else:
            spatial = values
        if self.decorrelate:
            spatial = torch.einsum("rc,nchw->nrhw", self._color, spatial)
        return torch.sigmoid(spatial)

    def _inverse(self, images: torch.Tensor) -> torch.Tensor:
        """The parameters whose images are ``images`` (clamped off 0 and 1, where the sigmoid
        has no inverse)."""
        spatial = torch.logit(images.clamp(1e-3, 1 - 1e-3))
        if self.decorrelate:
            spatial = torch.einsum("cr,nrhw->nchw", torch.linalg.inv(self._color), spatial)
        if self.kind == "pixel":
            return spatial.contiguous()
        spectrum = torch.fft.rfftn(spatial * _FOURIER_SCALE, dim=(-2, -1), norm="ortho")
        return torch.view_as_real(spectrum) / self._scale
