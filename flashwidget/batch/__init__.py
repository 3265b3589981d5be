"""Explain a whole data set: ``explain_dataset`` writes every image's maps and an index to a
folder, restartably and across processes under ``torchrun``; ``flashwidget batch`` is the same
from the command line. See :mod:`flashwidget.batch.journal` for the folder's layout and
:mod:`flashwidget.batch.encoding` for how maps are stored.
"""

from flashwidget.batch.job import Summary, explain_dataset

__all__ = ["Summary", "explain_dataset"]
