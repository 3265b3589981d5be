"""Sanity checks: the model-parameter randomisation test of Adebayo et al. (2018), reproduced on
the default model, and its similarity measures checked against their definitions."""

from __future__ import annotations

import random

import numpy as np
import pytest
import torch
from model_state import assert_same_state, snapshot
from torch import nn

from flashwidget import trust


def test_the_papers_finding_on_the_default_model(default_model, sample_input):
    """Re-initialising only the classifier changes the gradient map clearly and leaves guided
    backprop's nearly as it was (measured here before: 0.47 against 0.996)."""
    before = snapshot(default_model)
    (gradient,) = trust.randomization_check(default_model, sample_input, layers=1)
    (guided,) = trust.randomization_check(
        default_model, sample_input, method="guided_backprop", layers=1
    )
    (cam,) = trust.randomization_check(default_model, sample_input, method="gradcam", layers=1)
    assert gradient.layer == guided.layer == "classifier"
    assert gradient.spearman < 0.7 < 0.95 < guided.spearman
    assert guided.ssim > 0.9 > gradient.ssim
    assert cam.spearman < 0.5, "Grad-CAM depends on the classifier's weights"
    assert_same_state(before, snapshot(default_model))


def test_cascading_goes_from_the_output_down_and_repeats_exactly():
    torch.manual_seed(0)
    model = nn.Sequential(
        nn.Conv2d(3, 4, 3, padding=1), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 64, 5)
    ).eval()
    x = torch.randn(2, 3, 8, 8, generator=torch.Generator().manual_seed(1))
    states = (torch.get_rng_state(), random.getstate(), np.random.get_state()[1].copy())
    first = trust.randomization_check(model, x, generator=torch.Generator().manual_seed(5))
    again = trust.randomization_check(model, x, generator=torch.Generator().manual_seed(5))
    other = trust.randomization_check(model, x, generator=torch.Generator().manual_seed(6))
    assert [step.layer for step in first] == ["3", "0"]
    assert first == again and first != other
    assert torch.equal(states[0], torch.get_rng_state()) and states[1] == random.getstate()
    assert np.array_equal(states[2], np.random.get_state()[1])
    independent = trust.randomization_check(
        model, x, cascade=False, generator=torch.Generator().manual_seed(5)
    )
    assert independent[0] == first[0], "the first step is the same either way"
    assert independent[1] != first[1], "one layer at a time keeps the output layer's weights"
    assert [step.position for step in first] == [1, 2]
    progress: list[float] = []
    trust.randomization_check(model, x, progress=progress.append)
    assert progress == pytest.approx([1 / 3, 2 / 3, 1.0]), "the original map, then each layer"


def test_re_initialising_never_reseeds_the_cuda_generators(monkeypatch):
    """``torch.manual_seed`` would also reseed every CUDA device (restored by nothing here)."""
    seeded: list[int] = []
    monkeypatch.setattr(torch.cuda, "manual_seed_all", seeded.append)
    model = nn.Sequential(nn.Conv2d(3, 2, 3), nn.Flatten(), nn.Linear(2 * 36, 3)).eval()
    trust.randomization_check(model, torch.randn(1, 3, 8, 8))
    assert seeded == []


def test_ssim_with_a_separable_window_equals_the_full_window():
    generator = torch.Generator().manual_seed(0)
    a, b = torch.rand(30, 40, generator=generator), torch.rand(30, 40, generator=generator)
    b = a + 0.3 * b
    coords = torch.arange(11, dtype=torch.float64) - 5
    gauss = torch.exp(-coords.square() / (2 * 1.5**2))
    kernel = (gauss[:, None] * gauss[None, :] / gauss.sum() ** 2)[None, None]

    def full(x, y):  # Wang et al.'s definition with the 11 x 11 window as one 2-d convolution
        x, y = x.double(), y.double()
        x = ((x - x.min()) / (x.max() - x.min()))[None, None]
        y = ((y - y.min()) / (y.max() - y.min()))[None, None]
        blur = lambda z: torch.nn.functional.conv2d(z, kernel)  # noqa: E731
        mx, my = blur(x), blur(y)
        vx, vy, cxy = blur(x * x) - mx**2, blur(y * y) - my**2, blur(x * y) - mx * my
        c1, c2 = 0.01**2, 0.03**2
        return float(
            (((2 * mx * my + c1) * (2 * cxy + c2)) / ((mx**2 + my**2 + c1) * (vx + vy + c2))).mean()
        )

    assert trust.ssim(a, b) == pytest.approx(full(a, b), abs=1e-12)


def test_checkpoints_are_geometric_from_the_output_and_change_no_map():
    assert trust.checkpoint_positions(99, 12) == [1, 2, 4, 5, 8, 12, 19, 28, 43, 65, 99]
    assert (
        trust.checkpoint_positions(5, None) == trust.checkpoint_positions(5, 9) == [1, 2, 3, 4, 5]
    )
    assert trust.checkpoint_positions(40, 1) == [1]
    torch.manual_seed(0)
    model = nn.Sequential(
        nn.Conv2d(3, 4, 3, padding=1),
        nn.BatchNorm2d(4),
        nn.Conv2d(4, 4, 3, padding=1),
        nn.Flatten(),
        nn.Linear(4 * 64, 5),
    ).eval()
    x = torch.randn(1, 3, 8, 8, generator=torch.Generator().manual_seed(1))
    every = trust.randomization_check(model, x)
    some = trust.randomization_check(model, x, checkpoints=2)
    assert [step.position for step in every] == [1, 2, 3, 4]
    assert some == [every[0], every[-1]], "a layer without a map is still re-initialised"
    with pytest.raises(ValueError, match="checkpoints must be a positive int"):
        trust.randomization_check(model, x, checkpoints=0)


def test_spearman_is_the_rank_correlation_with_ties_averaged():
    a = torch.tensor([1.0, 2.0, 3.0, 4.0])
    assert trust.spearman(a, a.exp()) == pytest.approx(1.0)
    assert trust.spearman(a, -a) == pytest.approx(-1.0)
    tied = torch.tensor([1.0, 1.0, 2.0, 3.0])
    # Ranks 1.5, 1.5, 3, 4 against 1, 2, 3, 4: Pearson of those is 0.9486832980505138.
    assert trust.spearman(tied, a) == pytest.approx(0.9486832980505138)
    assert trust.spearman(torch.zeros(4), a) == 0.0


def test_ssim_is_one_for_equal_maps_and_scale_free():
    gen = torch.Generator().manual_seed(0)
    a = torch.rand(32, 32, generator=gen)
    assert trust.ssim(a, a) == pytest.approx(1.0)
    assert trust.ssim(a, 10 * a + 3) == pytest.approx(1.0)  # each map scaled to [0, 1] first
    noise = torch.rand(32, 32, generator=gen)
    assert trust.ssim(a, noise) < 0.2


def test_bad_arguments_are_refused():
    model = nn.Sequential(nn.Flatten(), nn.Linear(12, 3)).eval()
    x = torch.randn(3, 2, 2)
    with pytest.raises(ValueError, match="layers must be a positive int"):
        trust.randomization_check(model, x, layers=0)
    with pytest.raises(TypeError, match=r"generator must be a torch\.Generator"):
        trust.randomization_check(model, x, generator=3)
    with pytest.raises(ValueError, match="no layer with weights"):
        trust.randomization_check(nn.Sequential(nn.Flatten(), nn.Softmax(dim=1)), x)
    with pytest.raises(KeyError, match="unknown attribution method"):
        trust.randomization_check(model, x, method="lime")


def test_class_sensitivity_tells_grad_cam_from_guided_backprop(default_model, sample_input):
    """The paper's other finding, as the issue states it: Grad-CAM's map depends on the class
    (low similarity to the least likely class's map), guided backprop's barely does."""
    guided = trust.class_sensitivity(default_model, sample_input, method="guided_backprop")
    cam = trust.class_sensitivity(default_model, sample_input, method="gradcam")
    with torch.no_grad():
        least = int(default_model(sample_input.unsqueeze(0)).argmin())
    assert guided.other == cam.other == [least]
    assert cam.spearman < 0.5 < 0.95 < guided.spearman
    assert cam.ssim < 0.5 < guided.ssim
    chosen = trust.class_sensitivity(default_model, sample_input, method="gradcam", other=400)
    assert chosen.other == [400]


def test_deletion_and_insertion_on_the_default_model(default_model, sample_input):
    """SmoothGrad removes the evidence faster than every random ordering (docs/trust.md: 0.026
    against 0.046 to 0.072); Grad-CAM's and Integrated Gradients' insertion areas are above
    their deletion areas and above chance. IG's deletion area is no better than chance and
    Grad-CAM's is worse (scattered random pixels destroy the photo faster than a coherent
    region): docs/trust.md says so, and nothing here asserts otherwise."""
    from flashwidget import methods

    before = snapshot(default_model)
    with torch.no_grad():
        logits = default_model(sample_input.unsqueeze(0))
    top = int(logits.argmax())
    probability = float(logits.softmax(dim=1)[0, top])
    results = {}
    chosen = (
        ("integrated_gradients", {"steps": 16}),
        ("gradcam", {}),
        ("smoothgrad", {"samples": 10}),
    )
    for name, options in chosen:
        maps = methods.get(name, default_model, **options).attribute(sample_input, top)
        results[name] = trust.deletion_insertion(
            default_model, sample_input, top, maps, steps=20, random_orderings=2
        )
    ig, cam, smooth = (results[name] for name, _ in chosen)
    assert ig.deletion.shape == ig.insertion.shape == (1, 21) and ig.fractions[-1] == 1
    assert ig.deletion[0, 0] == pytest.approx(probability, rel=1e-4)
    assert ig.insertion[0, -1] == pytest.approx(probability, rel=1e-4)
    assert ig.random_deletion_auc == cam.random_deletion_auc, "the same seeded orderings"
    assert ig.random_deletion_aucs.shape == (2, 1)
    assert ig.random_deletion_aucs.mean(dim=0) == pytest.approx(ig.random_deletion_auc)
    assert float(smooth.deletion_auc[0]) < float(smooth.random_deletion_aucs.min())
    for result in (ig, cam):
        assert float(result.insertion_auc[0]) > float(result.deletion_auc[0])
        assert float(result.insertion_auc[0]) > float(result.random_insertion_auc[0])
    assert_same_state(before, snapshot(default_model))


def test_deletion_insertion_checks_its_arguments():
    model = nn.Sequential(nn.Flatten(), nn.Linear(12, 3)).eval()
    x = torch.randn(3, 2, 2)
    with pytest.raises(ValueError, match="attributions have shape"):
        trust.deletion_insertion(model, x, 0, torch.zeros(3, 4, 4))
    with pytest.raises(ValueError, match="baseline must be 'blur'"):
        trust.deletion_insertion(model, x, 0, torch.zeros(3, 2, 2), baseline="black")
    with pytest.raises(ValueError, match="steps must be a positive int"):
        trust.deletion_insertion(model, x, 0, torch.zeros(3, 2, 2), steps=0)

    class Pair(nn.Module):  # a model whose output is not the logits themselves
        def forward(self, x):
            return model(x), x.mean()

    chosen = trust.deletion_insertion(
        Pair(), x, 0, torch.rand(1, 2, 2), steps=2, output_fn=lambda output: output[0]
    )
    plain = trust.deletion_insertion(model, x, 0, chosen.deletion.new_zeros(1, 2, 2), steps=2)
    assert chosen.deletion.shape == plain.deletion.shape == (1, 3)
    progress: list[float] = []
    zero = trust.deletion_insertion(
        model,
        x,
        0,
        torch.rand(1, 2, 2),
        steps=4,
        baseline=0.0,
        batch_size=2,
        progress=progress.append,
    )
    assert zero.deletion.shape == (1, 5)
    # 5 points in batches of 2: 3 passes a curve, 2 curves for the map and 2 per ordering
    assert progress == pytest.approx([k / 24 for k in range(1, 25)])


def test_the_verdicts_separate_gradient_from_guided_backprop(default_model, sample_input):
    """MapCheck's badges say what the paper found: the gradient passes the randomisation and
    class checks, guided backprop fails both; each check runs in steps, and grad mode is
    untouched between them (the widget computes maps in between)."""
    before = snapshot(default_model)
    results = {}
    for name in ("gradient", "guided_backprop"):
        check = trust.MapCheck(
            default_model, sample_input, 667, name, steps=10, random_orderings=1, batch_size=11
        )
        fractions = []
        while check.step():
            assert torch.is_grad_enabled()
            fractions.append(check.fraction)
        assert fractions == sorted(fractions) and check.fraction == 1.0
        results[name] = {verdict.name: verdict for verdict in check.result.verdicts}
    gradient, guided = results["gradient"], results["guided_backprop"]
    assert gradient["randomization"].passed and gradient["class"].passed
    assert not guided["randomization"].passed and not guided["class"].passed
    assert guided["randomization"].value > 0.9 > 0.5 > gradient["randomization"].value
    assert "passes below 0.5" in guided["class"].detail
    assert_same_state(before, snapshot(default_model))
