"""The published HTML report and the ITSM export, written beside the analytics snapshot.

The report is one self-contained HTML file with inline SVG charts (no scripts, fonts or
stylesheets fetched from anywhere), so it opens offline and can be attached to a ticket.
The export is a CSV of open recommendations with stable ids, for import into an ITSM tool.
"""

from __future__ import annotations

import html
import json
from datetime import date
from pathlib import Path

import duckdb
import pandas as pd

EXPORT_COLUMNS = [
    "recommendation_id",
    "priority",
    "action",
    "user_email",
    "application",
    "sku",
    "seats",
    "monthly_saving",
    "annual_saving",
    "currency",
    "reason",
    "last_used_on",
    "days_since_last_use",
    "tier",
]
CHART_WIDTH = 640
CHART_HEIGHT = 180


REPORT_COLUMNS = [
    "priority",
    "action",
    "user_email",
    "application",
    "sku",
    "seats",
    "annual_saving",
    "currency",
    "reason",
    "last_used_on",
    "days_since_last_use",
    "tier",
]


def _escape(value) -> str:
    """Format one cell: blanks for missing values, dates without a time, money in cents."""
    if value is None or value is pd.NaT:
        return ""
    try:
        if pd.isna(value):
            return ""
    except (TypeError, ValueError):
        pass
    if isinstance(value, pd.Timestamp):
        value = value.date().isoformat() if value == value.normalize() else value.isoformat()
    elif isinstance(value, float):
        value = f"{value:,.2f}"
    return html.escape(str(value))


def _bar_chart(labels: list[str], values: list[float], unit: str) -> str:
    """Horizontal bars, one per label, scaled to the largest absolute value."""
    if not values:
        return "<p>No data.</p>"
    largest = max(abs(v) for v in values) or 1.0
    row = 22
    height = row * len(values) + 10
    bars = []
    for index, (label, value) in enumerate(zip(labels, values, strict=True)):
        width = abs(value) / largest * (CHART_WIDTH - 260)
        colour = "#2e7d32" if value >= 0 else "#c62828"
        y = index * row + 5
        bars.append(
            f'<text x="0" y="{y + 14}" font-size="12">{_escape(label)}</text>'
            f'<rect x="200" y="{y}" width="{width:.1f}" height="16" fill="{colour}"/>'
            f'<text x="{205 + width:.1f}" y="{y + 13}" font-size="11">{value:,.0f} {unit}</text>'
        )
    return (
        f'<svg width="{CHART_WIDTH}" height="{height}" role="img" '
        f'xmlns="http://www.w3.org/2000/svg">{"".join(bars)}</svg>'
    )


def _forecast_chart(history: pd.DataFrame, forecast: pd.DataFrame) -> str:
    """Daily history as a line, the forecast as a dashed line inside its shaded interval."""
    if history.empty and forecast.empty:
        return "<p>No data.</p>"
    days = pd.concat([history["ds"], forecast["ds"]]).map(pd.Timestamp)
    start, end = days.min(), days.max()
    span = max((end - start).days, 1)
    top = max(
        history["y"].max() if not history.empty else 0,
        forecast["yhat_upper"].max() if not forecast.empty else 0,
        1,
    )

    def x(day) -> float:
        return (pd.Timestamp(day) - start).days / span * (CHART_WIDTH - 20) + 10

    def y(value) -> float:
        return CHART_HEIGHT - 10 - float(value) / top * (CHART_HEIGHT - 20)

    parts = []
    if not forecast.empty:
        upper = " ".join(
            f"{x(d):.1f},{y(v):.1f}"
            for d, v in zip(forecast["ds"], forecast["yhat_upper"], strict=True)
        )
        lower = " ".join(
            f"{x(d):.1f},{y(v):.1f}"
            for d, v in zip(forecast["ds"][::-1], forecast["yhat_lower"][::-1], strict=True)
        )
        parts.append(f'<polygon points="{upper} {lower}" fill="#bbdefb"/>')
        line = " ".join(
            f"{x(d):.1f},{y(v):.1f}" for d, v in zip(forecast["ds"], forecast["yhat"], strict=True)
        )
        parts.append(
            f'<polyline points="{line}" fill="none" stroke="#1565c0" stroke-dasharray="4"/>'
        )
    if not history.empty:
        line = " ".join(
            f"{x(d):.1f},{y(v):.1f}" for d, v in zip(history["ds"], history["y"], strict=True)
        )
        parts.append(f'<polyline points="{line}" fill="none" stroke="#424242"/>')
    parts.append(f'<text x="10" y="12" font-size="11">max {top:,.0f}</text>')
    return (
        f'<svg width="{CHART_WIDTH}" height="{CHART_HEIGHT}" role="img" '
        f'xmlns="http://www.w3.org/2000/svg">{"".join(parts)}</svg>'
    )


def _table(frame: pd.DataFrame, columns: list[str], limit: int = 50) -> str:
    present = [c for c in columns if c in frame.columns]
    head = "".join(f"<th>{_escape(c)}</th>" for c in present)
    rows = "".join(
        "<tr>" + "".join(f"<td>{_escape(row[c])}</td>" for c in present) + "</tr>"
        for _, row in frame.head(limit).iterrows()
    )
    more = f"<p>{len(frame) - limit} more rows in the snapshot.</p>" if len(frame) > limit else ""
    return f"<table><tr>{head}</tr>{rows}</table>{more}"


def _read(con: duckdb.DuckDBPyConnection, sql: str) -> pd.DataFrame:
    try:
        return con.execute(sql).df()
    except duckdb.CatalogException:
        return pd.DataFrame()


def write_report(con: duckdb.DuckDBPyConnection, out_dir: Path, as_of: date) -> dict[str, Path]:
    """Write `report.html` and `exports/recommendations.csv` from the warehouse's tables."""
    recs = _read(
        con,
        "select * from analytics.recommendations where status = 'open' "
        "order by priority, annual_saving desc",
    )
    savings = _read(
        con,
        "select application, action, currency, sum(annual_saving) as annual_saving "
        "from analytics.recommendations where status = 'open' group by all order by 4 desc",
    )
    alerts = _read(con, "select * from analytics.quality_alerts order by raised_at desc")
    kpis = _read(con, "select * from analytics.license_kpis order by sku")
    history = _read(
        con,
        "select application_id as series_key, usage_date as ds, count(distinct user_key) as y "
        "from main_marts.fct_daily_usage where is_active and not is_backfilled group by all",
    )
    forecasts = _read(
        con, "select * from analytics.demand_forecasts where series_type = 'application'"
    )

    sections = [f"<h1>licpipe report, data as of {as_of.isoformat()}</h1>"]
    if not alerts.empty:
        sections.append("<h2>Quality alerts</h2>")
        sections.append(_table(alerts, ["raised_at", "severity", "check_name", "message"]))
    totals = recs.groupby("currency")["annual_saving"].sum() if not recs.empty else pd.Series()
    total_text = ", ".join(f"{float(v):,.2f} {k}" for k, v in totals.items()) or "0"
    sections.append(
        f"<h2>Open recommendations: {len(recs)}</h2><p>Total annual saving: {total_text} "
        "(negative values are costs, such as true-ups).</p>"
    )
    labels = (
        [f"{r.application} · {r.action}" for r in savings.itertuples()] if not savings.empty else []
    )
    values = [float(v) for v in savings["annual_saving"]] if not savings.empty else []
    currency = savings["currency"].iloc[0] if not savings.empty else ""
    sections.append(_bar_chart(labels, values, currency))
    sections.append(_table(recs, REPORT_COLUMNS))
    if not kpis.empty:
        sections.append("<h2>Licence positions</h2>")
        sections.append(_table(kpis, list(kpis.columns)))
    if not forecasts.empty:
        sections.append("<h2>Daily active seats and forecast to renewal (80 % interval)</h2>")
        for key, group in forecasts.groupby("series_key"):
            name = group["application"].iloc[0]
            past = history[history["series_key"] == key].sort_values("ds")
            method = group["method"].iloc[0]
            sections.append(f"<h3>{_escape(name)} ({_escape(method)})</h3>")
            sections.append(_forecast_chart(past, group.sort_values("ds")))

    style = (
        "body{font-family:sans-serif;margin:2em;max-width:1100px}"
        "table{border-collapse:collapse;font-size:12px}"
        "td,th{border:1px solid #ccc;padding:3px 6px;text-align:left;vertical-align:top}"
        "td:nth-child(9){min-width:320px}"
    )
    page = (
        f"<!doctype html><html><head><meta charset='utf-8'><title>licpipe report</title>"
        f"<style>{style}</style></head><body>{''.join(sections)}</body></html>"
    )
    report = out_dir / "report.html"
    report.write_text(page, encoding="utf-8")

    exports = out_dir / "exports"
    exports.mkdir(exist_ok=True)
    export = exports / "recommendations.csv"
    frame = (
        recs[[c for c in EXPORT_COLUMNS if c in recs.columns]]
        if not recs.empty
        else pd.DataFrame(columns=EXPORT_COLUMNS)
    )
    frame.to_csv(export, index=False)
    (exports / "recommendations.json").write_text(
        json.dumps(json.loads(frame.to_json(orient="records", date_format="iso")), indent=1)
    )
    return {"report": report, "export_csv": export}
