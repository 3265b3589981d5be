"""Should I trust this map? Sanity checks and faithfulness scores for any method of
:mod:`flashwidget.methods`, each computed on a private copy of the model.

- :func:`randomization_check`: the model-parameter randomisation test (Adebayo et al. 2018):
  does the map change when the weights it claims to explain are re-initialised?
- :func:`class_sensitivity`: does the map change with the class explained?
- :func:`deletion_insertion`: deletion and insertion curves (Petsiuk et al. 2018, RISE): does
  removing the pixels the map ranks first destroy the prediction faster than chance?
- :class:`MapCheck`: the three together for one map, run in steps, with a verdict per check
  against documented thresholds; what the widget's "Check this map" runs.

Each check also exists as stepwise work (``..._steps``, see :mod:`flashwidget.steps`),
which is how the widget interleaves a check with the user's requests.
"""

from flashwidget.trust.check import THRESHOLDS, CheckResult, MapCheck, Verdict
from flashwidget.trust.deletion import (
    DeletionInsertion,
    deletion_insertion,
    deletion_insertion_steps,
)
from flashwidget.trust.randomization import (
    RandomizationStep,
    checkpoint_positions,
    randomizable_layers,
    randomization_check,
    randomization_steps,
)
from flashwidget.trust.sensitivity import (
    ClassSensitivity,
    class_sensitivity,
    class_sensitivity_steps,
)
from flashwidget.trust.similarity import spearman, ssim

__all__ = [
    "THRESHOLDS",
    "CheckResult",
    "ClassSensitivity",
    "DeletionInsertion",
    "MapCheck",
    "RandomizationStep",
    "Verdict",
    "checkpoint_positions",
    "class_sensitivity",
    "class_sensitivity_steps",
    "deletion_insertion",
    "deletion_insertion_steps",
    "randomizable_layers",
    "randomization_check",
    "randomization_steps",
    "spearman",
    "ssim",
]
