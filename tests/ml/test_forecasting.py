"""Forecasts and backtests on real Prophet fits (about 0.1 to 0.4 s a fit)."""

from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from licpipe.ml.forecasting import (
    backtest,
    conformal_scale,
    forecast_many,
    forecast_series,
    interval_scores,
    masked_mape,
    scale_interval,
    symmetric_mape,
)

FIXTURES = Path(__file__).parent.parent / "fixtures" / "forecast"

# The synthetic series starts 2023-11-01 and ends 2024-04-28, so it contains the quarter ends
# 2023-12-31 and 2024-03-31.
QUARTER_END_ORIGINS = [date(2024, 3, 3), date(2024, 3, 10), date(2024, 3, 17)]
CAP = 150.0


def quarterly_history(seed: int = 7) -> pd.DataFrame:
    """Return 180 days of seats: 100 on weekdays, 35 at weekends, +60 in a quarter's last week."""
    rng = np.random.default_rng(seed)
    days = pd.date_range("2023-11-01", periods=180, freq="D")
    weekly = np.where(days.dayofweek < 5, 100.0, 35.0)
    days_to_quarter_end = ((days + pd.offsets.QuarterEnd(0)) - days).days.to_numpy()
    bump = np.where(days_to_quarter_end < 7, 60.0, 0.0)
    return pd.DataFrame({"ds": days, "y": weekly + bump + rng.normal(0, 3, len(days))})


def weekly_history(noise: np.ndarray) -> pd.DataFrame:
    """Return 100 seats on weekdays and 35 at weekends from 2024-01-01, plus `noise`."""
    days = pd.date_range("2024-01-01", periods=len(noise), freq="D")
    return pd.DataFrame({"ds": days, "y": np.where(days.dayofweek < 5, 100.0, 35.0) + noise})


def read_fixture(name: str) -> pd.DataFrame:
    return pd.read_csv(FIXTURES / name, parse_dates=["ds"])


def test_single_point_is_naive():
    history = read_fixture("new_app.csv")

    result = forecast_series(history, horizon_end=date(2024, 6, 30))
    frame = result.frame

    assert result.method == "naive"
    assert len(frame) == 41
    assert frame["ds"].iloc[0] == date(2024, 5, 21)
    assert frame["ds"].iloc[-1] == date(2024, 6, 30)
    assert (frame["yhat"] == 3).all()
    assert (frame["yhat_lower"] == 3).all()
    assert (frame["yhat_upper"] == 3).all()
    assert (frame["method"] == "naive").all()
    assert frame["insufficient_history"].all()
    assert result.interval_scale is None


def test_zero_series_is_constant():
    history = read_fixture("zero_app.csv")

    result = forecast_series(history, horizon_end=date(2024, 5, 31))
    frame = result.frame

    assert result.method == "constant"
    assert len(frame) == 17
    assert (frame["yhat"] == 0).all()
    assert (frame["yhat_lower"] == 0).all()
    assert (frame["yhat_upper"] == 0).all()
    assert frame["insufficient_history"].all()


def test_short_varying_series_naive_with_interval():
    history = pd.DataFrame(
        {"ds": pd.date_range("2024-05-01", periods=10), "y": [4, 6, 5, 7, 6, 8, 7, 9, 8, 10]}
    )

    result = forecast_series(history, horizon_end=date(2024, 5, 20))
    frame = result.frame

    assert result.method == "naive"
    assert (frame["yhat"] == 10).all()
    assert (frame["yhat_lower"] < 10).all()
    assert (frame["yhat_upper"] > 10).all()
    assert frame["yhat_upper"].is_monotonic_increasing


def test_prophet_beats_seasonal_naive_at_quarter_end():
    history = quarterly_history()

    scores = backtest(history, origins=QUARTER_END_ORIGINS, horizon_days=28)

    assert scores["folds_run"] == 3
    assert scores["folds_skipped"] == 0
    assert scores["n_scored"] == 84
    assert scores["mape"] < scores["baseline_mape"]
    assert 0 < scores["smape"] < 2
    assert 0.3 <= scores["coverage_80"] <= 1.0


def test_short_history_skips_quarterly():
    # 60 to 74 training days, less than a quarter: a quarterly term would extrapolate wildly.
    rng = np.random.default_rng(0)
    days = pd.date_range("2024-04-01", periods=90, freq="D")
    weekly = np.where(days.dayofweek < 5, 100.0, 35.0) + rng.normal(0, 3, len(days))
    history = pd.DataFrame({"ds": days, "y": weekly})
    origins = [date(2024, 5, 30), date(2024, 6, 6), date(2024, 6, 13)]

    scores = backtest(history, origins=origins, horizon_days=14)

    assert scores["folds_run"] == 3
    assert scores["mape"] < 0.1
    assert scores["mape"] < scores["baseline_mape"]


def test_prophet_forecast_within_floor_and_cap():
    history = quarterly_history()

    result = forecast_series(history, horizon_end=date(2024, 7, 31), cap=CAP)
    frame = result.frame

    assert result.method == "prophet"
    assert result.error is None
    assert len(frame) == 94
    assert frame["insufficient_history"].eq(False).all()
    assert (frame["yhat_lower"] >= 0).all()
    assert (frame["yhat_upper"] <= CAP).all()
    # The June quarter-end week is forecast near 160 seats, so the cap binds there.
    assert frame["yhat_upper"].max() == CAP
    assert (frame["yhat_lower"] <= frame["yhat"]).all()
    assert (frame["yhat"] <= frame["yhat_upper"]).all()
    assert (frame["yhat_upper"] > frame["yhat_lower"]).any()


def test_prophet_forecast_repeatable_with_seed():
    history = quarterly_history()

    first = forecast_series(history, horizon_end=date(2024, 5, 31), random_seed=3).frame
    second = forecast_series(history, horizon_end=date(2024, 5, 31), random_seed=3).frame

    pd.testing.assert_frame_equal(first, second)


def test_prophet_failure_falls_back(caplog):
    history = quarterly_history()
    history.loc[0, "y"] = np.inf

    with caplog.at_level("WARNING", logger="licpipe.ml.forecasting"):
        result = forecast_series(history, horizon_end=date(2024, 5, 12))

    assert result.method == "seasonal_naive"
    assert "infinity" in result.error
    assert "Prophet fit failed" in caplog.text
    last_week = history["y"].iloc[-7:].to_numpy()
    np.testing.assert_allclose(result.frame["yhat"].to_numpy(), np.resize(last_week, 14))
    assert np.isfinite(result.frame["yhat_upper"]).all()


def test_backtest_skips_short_folds():
    history = read_fixture("new_app.csv")

    scores = backtest(history, folds=3, horizon_days=7)

    assert scores["folds_run"] == 0
    assert scores["folds_skipped"] == 3
    assert np.isnan(scores["mape"])


def test_backtest_counts_partial_skips():
    history = pd.DataFrame({"ds": pd.date_range("2024-05-01", periods=5), "y": [1, 2, 3, 2, 1]})

    scores = backtest(history, folds=3, horizon_days=2)

    # Origins are 05-01, 05-03 and 05-05: the first has one training row, the last no test day.
    assert scores["folds_run"] == 1
    assert scores["folds_skipped"] == 2
    assert scores["n_scored"] == 2


def test_interval_scores_and_scale():
    yhat = np.array([10.0, 10.0, 10.0, 10.0])
    lower = np.array([8.0, 8.0, 10.0, 0.0])
    upper = np.array([14.0, 14.0, 10.0, 12.0])
    actual = np.array([6.0, 12.0, 11.0, 10.0])

    scores = interval_scores(actual, yhat, lower, upper)
    scaled_lower, scaled_upper = scale_interval(yhat, lower, upper, 2.0, floor=0.0, cap=17.0)

    # 4 below yhat over a lower half-width of 2 scores 2, and 2 above over 4 scores 0.5. The
    # third interval has no width, so 1 above counts over the 0.5 minimum.
    np.testing.assert_allclose(scores, [2.0, 0.5, 2.0, 0.0])
    np.testing.assert_allclose(scaled_lower, [6.0, 6.0, 9.0, 0.0])
    np.testing.assert_allclose(scaled_upper, [17.0, 17.0, 11.0, 14.0])


def test_conformal_scale_rank():
    scores = np.arange(1.0, 21.0)

    # The ceil(21 * 0.8) = 17th smallest of 20 scores.
    assert conformal_scale(scores, 0.8) == 17.0
    assert conformal_scale(scores[:13], 0.8) is None


def test_calibration_widens_undercovering_intervals():
    # AR(1) noise: Prophet assumes independent errors, so its intervals are too narrow.
    rng = np.random.default_rng(1)
    noise = np.zeros(180)
    for day in range(1, 180):
        noise[day] = 0.8 * noise[day - 1] + rng.normal(0, 4)

    scores = backtest(weekly_history(noise))

    assert scores["folds_calibrated"] == 3
    assert scores["interval_scale"] > 1.5
    assert scores["coverage_80_uncalibrated"] < 0.5
    assert scores["coverage_80"] > scores["coverage_80_uncalibrated"] + 0.2
    assert 0 < scores["baseline_coverage_80"] <= 1
    assert scores["interval_width"] > 0


def test_calibration_never_sees_scored_days():
    # Noise jumps from 1 to 15 seats on the first scored day. Calibrating on earlier days
    # cannot know that, so coverage stays low, though the final scale learns the jump.
    rng = np.random.default_rng(0)
    spread = np.where(np.arange(180) >= 152, 15.0, 1.0)
    history = weekly_history(rng.normal(0, 1, 180) * spread)

    scores = backtest(history, folds=1)

    assert scores["folds_calibrated"] == 1
    assert scores["coverage_80"] < 0.3
    assert scores["interval_scale"] > 5


def test_forecast_many_uses_backtest_scale():
    history = quarterly_history()
    series = history.assign(series_key="crm", series_type="application", application="crm")
    horizon = date(2024, 5, 31)

    _, metrics = forecast_many(series, {"crm": horizon})
    row = metrics.set_index("series_key").loc["crm"]
    scale = backtest(history, folds=3, horizon_days=28)["interval_scale"]
    unscaled = forecast_series(history, horizon_end=horizon).frame
    scaled = forecast_series(history, horizon_end=horizon, interval_scale=scale).frame

    assert row["interval_scale"] == pytest.approx(scale)
    assert row["calibration_days"] == 6 * 28
    assert scale != pytest.approx(1.0)
    upper_half = scaled["yhat_upper"] - scaled["yhat"]
    np.testing.assert_allclose(upper_half, scale * (unscaled["yhat_upper"] - unscaled["yhat"]))


def test_masked_mape_ignores_zero_actuals():
    actual = np.array([0.0, 10.0, 20.0])
    predicted = np.array([5.0, 8.0, 20.0])

    assert masked_mape(actual, predicted) == pytest.approx(0.1)
    assert np.isnan(masked_mape(np.zeros(3), predicted))
    assert symmetric_mape(np.zeros(2), np.zeros(2)) == 0


def test_history_with_repeated_day_rejected():
    history = pd.DataFrame({"ds": ["2024-05-01", "2024-05-01"], "y": [1, 2]})

    with pytest.raises(ValueError, match="2024-05-01"):
        forecast_series(history, horizon_end=date(2024, 5, 31))


def test_forecast_many_isolates_bad_series():
    healthy = quarterly_history().assign(series_key="cad_pro", series_type="feature")
    new_app = read_fixture("new_app.csv").assign(series_key="new_app", series_type="application")
    zero_app = read_fixture("zero_app.csv").assign(series_key="zero_app", series_type="application")
    no_values = pd.DataFrame({"ds": pd.date_range("2024-05-01", periods=3), "y": 1.0}).assign(
        series_key="empty_app", series_type="application"
    )
    no_horizon = new_app.assign(series_key="orphan_app")
    series = pd.concat([healthy, new_app, zero_app, no_values, no_horizon], ignore_index=True)
    series.loc[series["series_key"] == "empty_app", "y"] = np.nan
    series["application"] = series["series_key"]
    horizons = {key: date(2024, 6, 30) for key in ("cad_pro", "new_app", "zero_app", "empty_app")}

    forecasts, metrics = forecast_many(series, horizons, caps={"cad_pro": CAP})

    methods = metrics.set_index("series_key")["method"].to_dict()
    assert methods == {
        "cad_pro": "prophet",
        "new_app": "naive",
        "zero_app": "constant",
        "empty_app": "failed",
        "orphan_app": "failed",
    }
    errors = metrics.set_index("series_key")["error"]
    assert "no non-null" in errors["empty_app"]
    assert "horizons" in errors["orphan_app"]

    rows = forecasts.groupby("series_key").size().to_dict()
    assert rows == {"cad_pro": 63, "new_app": 41, "zero_app": 47}
    assert list(forecasts.columns) == [
        "series_type",
        "series_key",
        "application",
        "ds",
        "yhat",
        "yhat_lower",
        "yhat_upper",
        "method",
        "insufficient_history",
    ]
    assert forecasts.loc[forecasts["series_key"] == "cad_pro", "yhat_upper"].max() <= CAP
    assert (forecasts.loc[forecasts["series_key"] == "new_app", "yhat"] == 3).all()
    assert (forecasts.loc[forecasts["series_key"] == "zero_app", "yhat"] == 0).all()

    healthy_metrics = metrics.set_index("series_key").loc["cad_pro"]
    assert healthy_metrics["folds_run"] == 3
    assert healthy_metrics["n_history"] == 180
    assert healthy_metrics["mape"] < 0.5
    assert healthy_metrics["fit_seconds"] > 0
    new_app_metrics = metrics.set_index("series_key").loc["new_app"]
    assert new_app_metrics["folds_skipped"] == 3
    assert new_app_metrics["n_history"] == 1
