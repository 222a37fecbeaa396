"""Time-ordered split helpers and ranking metrics for the licence classifiers."""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
from sklearn.metrics import average_precision_score, roc_auc_score

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class CutoffSchedule:
    """Cutoff dates of a time split.

    Attributes:
        train_cutoffs: Cutoffs whose label windows end on or before test_cutoff, oldest first.
        test_cutoff: The held-out cutoff. Its label window ends on or before as_of.
    """

    train_cutoffs: list[date]
    test_cutoff: date


def plan_cutoffs(
    history_start: date,
    as_of: date,
    *,
    label_days: int,
    min_history_days: int = 28,
    step_days: int = 7,
) -> CutoffSchedule:
    """Plan training and test cutoffs so that no training label overlaps the test labels.

    A cutoff c labels activity in (c, c + label_days], where label_days includes any gap. The
    test cutoff is as_of - label_days. Training cutoffs step back from test_cutoff - label_days
    every step_days while at least min_history_days of history precede them.

    Raises:
        ValueError: When the history is too short for one training and one test cutoff.
    """
    test_cutoff = as_of - timedelta(days=label_days)
    latest_train = test_cutoff - timedelta(days=label_days)
    earliest = history_start + timedelta(days=min_history_days)
    if latest_train < earliest:
        needed = min_history_days + 2 * label_days
        raise ValueError(
            f"usage history from {history_start} to {as_of} is "
            f"{(as_of - history_start).days} days, too short for a time split: it needs at "
            f"least {needed} days ({min_history_days} of history plus twice the {label_days}-day "
            "label window); load more history or shorten horizon_days"
        )

    cutoffs = []
    cutoff = latest_train
    while cutoff >= earliest:
        cutoffs.append(cutoff)
        cutoff -= timedelta(days=step_days)
    return CutoffSchedule(train_cutoffs=sorted(cutoffs), test_cutoff=test_cutoff)


def precision_at_top_fraction(y_true: np.ndarray, scores: np.ndarray, fraction: float) -> float:
    """Return the share of positives among the top fraction of rows by score (at least one row).

    Rows tied with the last row taken count by their mean label, which is the expected
    precision when ties are broken at random. Baseline scores such as day counts tie often, and
    breaking ties by row order would let the row order decide the result.
    """
    y = np.asarray(y_true, dtype=float)
    s = np.asarray(scores, dtype=float)
    n_top = max(1, math.ceil(len(s) * fraction))
    threshold = np.sort(s)[::-1][n_top - 1]
    above = s > threshold
    tied = s == threshold
    positives = y[above].sum() + (n_top - above.sum()) * y[tied].mean()
    return float(positives / n_top)


def ranking_metrics(y_true, scores) -> dict:
    """Return roc_auc, average_precision and precision_at_top_decile for one scored test set.

    roc_auc and average_precision are None when the test set contains a single class, because
    they are undefined there.
    """
    y = np.asarray(y_true, dtype=int)
    s = np.asarray(scores, dtype=float)
    metrics = {"n": int(len(y)), "positives": int(y.sum())}
    if len(y) == 0:
        metrics.update(roc_auc=None, average_precision=None, precision_at_top_decile=None)
        return metrics
    if len(np.unique(y)) < 2:
        metrics.update(roc_auc=None, average_precision=None)
    else:
        metrics["roc_auc"] = float(roc_auc_score(y, s))
        metrics["average_precision"] = float(average_precision_score(y, s))
    metrics["precision_at_top_decile"] = precision_at_top_fraction(y, s, 0.1)
    return metrics
