"""Daily demand forecasts with Prophet, simple fallbacks and a rolling-origin backtest.

A series is a daily count (active seats per application, or peak concurrent seats per
licence-server feature). Forecasts run from the day after the last observation to the
horizon end, usually the renewal date. Series too short or too flat for Prophet get a
named simple method, so a caller can always tell which method produced a row.

Prophet's own intervals covered too few held-out days on the demo, so `forecast_many` widens
or narrows them by a factor learnt from backtest errors (split-conformal calibration).
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass
from datetime import date, timedelta
from statistics import NormalDist

import numpy as np
import pandas as pd

logger = logging.getLogger(__name__)

FORECAST_COLUMNS = [
    "ds",
    "yhat",
    "yhat_lower",
    "yhat_upper",
    "method",
    "insufficient_history",
]
SERIES_COLUMNS = ["series_type", "series_key", "application"]
BACKTEST_METRICS = [
    "mape",
    "smape",
    "baseline_mape",
    "coverage_80",
    "coverage_80_uncalibrated",
    "baseline_coverage_80",
    "interval_width",
    "baseline_interval_width",
    "interval_scale",
    "calibration_days",
]
METRIC_COLUMNS = [
    *SERIES_COLUMNS,
    "method",
    *BACKTEST_METRICS,
    "n_history",
    "folds_run",
    "folds_skipped",
    "fit_seconds",
    "error",
]

# Calendar quarters are 90 to 92 days long; 365.25 / 4 is their mean length in days.
QUARTER_DAYS = 91.25
# Order 10 resolves a bump of about a week at each quarter end (period / 20 = 4.6 days). On a
# synthetic 180-day series with a 7-day quarter-end bump, order 5 smeared the bump and scored a
# worse backtest MAPE than the seasonal-naive baseline, order 10 about half the baseline's.
QUARTERLY_FOURIER_ORDER = 10
# Prophet's own rule: yearly seasonality needs two full years of history.
YEARLY_MIN_DAYS = 730
# A quarterly seasonality fitted to less than one quarter is confounded with the trend. Fitted
# to 60 to 74 days of four seeded, purely weekly series, it scored a 14-day backtest MAPE of
# 0.96 to 10.6. Seasonal naive and weekly seasonality alone scored 0.04 to 0.07, so shorter
# histories get weekly seasonality only.
QUARTERLY_MIN_DAYS = QUARTER_DAYS
# Prediction intervals come from this many simulated paths; Prophet's default of 1000 costs
# about five times more per series and moves the 80% bounds by a few percent at most.
UNCERTAINTY_SAMPLES = 200
SEASONAL_NAIVE_SEASON = 7
# Seat counts are whole numbers, so an interval is never scored or scaled as if it were
# narrower than half a seat either side of the forecast.
MIN_HALF_WIDTH = 0.5
# Held-out days needed before a calibration factor is trusted: two of each weekday.
MIN_CALIBRATION_DAYS = 14


@dataclass
class ForecastResult:
    """One series' forecast: `frame` has FORECAST_COLUMNS, one row per future day."""

    frame: pd.DataFrame
    method: str
    n_history: int
    error: str | None = None
    interval_scale: float | None = None


def quiet_prophet_logging() -> None:
    """Lower Prophet's and cmdstanpy's loggers to WARNING.

    Both log INFO lines on every fit (seasonality choices, optimiser start and stop), and
    Prophet logs an ERROR at import when plotly is missing, which forecasting never needs.
    Warnings and errors still propagate to the application's handlers.
    """
    cmdstanpy_logger = logging.getLogger("cmdstanpy")
    # On first use, cmdstanpy adds its own INFO handler and resets the level to DEBUG when no
    # handler exists anywhere in the logger's hierarchy. A NullHandler prevents that.
    if not cmdstanpy_logger.handlers:
        cmdstanpy_logger.addHandler(logging.NullHandler())
    cmdstanpy_logger.setLevel(logging.WARNING)
    logging.getLogger("prophet").setLevel(logging.WARNING)
    logging.getLogger("prophet.plot").setLevel(logging.CRITICAL)


quiet_prophet_logging()


def forecast_series(
    history: pd.DataFrame,
    *,
    horizon_end: date,
    floor: float = 0.0,
    cap: float | None = None,
    quarterly: bool = True,
    min_history_days: int = 56,
    interval_width: float = 0.8,
    random_seed: int = 0,
    quarterly_fourier_order: int = QUARTERLY_FOURIER_ORDER,
    interval_scale: float | None = None,
) -> ForecastResult:
    """Forecast a daily series from the day after its last observation up to `horizon_end`.

    Args:
        history: columns `ds` (date) and `y` (count); rows with a null `y` are ignored.
        horizon_end: last day to forecast, inclusive.
        floor: lower bound for every value (0 for seat counts).
        cap: upper bound for every value, for example the seats a licence server issues.
        quarterly: add a quarterly seasonality (period 91.25 days) to Prophet when the history
            spans at least one quarter.
        min_history_days: below this many observations the forecast is naive (last value).
        interval_width: probability mass of the prediction interval.
        random_seed: seed for the optimiser and the interval simulation.
        quarterly_fourier_order: Fourier terms of the quarterly seasonality.
        interval_scale: factor for both half-widths of a Prophet interval, from
            `backtest`'s `interval_scale`; None keeps Prophet's own interval. Other methods'
            intervals are never scaled.

    The method is `constant` for two or more equal values, `naive` for one value or fewer
    than `min_history_days`, and `prophet` otherwise. A Prophet error is logged and falls back
    to `seasonal_naive`. Values are clipped to [floor, cap].

    Raises:
        ValueError: `history` lacks `ds` or `y`, has no non-null `y`, or repeats a day.
    """
    observed = _clean_history(history)
    last_day = observed["ds"].iloc[-1].date()
    future = pd.date_range(last_day + timedelta(days=1), horizon_end, freq="D")
    n_history = len(observed)
    insufficient = n_history < min_history_days
    values = observed["y"].to_numpy(dtype=float)

    error = None
    if n_history >= 2 and np.ptp(values) == 0:
        method = "constant"
        point, lower, upper = _flat(values[-1], len(future))
    elif insufficient:
        method = "naive"
        point, lower, upper = _naive(values, len(future), interval_width)
    else:
        try:
            method = "prophet"
            order = quarterly_fourier_order if quarterly else 0
            point, lower, upper = _prophet(observed, future, order, interval_width, random_seed)
        except Exception as exc:  # any Stan or Prophet failure has a fallback
            method = "seasonal_naive"
            error = f"{type(exc).__name__}: {exc}"
            logger.warning("Prophet fit failed, using seasonal naive: %s", error)
            point, lower, upper = _seasonal_naive(
                values, len(future), SEASONAL_NAIVE_SEASON, interval_width
            )

    frame = _forecast_frame(future, point, lower, upper, floor, cap)
    applied_scale = None
    if method == "prophet" and interval_scale is not None:
        applied_scale = float(interval_scale)
        frame["yhat_lower"], frame["yhat_upper"] = scale_interval(
            frame["yhat"].to_numpy(),
            frame["yhat_lower"].to_numpy(),
            frame["yhat_upper"].to_numpy(),
            applied_scale,
            floor=floor,
            cap=cap,
        )
    frame["method"] = method
    frame["insufficient_history"] = insufficient
    return ForecastResult(
        frame=frame, method=method, n_history=n_history, error=error, interval_scale=applied_scale
    )


def _clean_history(history: pd.DataFrame) -> pd.DataFrame:
    missing = {"ds", "y"} - set(history.columns)
    if missing:
        raise ValueError(
            f"history is missing column(s) {sorted(missing)}; pass a frame with `ds` (date) "
            "and `y` (daily value)."
        )

    observed = pd.DataFrame(
        {
            "ds": pd.to_datetime(history["ds"]).dt.normalize(),
            "y": pd.to_numeric(history["y"], errors="coerce"),
        }
    )
    observed = observed.dropna().sort_values("ds").reset_index(drop=True)
    if observed.empty:
        raise ValueError("history has no non-null `y` values; a forecast needs at least one.")

    repeated = observed.loc[observed["ds"].duplicated(), "ds"]
    if not repeated.empty:
        examples = ", ".join(str(d.date()) for d in repeated.unique()[:5])
        raise ValueError(
            f"history has {repeated.nunique()} day(s) with more than one row ({examples}); "
            "aggregate to one value per day first."
        )
    return observed


def _flat(value: float, steps: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    point = np.full(steps, float(value))
    return point, point.copy(), point.copy()


def _z_score(interval_width: float) -> float:
    return NormalDist().inv_cdf(0.5 + interval_width / 2)


def _naive(
    values: np.ndarray, steps: int, interval_width: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Repeat the last value; the interval is a random walk's, sigma * z * sqrt(step)."""
    point = np.full(steps, values[-1])
    sigma = float(np.std(np.diff(values), ddof=1)) if len(values) > 2 else 0.0
    spread = _z_score(interval_width) * sigma * np.sqrt(np.arange(1, steps + 1))
    return point, point - spread, point + spread


def _seasonal_naive(
    values: np.ndarray, steps: int, season: int, interval_width: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Repeat the last full season; the interval widens with each further season."""
    season = min(season, len(values))
    last_season = values[-season:]
    point = np.resize(last_season, steps).astype(float)

    seasonal_differences = values[season:] - values[:-season]
    seasonal_differences = seasonal_differences[np.isfinite(seasonal_differences)]
    sigma = float(np.std(seasonal_differences, ddof=1)) if len(seasonal_differences) > 1 else 0.0
    seasons_ahead = np.arange(steps) // season + 1
    spread = _z_score(interval_width) * sigma * np.sqrt(seasons_ahead)
    return point, point - spread, point + spread


def _prophet(
    observed: pd.DataFrame,
    future: pd.DatetimeIndex,
    quarterly_fourier_order: int,
    interval_width: float,
    random_seed: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Fit Prophet by MAP optimisation (no MCMC) and predict `future`.

    A `quarterly_fourier_order` of 0, or a history shorter than QUARTERLY_MIN_DAYS, leaves the
    quarterly seasonality out.
    """
    from prophet import Prophet  # imported here: about 1 s, needed only when fitting

    quiet_prophet_logging()
    span_days = (observed["ds"].iloc[-1] - observed["ds"].iloc[0]).days
    model = Prophet(
        growth="linear",
        # Seat counts rise and fall in proportion (a weekend is a share of a weekday, a
        # quarter-end close a multiple), so seasonal effects scale with the level.
        seasonality_mode="multiplicative",
        weekly_seasonality=True,
        yearly_seasonality=span_days >= YEARLY_MIN_DAYS,
        daily_seasonality=False,
        interval_width=interval_width,
        uncertainty_samples=UNCERTAINTY_SAMPLES,
        mcmc_samples=0,
    )
    if quarterly_fourier_order > 0 and span_days >= QUARTERLY_MIN_DAYS:
        model.add_seasonality(
            name="quarterly", period=QUARTER_DAYS, fourier_order=quarterly_fourier_order
        )
    model.fit(observed, seed=random_seed)

    if len(future) == 0:
        empty = np.array([], dtype=float)
        return empty, empty.copy(), empty.copy()

    # Prophet draws its interval paths from NumPy's global generator, so seed it for this
    # call and restore the caller's state afterwards.
    state = np.random.get_state()
    np.random.seed(random_seed)
    try:
        predicted = model.predict(pd.DataFrame({"ds": future}))
    finally:
        np.random.set_state(state)
    return (
        predicted["yhat"].to_numpy(dtype=float),
        predicted["yhat_lower"].to_numpy(dtype=float),
        predicted["yhat_upper"].to_numpy(dtype=float),
    )


def _forecast_frame(
    future: pd.DatetimeIndex,
    point: np.ndarray,
    lower: np.ndarray,
    upper: np.ndarray,
    floor: float,
    cap: float | None,
) -> pd.DataFrame:
    """Clip to [floor, cap] and widen the bounds where needed so they contain `yhat`."""
    high = np.inf if cap is None else cap
    point = np.clip(point, floor, high)
    lower = np.minimum(np.clip(lower, floor, high), point)
    upper = np.maximum(np.clip(upper, floor, high), point)
    return pd.DataFrame(
        {
            "ds": [d.date() for d in future],
            "yhat": point,
            "yhat_lower": lower,
            "yhat_upper": upper,
        }
    )


def interval_scores(
    actual: np.ndarray, yhat: np.ndarray, lower: np.ndarray, upper: np.ndarray
) -> np.ndarray:
    """Return each actual's distance from yhat in half-widths of the interval on its side.

    A score of at most 1 means the actual lies inside the interval, and scaling both
    half-widths by s takes in every actual scoring at most s. Half-widths count as at least
    MIN_HALF_WIDTH.
    """
    below = np.maximum(yhat - lower, MIN_HALF_WIDTH)
    above = np.maximum(upper - yhat, MIN_HALF_WIDTH)
    return np.where(actual >= yhat, (actual - yhat) / above, (yhat - actual) / below)


def conformal_scale(scores: np.ndarray, coverage: float) -> float | None:
    """Return the split-conformal quantile of held-out interval scores for `coverage`.

    This is the ceil((n + 1) * coverage)-th smallest of n scores, so that scaling intervals by
    it covers a further day with probability of at least `coverage` when the scores are
    exchangeable. Returns None with fewer than MIN_CALIBRATION_DAYS scores.

    NOTE: daily errors of a forecast are autocorrelated, not exchangeable, so the guarantee
    holds only approximately; backtest reports the coverage actually reached.
    """
    scores = np.sort(np.asarray(scores, dtype=float))
    rank = math.ceil((len(scores) + 1) * coverage)
    if len(scores) < MIN_CALIBRATION_DAYS or rank > len(scores):
        return None
    return float(scores[rank - 1])


def scale_interval(
    yhat: np.ndarray,
    lower: np.ndarray,
    upper: np.ndarray,
    scale: float,
    *,
    floor: float = 0.0,
    cap: float | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Multiply both half-widths by `scale` and clip the bounds to [floor, cap] around yhat."""
    below = np.maximum(yhat - lower, MIN_HALF_WIDTH)
    above = np.maximum(upper - yhat, MIN_HALF_WIDTH)
    high = np.inf if cap is None else cap
    scaled_lower = np.minimum(np.clip(yhat - scale * below, floor, high), yhat)
    scaled_upper = np.maximum(np.clip(yhat + scale * above, floor, high), yhat)
    return scaled_lower, scaled_upper


def masked_mape(actual: np.ndarray, predicted: np.ndarray) -> float:
    """Mean absolute percentage error over the days whose actual value is not zero.

    Days with a zero actual are left out because their percentage error is undefined; the
    result is NaN when every actual is zero.
    """
    mask = actual != 0
    if not mask.any():
        return float("nan")
    return float(np.mean(np.abs((actual[mask] - predicted[mask]) / actual[mask])))


def symmetric_mape(actual: np.ndarray, predicted: np.ndarray) -> float:
    """Symmetric MAPE in [0, 2]; a day where actual and forecast are both zero scores 0."""
    if len(actual) == 0:
        return float("nan")
    denominator = np.abs(actual) + np.abs(predicted)
    ratio = np.divide(
        2 * np.abs(actual - predicted),
        denominator,
        out=np.zeros_like(denominator, dtype=float),
        where=denominator != 0,
    )
    return float(np.mean(ratio))


@dataclass
class _Fold:
    """One backtest fold's test days with the forecast's and the baseline's intervals."""

    origin: pd.Timestamp
    method: str
    days: np.ndarray
    actual: np.ndarray
    yhat: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    baseline: np.ndarray
    baseline_lower: np.ndarray
    baseline_upper: np.ndarray

    def scores(self, before: pd.Timestamp | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Return the model's and the baseline's interval scores on days up to `before`."""
        keep = np.ones(len(self.days), dtype=bool) if before is None else self.days <= before
        return (
            interval_scores(self.actual, self.yhat, self.lower, self.upper)[keep],
            interval_scores(self.actual, self.baseline, self.baseline_lower, self.baseline_upper)[
                keep
            ],
        )


def _run_fold(
    observed: pd.DataFrame,
    origin: pd.Timestamp,
    horizon_days: int,
    season_length: int,
    forecast_kwargs: dict,
) -> _Fold | None:
    """Fit on the days up to `origin` and score the next `horizon_days` against the actuals.

    Returns None when the fold has fewer than 2 training rows or no test day.
    """
    train = observed[observed["ds"] <= origin]
    window_end = origin + pd.Timedelta(days=horizon_days)
    test = observed[(observed["ds"] > origin) & (observed["ds"] <= window_end)]
    if len(train) < 2 or test.empty:
        logger.debug(
            "Backtest fold at %s skipped: %d training and %d test rows",
            origin.date(),
            len(train),
            len(test),
        )
        return None

    result = forecast_series(train, horizon_end=window_end.date(), **forecast_kwargs)
    scored = test.assign(ds=test["ds"].dt.date).merge(result.frame, on="ds", how="inner")
    steps = (pd.to_datetime(scored["ds"]) - origin).dt.days.to_numpy() - 1
    point, lower, upper = _seasonal_naive(
        train["y"].to_numpy(dtype=float),
        horizon_days,
        season_length,
        forecast_kwargs.get("interval_width", 0.8),
    )
    high = np.inf if forecast_kwargs.get("cap") is None else forecast_kwargs["cap"]
    floor = forecast_kwargs.get("floor", 0.0)
    return _Fold(
        origin=origin,
        method=result.method,
        days=pd.to_datetime(scored["ds"]).to_numpy(),
        actual=scored["y"].to_numpy(dtype=float),
        yhat=scored["yhat"].to_numpy(dtype=float),
        lower=scored["yhat_lower"].to_numpy(dtype=float),
        upper=scored["yhat_upper"].to_numpy(dtype=float),
        baseline=point[steps],
        baseline_lower=np.clip(lower[steps], floor, high),
        baseline_upper=np.clip(upper[steps], floor, high),
    )


def _calibrated_bounds(
    fold: _Fold, earlier: list[_Fold], coverage: float, floor: float, cap: float | None
) -> tuple[tuple[np.ndarray, np.ndarray] | None, tuple[np.ndarray, np.ndarray] | None]:
    """Scale a fold's model and baseline intervals by factors learnt before its origin.

    Only days up to the fold's origin count, so no day it scores helps calibrate it. Model
    scores come from earlier folds of the same method. Each pair is None when too few days
    were available.
    """
    model_scores, baseline_scores = [], []
    for other in earlier:
        model, baseline = other.scores(before=fold.origin)
        baseline_scores.append(baseline)
        if other.method == fold.method:
            model_scores.append(model)
    bounds = []
    for scores, point, lower, upper in (
        (model_scores, fold.yhat, fold.lower, fold.upper),
        (baseline_scores, fold.baseline, fold.baseline_lower, fold.baseline_upper),
    ):
        scale = conformal_scale(np.concatenate(scores or [np.array([])]), coverage)
        if scale is None:
            bounds.append(None)
        else:
            bounds.append(scale_interval(point, lower, upper, scale, floor=floor, cap=cap))
    return bounds[0], bounds[1]


def backtest(
    history: pd.DataFrame,
    *,
    folds: int = 3,
    horizon_days: int = 28,
    season_length: int = 7,
    origins: list[date] | None = None,
    calibration_folds: int = 3,
    calibration_step_days: int = 7,
    **forecast_kwargs,
) -> dict:
    """Score `forecast_series` by rolling-origin backtest against a seasonal-naive baseline.

    Each fold fits on the days up to and including its origin and scores the next
    `horizon_days`. By default the origins are the last day minus `horizon_days` times 1 to
    `folds`, so the test windows tile the end of the history. Pass `origins` to put the
    windows elsewhere, for example over a quarter end.

    Errors pool every scored day across folds. `mape` and `baseline_mape` are masked MAPEs:
    days whose actual is zero are left out (see `masked_mape`). A fold with fewer than 2
    training rows or no test days is skipped and counted in `folds_skipped`, and the metrics
    are NaN when no fold ran. The baseline repeats the last `season_length` training days.

    Intervals are calibrated split-conformal style. `calibration_folds` extra folds, every
    `calibration_step_days` before the first scored origin, add held-out days. Each scored
    fold's interval is scaled by `conformal_scale` of the interval scores of the earlier
    folds on days up to its own origin, so calibration never uses the days it is scored on.
    A fold with fewer than MIN_CALIBRATION_DAYS such days keeps its own interval.
    `coverage_80` is the share of actuals inside these calibrated intervals and
    `coverage_80_uncalibrated` inside Prophet's own. The seasonal-naive interval is
    calibrated the same way for `baseline_coverage_80`; the two `interval_width` figures are
    the mean calibrated widths. `interval_scale` is the factor from every Prophet fold's full
    window, for the final forecast, and `calibration_days` the number of days behind it.

    Returns:
        dict with the BACKTEST_METRICS, folds_run, folds_skipped, folds_calibrated and n_scored.
    """
    observed = _clean_history(history)
    last_day = observed["ds"].iloc[-1]
    if origins is None:
        origin_days = [last_day - pd.Timedelta(days=horizon_days * k) for k in range(folds, 0, -1)]
    else:
        origin_days = sorted(pd.Timestamp(o) for o in origins)
    coverage = forecast_kwargs.get("interval_width", 0.8)
    floor = forecast_kwargs.get("floor", 0.0)
    cap = forecast_kwargs.get("cap")

    earlier: list[_Fold] = []
    if origin_days:
        for k in range(calibration_folds, 0, -1):
            origin = origin_days[0] - pd.Timedelta(days=calibration_step_days * k)
            fold = _run_fold(observed, origin, horizon_days, season_length, forecast_kwargs)
            if fold is not None:
                earlier.append(fold)

    scored: list[_Fold] = []
    model_bounds, baseline_bounds = [], []
    folds_skipped = 0
    for origin in origin_days:
        fold = _run_fold(observed, origin, horizon_days, season_length, forecast_kwargs)
        if fold is None:
            folds_skipped += 1
            continue
        calibrated, calibrated_baseline = _calibrated_bounds(fold, earlier, coverage, floor, cap)
        model_bounds.append(calibrated)
        baseline_bounds.append(calibrated_baseline)
        scored.append(fold)
        earlier.append(fold)

    final_scores = [f.scores()[0] for f in earlier if f.method == "prophet"]
    final_scores = np.concatenate(final_scores) if final_scores else np.array([])
    summary = {
        "interval_scale": conformal_scale(final_scores, coverage),
        "calibration_days": int(len(final_scores)),
        "folds_run": len(scored),
        "folds_skipped": folds_skipped,
    }
    if not scored:
        nan = float("nan")
        return {
            **{key: nan for key in BACKTEST_METRICS},
            **summary,
            "folds_calibrated": 0,
            "n_scored": 0,
        }

    def pooled(name: str) -> np.ndarray:
        return np.concatenate([getattr(f, name) for f in scored])

    def calibrated(bounds: list, lower: str, upper: str) -> tuple[np.ndarray, np.ndarray]:
        own = [(getattr(f, lower), getattr(f, upper)) for f in scored]
        chosen = [b if b is not None else o for b, o in zip(bounds, own, strict=True)]
        return np.concatenate([b[0] for b in chosen]), np.concatenate([b[1] for b in chosen])

    actual = pooled("actual")
    model_lower, model_upper = calibrated(model_bounds, "lower", "upper")
    base_lower, base_upper = calibrated(baseline_bounds, "baseline_lower", "baseline_upper")
    return {
        "mape": masked_mape(actual, pooled("yhat")),
        "smape": symmetric_mape(actual, pooled("yhat")),
        "baseline_mape": masked_mape(actual, pooled("baseline")),
        "coverage_80": _coverage(actual, model_lower, model_upper),
        "coverage_80_uncalibrated": _coverage(actual, pooled("lower"), pooled("upper")),
        "baseline_coverage_80": _coverage(actual, base_lower, base_upper),
        "interval_width": float(np.mean(model_upper - model_lower)),
        "baseline_interval_width": float(np.mean(base_upper - base_lower)),
        **summary,
        "folds_calibrated": sum(b is not None for b in model_bounds),
        "n_scored": int(len(actual)),
    }


def _coverage(actual: np.ndarray, lower: np.ndarray, upper: np.ndarray) -> float:
    return float(np.mean((actual >= lower) & (actual <= upper)))


def forecast_many(
    series: pd.DataFrame,
    horizons: dict[str, date],
    caps: dict[str, float] | None = None,
    *,
    backtest_folds: int = 3,
    backtest_horizon_days: int = 28,
    **forecast_kwargs,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Forecast and backtest every series in a long frame, one series at a time.

    Args:
        series: columns series_type, series_key, application, ds, y.
        horizons: series_key -> last day to forecast (the renewal date).
        caps: series_key -> upper bound (seats issued), for concurrency series.
        backtest_folds: folds per series; 0 skips the backtest.
        backtest_horizon_days: days scored per fold.
        forecast_kwargs: passed on to `forecast_series` (floor, min_history_days, ...).

    An error in one series never stops the others: it becomes a metrics row with method
    `failed` and the error text, and that series has no forecast rows.

    Returns:
        (forecasts with SERIES_COLUMNS + FORECAST_COLUMNS, one row per series and future day;
        metrics with METRIC_COLUMNS, one row per series).
    """
    missing = set(SERIES_COLUMNS + ["ds", "y"]) - set(series.columns)
    if missing:
        raise ValueError(
            f"series is missing column(s) {sorted(missing)}; expected "
            "series_type, series_key, application, ds, y."
        )

    caps = caps or {}
    logger.info("Forecasting %d series", series["series_key"].nunique())
    forecasts = []
    metrics = []
    for (series_type, series_key, application), group in series.groupby(
        SERIES_COLUMNS, sort=True, dropna=False
    ):
        labels = {"series_type": series_type, "series_key": series_key, "application": application}
        frame, row = _forecast_one(
            group[["ds", "y"]],
            labels,
            horizons.get(series_key),
            caps.get(series_key),
            backtest_folds,
            backtest_horizon_days,
            forecast_kwargs,
        )
        if frame is not None:
            forecasts.append(frame)
        metrics.append(row)

    forecast_frame = (
        pd.concat(forecasts, ignore_index=True)
        if forecasts
        else pd.DataFrame(columns=SERIES_COLUMNS + FORECAST_COLUMNS)
    )
    metric_frame = pd.DataFrame(metrics, columns=METRIC_COLUMNS)
    failed = int((metric_frame["method"] == "failed").sum())
    logger.info(
        "Forecast %d series (%d failed), %d rows", len(metric_frame), failed, len(forecast_frame)
    )
    return forecast_frame, metric_frame


def _forecast_one(
    history: pd.DataFrame,
    labels: dict,
    horizon_end: date | None,
    cap: float | None,
    backtest_folds: int,
    backtest_horizon_days: int,
    forecast_kwargs: dict,
) -> tuple[pd.DataFrame | None, dict]:
    """Backtest and forecast one series, with the interval scale the backtest learnt.

    Any forecast error becomes a `failed` metrics row and no forecast rows. A backtest error
    keeps the forecast, uncalibrated and without scores.
    """
    row = {
        **labels,
        "method": "failed",
        **{key: np.nan for key in BACKTEST_METRICS},
        "calibration_days": 0,
        "n_history": int(history["y"].notna().sum()),
        "folds_run": 0,
        "folds_skipped": 0,
        "fit_seconds": 0.0,
        "error": None,
    }
    if horizon_end is None:
        row["error"] = (
            f"ValueError: no horizon for series_key {labels['series_key']!r}; add it to `horizons`."
        )
        logger.error("Forecast failed for series %s: %s", labels["series_key"], row["error"])
        return None, row

    scores = None
    backtest_error = None
    if backtest_folds > 0:
        try:
            scores = backtest(
                history,
                folds=backtest_folds,
                horizon_days=backtest_horizon_days,
                cap=cap,
                **forecast_kwargs,
            )
        except Exception as exc:  # the forecast is kept without scores
            backtest_error = f"backtest failed: {type(exc).__name__}: {exc}"

    started = time.perf_counter()
    try:
        # NOTE: the scale is learnt on 28-day backtest windows but applied up to the renewal
        # date, which can be months away. Coverage beyond 28 days is not measured.
        result = forecast_series(
            history,
            horizon_end=horizon_end,
            cap=cap,
            interval_scale=scores["interval_scale"] if scores else None,
            **forecast_kwargs,
        )
    except Exception as exc:  # one bad series must not stop the others
        row["error"] = f"{type(exc).__name__}: {exc}"
        row["fit_seconds"] = time.perf_counter() - started
        logger.error("Forecast failed for series %s: %s", labels["series_key"], row["error"])
        return None, row

    row["fit_seconds"] = time.perf_counter() - started
    row["method"] = result.method
    row["n_history"] = result.n_history
    row["error"] = result.error
    if backtest_error:
        row["error"] = backtest_error
        logger.error("Backtest failed for series %s: %s", labels["series_key"], backtest_error)
    if scores:
        row.update({key: scores[key] for key in BACKTEST_METRICS})
        row["folds_run"] = scores["folds_run"]
        row["folds_skipped"] = scores["folds_skipped"]
    # The row records the scale the forecast used: None unless Prophet produced it.
    row["interval_scale"] = result.interval_scale

    frame = result.frame
    for column in reversed(SERIES_COLUMNS):
        frame.insert(0, column, labels[column])
    return frame, row
