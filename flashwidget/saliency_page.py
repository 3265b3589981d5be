"""``SaliencyWidget.to_html``'s page: the widget's state as its view shows it now, and the maps
of its top classes by the chosen methods, for the page builder of :mod:`flashwidget.standalone`
and the saliency view's responder (``js/saliency_responder.js``).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from flashwidget import methods as attribution
from flashwidget.checks import require_positive_int
from flashwidget.colormaps import colormap_lut
from flashwidget.explorer import check_options, options_key
from flashwidget.pixels import channel_map, gradient_rgb
from flashwidget.standalone import page_html, page_path, synced_state
from flashwidget.widget import LATEST, STATIC, SaliencyWidget, _describe_method, _float_bytes

SALIENCY_BUNDLE = STATIC / "saliency_page.js"  # built by js/build.py from js/saliency_page.js


def write_saliency_page(
    widget: SaliencyWidget,
    path: str | Path,
    *,
    methods: Sequence[str] | None = None,
    top_k: int | None = None,
) -> Path:
    """Write :func:`saliency_page` to ``path`` and return it; the path and the arguments are
    checked before any map is computed."""
    target = page_path(path)
    target.write_text(saliency_page(widget, methods=methods, top_k=top_k), encoding="utf-8")
    return target


def saliency_page(
    widget: SaliencyWidget, *, methods: Sequence[str] | None = None, top_k: int | None = None
) -> str:
    """The standalone page of ``widget`` (see ``SaliencyWidget.to_html``): its state as the
    view shows it now, and the maps of its top classes by the chosen methods, computed through
    its explorer (so on its private copy of the model, and cached there like its own maps)."""
    if widget.error or not widget.map_values:
        raise RuntimeError(
            f"the widget shows no map ({widget.error or 'none computed yet'}); a page needs one"
        )
    if widget.step_index != LATEST:
        raise ValueError(
            f"the widget shows training snapshot {widget.step_index}, and a page holds the maps "
            "of the newest weights; set step_index = -1 first"
        )
    chosen = _chosen_methods(widget, methods)
    if top_k is not None:
        require_positive_int(top_k, "top_k")
    predictions = _predictions(widget, top_k)
    shown_classes = [widget.target] + ([widget.compare_target] if widget.compare == "class" else [])
    classes = list(dict.fromkeys([p["index"] for p in predictions] + shown_classes))
    options = {name: _options(widget, name) for name in chosen}
    variants = list(options.items())
    if widget.compare == "method":  # the widget compares with the method's default options
        variants.append((widget.compare_method, {}))
    maps = {}
    for method, chosen_options in variants:
        for target in classes:
            key = (target, method, options_key(chosen_options))
            if key not in maps:
                maps[key] = _table_entry(widget, target, method, chosen_options)
    main = maps[(widget.target, widget.method, options_key(widget.method_options))]
    state = synced_state(widget) | {
        "predictions": predictions,
        "status": main["status"],
        "progress": -1.0,
        "compute_ms": 0.0,
        "steps": [],
        "check_progress": -1.0,
        "check_status": "",
        "check_result": {},
    }
    luts = {name: colormap_lut(name).tobytes() for name in widget.colormap_names}
    return page_html(
        title=f"flashwidget: {main['status']}",
        bundle=SALIENCY_BUNDLE,
        css=STATIC / "widget.css",
        state=state,
        tables={"maps": list(maps.values()), "options": options, "luts": luts},
    )


def _chosen_methods(widget: SaliencyWidget, methods: Sequence[str] | None) -> list[str]:
    """The method shown (and the one compared with), then ``methods``, each checked."""
    if isinstance(methods, str):
        raise TypeError(
            f"methods must be a list of method names, such as [{methods!r}]; got the string "
            f"{methods!r}"
        )
    shown = [widget.method] + ([widget.compare_method] if widget.compare == "method" else [])
    chosen = list(dict.fromkeys([*shown, *(methods or [])]))
    available = attribution.available()
    unavailable = widget._explorer.unavailable_methods()
    for name in chosen:
        if name not in available:
            raise ValueError(
                f"unknown method {name!r} in methods; expected names from "
                f"flashwidget.methods.available(): {', '.join(available)}"
            )
        if name in unavailable:
            raise ValueError(
                f"{name} in methods is not available for this model: it {unavailable[name]}"
            )
    return chosen


def _options(widget: SaliencyWidget, method: str) -> dict[str, Any]:
    """The options the widget would compute ``method`` with on switching to it now (as its
    ``_on_method``): the current ones if the method takes them, else the last chosen for it."""
    try:
        return check_options(method, widget.method_options)
    except (TypeError, ValueError):
        return dict(widget._options_by_method.get(method, {}))


def _predictions(widget: SaliencyWidget, top_k: int | None) -> list[dict[str, Any]]:
    """The widget's top predictions, or the top ``top_k`` when it lists fewer."""
    listed = list(widget.predictions)
    if top_k is None or top_k <= len(listed):
        return listed[:top_k]
    logits = widget._explorer.show(None, widget.method, widget.method_options).logits
    if len(logits) == 1:  # one logit: the widget lists the class and its negation already
        return listed
    probabilities = logits.softmax(dim=0)
    return [
        {"index": i, "label": widget.labels[i], "probability": float(probabilities[i])}
        for i in logits.topk(min(top_k, len(logits))).indices.tolist()
    ]


def _table_entry(
    widget: SaliencyWidget, target: int, method: str, options: dict[str, Any]
) -> dict[str, Any]:
    """One map of the page's tables, as the widget would send it (see js/saliency_responder.js):
    its values, its RGB panel when it has three channels, and its status line."""
    shown = widget._explorer.show(target, method, options)
    label = widget.labels[target] if target < len(widget.labels) else ""
    described = _describe_method(method, options, widget.take_max)
    return {
        "target": target,
        "method": method,
        "options": options,
        "values": _float_bytes(channel_map(shown.map, widget.take_max)),
        "rgb": gradient_rgb(shown.map) if shown.map.shape[0] == 3 else b"",
        "status": f"{label} (class {target}): {described}",
    }
