from datetime import date

import numpy as np
import pytest

from licpipe.ml.evaluation import plan_cutoffs, precision_at_top_fraction, ranking_metrics


def test_cutoffs_leave_no_label_overlap():
    schedule = plan_cutoffs(date(2026, 6, 1), date(2026, 12, 15), label_days=52, step_days=7)

    assert schedule.test_cutoff == date(2026, 10, 24)
    assert schedule.train_cutoffs[-1] == date(2026, 9, 2)
    assert schedule.train_cutoffs[0] >= date(2026, 6, 29)
    assert schedule.train_cutoffs == sorted(schedule.train_cutoffs)


def test_cutoffs_short_history_raises():
    with pytest.raises(ValueError, match="needs at least 132 days"):
        plan_cutoffs(date(2026, 10, 1), date(2026, 12, 15), label_days=52)


def test_ranking_metrics_values():
    y = np.array([1, 0, 1, 0, 0, 0, 0, 0, 0, 0])
    scores = np.array([0.9, 0.8, 0.7, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1])

    metrics = ranking_metrics(y, scores)

    assert metrics["roc_auc"] == pytest.approx(1.0 - 1 / 16)
    assert metrics["precision_at_top_decile"] == 1.0
    assert metrics["positives"] == 2


def test_single_class_metrics_are_none():
    metrics = ranking_metrics([0, 0, 0], [0.1, 0.2, 0.3])

    assert metrics["roc_auc"] is None
    assert metrics["average_precision"] is None
    assert metrics["precision_at_top_decile"] == 0.0


def test_top_fraction_keeps_one_row():
    assert precision_at_top_fraction(np.array([1, 0]), np.array([0.2, 0.9]), 0.1) == 0.0


def test_top_fraction_averages_ties():
    # The top 2 of 20 rows are one row scored 5 and one of the three rows tied at 3, of which
    # one is positive: (1 + 1/3) / 2 whatever the row order.
    y = np.array([1, 1, 0, 0] + [0] * 16)
    scores = np.array([5.0, 3.0, 3.0, 3.0] + [1.0] * 16)

    assert precision_at_top_fraction(y, scores, 0.1) == pytest.approx(2 / 3)
    assert precision_at_top_fraction(y[::-1], scores[::-1], 0.1) == pytest.approx(2 / 3)
