"""The figures and numbers of docs/activmax.md: FlashTorch's plain gradient ascent against
``flashwidget.activmax.render`` on the embedded default model.

Regenerate everything (figures, and the Markdown tables on stdout) from the repository root with:

    .venv/bin/python docs/figures/activmax.py --out docs/figures

Model: the embedded EfficientNet-Lite0 (``models.default_model()``). Channels: the first
``--channels`` channels (0 and 1 by default) of ``blocks.2``, ``blocks.4`` and ``blocks.6``, an
early, a middle and a late block; the rule is "the first ones", not a choice after looking.

For each channel it makes, with the public API only:

- plain: FlashTorch's ascent, ``GradientAscent(model, img_size=size).optimize(layer, idx,
  num_iter=30, generator=torch.Generator().manual_seed(0))[-1]`` (FlashTorch's defaults: lr 1,
  30 steps, grey noise start). The result is a normalised model input; it is shown and measured
  *denormalised* by ImageNet's mean and std and clipped to [0, 1] (FlashTorch itself displayed
  it standardised, with saturation 0.15 and brightness 0.7, which hides its range); the row
  "plain, unclipped" measures it denormalised but not clipped, exactly what the model saw;
- quality: ``render(model, channel(layer, idx), size=size, steps=steps)`` (Fourier
  parameterisation, decorrelated colour, Lucid's standard transforms, Adam lr 0.05, seed 0);

and measures, for these two and for two references (the sample photo, Grace Hopper, resized to
``size`` and denormalised; uniform noise in [0, 1], seed 0):

- value: the channel's objective (mean activation) on the image, ``objective_values``;
- jittered: its mean under 16 random standard transformations,
  ``objective_values(..., transforms="standard", repeats=16)`` (seed 0), and kept = jittered /
  value: how much of the effect survives a shift of a few pixels, a 10 % zoom, a 10 degree turn;
- high: ``high_frequency_energy`` (share of the luminance spectrum above 0.25 cycles/pixel).

It also renders ``class_logit`` for three ImageNet classes (mortarboard, goldfish, volcano) at
``--class-size`` (224) px, reporting the logit and the model's softmax probability of the class
on the final image (no transforms), the top-1 class and the high-frequency energy; and a batch
of 4 for the first ``blocks.4`` channel without and with a diversity term,
``channel(layer, idx) + weight * diversity(layer)`` (weight 10; ``diversity`` is minus the mean
cosine similarity of the images' Gram matrices, so it is added, to be maximised), reporting the
channel's value for each image and the batch's mean pairwise Gram similarity.

Last, how the result depends on steps and size: one render of the first ``blocks.4`` channel
at 128 and at 224 px for 512 steps, with the image after 32, 64, 128, 256 and 512 steps, each
measured as above.

Writes to ``--out``: activmax_grid.png, activmax_classes.png, activmax_diversity.png,
activmax_steps.png. Takes 2 to 5 minutes on a 2-core x86_64 CPU shared with other jobs (most of
it the class images at 224 px and the 512-step study). Runs on one thread by default
(``--threads``): on a 2-core machine shared with other jobs, two spinning OpenMP threads per
process are much slower (docs/benchmarks.md, "Threads"). The images and numbers change with the
thread count (floating-point sums in another order, amplified by 256 steps of ascent): blocks.6
channel 0's quality value is 33.0 with torch's 2 threads and 36.7 with 1 (25.2 and 20.1 before
the transforms changed on 2026-11-29); the tables in docs/activmax.md are from 1 thread.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import torch
import torch.nn.functional as F

from flashwidget import models
from flashwidget.activmax import (
    GradientAscent,
    channel,
    class_logit,
    diversity,
    render,
)
from flashwidget.activmax.quality import high_frequency_energy, objective_values
from flashwidget.utils import IMAGENET_MEAN, IMAGENET_STD

LAYERS = ("blocks.2", "blocks.4", "blocks.6")
CLASSES = ("mortarboard", "goldfish", "volcano")
MEAN = torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1)
STD = torch.tensor(IMAGENET_STD).view(1, 3, 1, 1)


def to_unit(normalised: torch.Tensor) -> torch.Tensor:
    """A normalised model input back to [0, 1] RGB: denormalised, then clipped."""
    return (normalised.detach().cpu() * STD + MEAN).clamp(0, 1)


def measure(model, objective, images: torch.Tensor) -> dict[str, float]:
    value = float(objective_values(model, objective, images)[0])
    jittered = float(
        objective_values(
            model,
            objective,
            images,
            transforms="standard",
            repeats=16,
            generator=torch.Generator().manual_seed(0),
        )[0]
    )
    return {
        "value": value,
        "jittered": jittered,
        "kept": jittered / value if value != 0 else float("nan"),
        "high": float(high_frequency_energy(images)[0]),
    }


def pairwise_gram_similarity(model, layer: str, images: torch.Tensor) -> float:
    """The batch's mean pairwise cosine similarity of Gram matrices at ``layer``: minus the
    mean of ``diversity(layer)`` over the batch (1 for identical images)."""
    return -float(objective_values(model, diversity(layer), images).mean())


def show(axes, image: torch.Tensor, title: str) -> None:
    axes.imshow(image[0].permute(1, 2, 0).numpy())
    axes.set_xticks([])
    axes.set_yticks([])
    axes.set_title(title, fontsize=8)


def grid(model, args, photo, noise) -> tuple[list[str], list[tuple[str, torch.Tensor]]]:
    rows, images = [], []
    for layer in LAYERS:
        for index in args.channels:
            objective = channel(layer, index)
            start = time.perf_counter()
            found_input = GradientAscent(model, img_size=args.size).optimize(
                layer, index, num_iter=30, generator=torch.Generator().manual_seed(0)
            )[-1]
            plain = to_unit(found_input)
            unclipped = found_input.detach().cpu() * STD + MEAN
            plain_s = time.perf_counter() - start
            start = time.perf_counter()
            quality = render(model, objective, size=args.size, steps=args.steps).images
            quality_s = time.perf_counter() - start
            found = {
                name: measure(model, objective, image)
                for name, image in (
                    ("plain", plain),
                    ("plain, unclipped", unclipped),
                    ("quality", quality),
                    ("photo", photo),
                    ("noise", noise),
                )
            }
            label = f"{layer} ch {index}"
            for name, f in found.items():
                # a ratio of two values near zero means nothing: kept only for the optimised
                kept = f"{100 * f['kept']:.0f} %" if name in ("plain", "quality") else "-"
                rows.append(
                    f"| {label} | {name} | {f['value']:.2f} | {f['jittered']:.2f} "
                    f"| {kept} | {f['high']:.3f} |"
                )
            print(
                f"# {label}: plain {plain_s:.1f} s, quality {quality_s:.1f} s",
                flush=True,
            )
            images.append((f"{label}\nplain: value {found['plain']['value']:.2f}", plain))
            images.append(
                (
                    f"{label}\nquality: value {found['quality']['value']:.2f}, "
                    f"kept {100 * found['quality']['kept']:.0f} %",
                    quality,
                )
            )
    return rows, images


def draw_grid(images, columns: int, path: Path, scale: float = 2.4) -> None:
    count = len(images)
    rows = (count + columns - 1) // columns
    figure, axes = plt.subplots(rows, columns, figsize=(scale * columns, (scale + 0.35) * rows))
    axes = axes.reshape(rows, columns)
    for position, (title, image) in enumerate(images):
        show(axes[position // columns, position % columns], image, title)
    for position in range(count, rows * columns):
        axes[position // columns, position % columns].set_axis_off()
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def classes(model, args) -> tuple[list[str], list[tuple[str, torch.Tensor]]]:
    labels = models.imagenet_labels()
    rows, images = [], []
    for name in CLASSES:
        start = time.perf_counter()
        result = render(model, class_logit(name), size=args.class_size, steps=args.steps)
        seconds = time.perf_counter() - start
        with torch.no_grad():
            logits = model((result.images - MEAN) / STD)[0]
        probs = logits.softmax(dim=0)
        index = labels.index(name)
        top = int(logits.argmax())
        rows.append(
            f"| {name} ({index}) | {float(logits[index]):.1f} | {float(probs[index]):.3f} "
            f"| {labels[top]} ({float(probs[top]):.3f}) "
            f"| {float(high_frequency_energy(result.images)[0]):.3f} |"
        )
        print(f"# class {name}: {seconds:.1f} s", flush=True)
        images.append((f"{name}: p = {float(probs[index]):.2f}", result.images))
    return rows, images


def diversity_batch(model, args) -> tuple[list[str], list[tuple[str, torch.Tensor]]]:
    layer, index = "blocks.4", args.channels[0]
    rows, images = [], []
    for weight in (0.0, args.diversity_weight):
        objective = channel(layer, index)
        if weight:
            objective = objective + weight * diversity(layer)
        start = time.perf_counter()
        result = render(model, objective, size=args.size, steps=args.steps, batch=4)
        seconds = time.perf_counter() - start
        values = objective_values(model, channel(layer, index), result.images)
        similarity = pairwise_gram_similarity(model, layer, result.images)
        rows.append(
            f"| {weight:g} | {', '.join(f'{v:.2f}' for v in values.tolist())} | {similarity:.3f} |"
        )
        print(f"# diversity weight {weight:g}: {seconds:.1f} s", flush=True)
        for i in range(4):
            images.append(
                (
                    f"weight {weight:g}, image {i + 1}: {float(values[i]):.2f}",
                    result.images[i : i + 1],
                )
            )
    return rows, images


def steps_study(model, args) -> tuple[list[str], list[tuple[str, torch.Tensor]]]:
    """One render of the first blocks.4 channel per size in ``--study-sizes``, for the largest
    of ``--study-steps`` steps, with the image after each of those numbers of steps."""
    layer, index = "blocks.4", args.channels[0]
    objective = channel(layer, index)
    checkpoints = sorted(args.study_steps)
    rows, images = [], []
    for size in args.study_sizes:
        seen: dict[int, torch.Tensor] = {}

        def keep(step: int, rgb: torch.Tensor, seen=seen) -> None:
            # the callback's images are the ones evaluated at ``step``: after step - 1 updates
            if step - 1 in checkpoints:
                seen[step - 1] = rgb.cpu().clone()

        start = time.perf_counter()
        result = render(model, objective, size=size, steps=checkpoints[-1], callback=keep)
        seconds = time.perf_counter() - start
        seen[checkpoints[-1]] = result.images
        print(f"# steps study {size} px: {seconds:.1f} s", flush=True)
        for steps in checkpoints:
            f = measure(model, objective, seen[steps])
            rows.append(
                f"| {size} | {steps} | {f['value']:.2f} | {f['jittered']:.2f} "
                f"| {100 * f['kept']:.0f} % | {f['high']:.3f} |"
            )
            images.append((f"{size} px, {steps} steps: {f['value']:.1f}", seen[steps]))
    return rows, images


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("docs/figures"))
    parser.add_argument("--steps", type=int, default=256, help="render's optimisation steps")
    parser.add_argument("--size", type=int, default=128, help="image side (channels, diversity)")
    parser.add_argument("--class-size", type=int, default=224, help="image side (classes)")
    parser.add_argument("--channels", type=int, nargs="+", default=[0, 1])
    parser.add_argument("--diversity-weight", type=float, default=10.0)
    parser.add_argument("--study-sizes", type=int, nargs="+", default=[128, 224])
    parser.add_argument("--study-steps", type=int, nargs="+", default=[32, 64, 128, 256, 512])
    parser.add_argument(
        "--threads",
        type=int,
        default=1,
        help="torch.set_num_threads (1: robust when other jobs share the cores; 0: torch's)",
    )
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    args.out.mkdir(parents=True, exist_ok=True)
    began = time.perf_counter()
    model = models.default_model()
    photo = models.default_transform()(models.sample_image()).unsqueeze(0)
    photo = F.interpolate(to_unit(photo), size=args.size, mode="bilinear", antialias=True)
    photo = photo.clamp(0, 1)
    noise = torch.rand(1, 3, args.size, args.size, generator=torch.Generator().manual_seed(0))

    print(
        f"# torch {torch.__version__}, {torch.get_num_threads()} threads; size {args.size}, "
        f"steps {args.steps}, class size {args.class_size}",
        flush=True,
    )
    grid_rows, grid_images = grid(model, args, photo, noise)
    draw_grid(grid_images, 2, args.out / "activmax_grid.png")
    class_rows, class_images = classes(model, args)
    draw_grid(class_images, len(CLASSES), args.out / "activmax_classes.png", scale=3.0)
    diversity_rows, diversity_images = diversity_batch(model, args)
    draw_grid(diversity_images, 4, args.out / "activmax_diversity.png")
    study_rows, study_images = steps_study(model, args)
    draw_grid(study_images, len(args.study_steps), args.out / "activmax_steps.png")

    print("\n| channel | image | value | jittered (16) | kept | high-frequency energy |")
    print("|---|---|---|---|---|---|")
    print("\n".join(grid_rows))
    print("\n| class | logit | probability | top-1 (probability) | high-frequency energy |")
    print("|---|---|---|---|---|")
    print("\n".join(class_rows))
    print(f"\n| diversity weight | blocks.4 ch {args.channels[0]} value, images 1-4 ", end="")
    print("| mean pairwise Gram similarity |")
    print("|---|---|---|")
    print("\n".join(diversity_rows))
    print(f"\n| size | steps | blocks.4 ch {args.channels[0]} value | jittered (16) ", end="")
    print("| kept | high-frequency energy |")
    print("|---|---|---|---|---|---|")
    print("\n".join(study_rows))
    print(f"\n# done in {time.perf_counter() - began:.0f} s")


if __name__ == "__main__":
    main()
