"""The widget's "Check this map", without a browser: the checks of the map shown, their result
kept with the map, the method menu's notes, and the check run in pieces in a kernel, cancelled
by a change of class or method."""

from __future__ import annotations

import pytest
import torch
from model_state import assert_same_state, snapshot
from test_widget import LABELS, Tiny, from_browser, tiny_input
from test_widget_methods import KernelLoop

from flashwidget import trust, widget_base
from flashwidget.widget import SaliencyWidget


@pytest.fixture
def tiny() -> Tiny:
    torch.manual_seed(0)
    return Tiny().eval()


def test_a_check_shows_the_verdicts_of_the_map_shown(tiny) -> None:
    shown = SaliencyWidget(tiny, tiny_input(), labels=LABELS, method="guided_backprop")
    before = snapshot(tiny)
    shown._on_front_end_message(None, {"type": "check"}, [])  # what the view's button sends
    result = shown.check_result
    expected = trust.MapCheck(tiny, tiny_input(), shown.target, "guided_backprop").run()
    assert result["target"] == shown.target and result["label"] == LABELS[shown.target]
    assert result["method_label"] == "Guided backprop"
    assert [badge["name"] for badge in result["badges"]] == [
        "randomization",
        "class",
        "faithfulness",
    ]
    assert [badge["passed"] for badge in result["badges"]] == [v.passed for v in expected.verdicts]
    assert result["cascade"]["spearman"] == [step.spearman for step in expected.randomization]
    assert len(result["curves"]["deletion"]) == 21
    assert shown.check_progress == -1 and shown.check_status.startswith("Checked: ")
    note = next(s["note"] for s in shown.method_specs if s["name"] == "guided_backprop")
    assert "fails the randomisation sanity check" in note
    assert f"checked on this model: randomisation {result['badges'][0]['summary']}" in note
    assert_same_state(before, snapshot(tiny))

    checked = shown.target
    from_browser(shown, target=(checked + 1) % len(LABELS))
    assert shown.check_result == {} and shown.check_status == "", "another class: no verdicts"
    from_browser(shown, target=checked)
    assert shown.check_result == result, "back to the checked map: its check is kept"
    shown.set_image(torch.randn(3, 16, 16))
    assert shown.check_result == {}, "a new image forgets the checks"


def test_in_a_kernel_a_check_runs_in_pieces_and_a_class_change_cancels_it(
    tiny, monkeypatch
) -> None:
    loop = KernelLoop()
    monkeypatch.setattr(widget_base, "kernel_loop", lambda: loop)
    shown = SaliencyWidget(tiny, tiny_input(), labels=LABELS, top_k=1)
    loop.pending.clear()  # no prefetch with top_k=1, but be sure
    shown.check_map()
    assert shown.check_progress == 0 and shown.check_status.startswith("Checking the map")
    assert len(loop.pending) == 1
    fractions = []
    for _ in range(3):
        loop.turn()
        fractions.append(shown.check_progress)
    assert 0 < fractions[0] < fractions[1] < fractions[2] < 1
    assert torch.is_grad_enabled()
    checked = shown.target
    from_browser(shown, target=(checked + 1) % len(LABELS))  # answered between two pieces
    assert shown.error == "" and shown.map_values
    assert shown.check_status == "Check cancelled: the class changed"
    assert shown.check_progress == -1 and shown.check_result == {}
    while loop.pending:
        loop.turn()
    assert shown.check_status == "Check cancelled: the class changed", "the rest was dropped"

    shown.check_map()
    while loop.pending:
        loop.turn()
    assert shown.check_status.startswith("Checked: ") and shown.check_result["badges"]
    shown.check_map()
    loop.turn()
    from_browser(shown, method="gradcam")
    assert shown.check_status == "Check cancelled: the method changed"


class OneAtATime(Tiny):
    """A model that refuses batches: maps work, deletion's batched passes do not."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.shape[0] > 1:
            raise RuntimeError("this model takes one image at a time")
        return super().forward(x)


def test_a_check_of_a_failing_model_says_so_and_the_widget_survives() -> None:
    torch.manual_seed(0)
    shown = SaliencyWidget(OneAtATime().eval(), tiny_input(), labels=LABELS)
    shown.check_map()
    assert shown.check_status.startswith("Check failed: ")
    assert "this model takes one image at a time" in shown.check_status
    assert shown.check_progress == -1 and shown.check_result == {}
    shown.cancel_check()  # nothing runs: nothing happens
    assert shown.check_status.startswith("Check failed")
    from_browser(shown, target=3)
    assert shown.error == "" and shown.map_values, "the widget still answers"
