"""Explain the sample photo with the default model: top-5 classes, one map each, one figure.

.venv/bin/python examples/first_map.py [OUT.png]
"""

import sys

import matplotlib.pyplot as plt

from flashwidget import Backprop, models
from flashwidget.saliency import max_abs_over_channels

model, transform, labels = models.default_classifier()
image = transform(models.sample_image())

# One forward pass gives the predictions and the maps of the five best classes.
result = Backprop(model, labels=labels).attribute(image, top_k=5)
saliency = max_abs_over_channels(result.gradients[0])  # (5, 1, 224, 224)

figure, axes = plt.subplots(1, 5, figsize=(15, 3.4))
for ax, index, probability, heat in zip(
    axes, result.targets[0], result.probabilities[0, result.targets[0]], saliency, strict=True
):
    ax.imshow(heat[0], cmap="magma", vmax=float(heat.quantile(0.99)))
    ax.set_title(f"{labels[index]} {probability:.2f}")
    ax.set_axis_off()
out = sys.argv[1] if len(sys.argv) > 1 else "first_map.png"
figure.savefig(out, bbox_inches="tight")
print(f"wrote {out}")
