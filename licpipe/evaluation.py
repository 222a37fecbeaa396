"""Score a pipeline run on the demo organisation against the planted ground truth.

`evaluate_demo` reads the published snapshot `analytics.duckdb` (read-only) and the demo's
`truth/` folder. Each metric that cannot be computed, because a table is missing or a class is
empty, comes back as None beside a `reason` that explains why. Missing data never raises.
"""

import csv
import json
import logging
from datetime import date
from pathlib import Path

import duckdb
import numpy as np
from sklearn.metrics import adjusted_rand_score, roc_auc_score

from licpipe.demo.catalog import APPLICATIONS
from licpipe.ml.classifiers import provisioning_baseline_scores, upgrade_baseline_scores
from licpipe.ml.evaluation import precision_at_top_fraction

logger = logging.getLogger(__name__)

UPGRADE_APPLICATIONS = ("Adobe Creative Cloud", "Salesforce Sales Cloud", "Slack")
SNAPSHOT = "snapshot"
_NAME_BY_KEY = {
    key.lower(): app.name for app_id, app in APPLICATIONS.items() for key in (app_id, app.name)
}


def _key(value: object) -> str:
    return str(value or "").strip().lower()


def _application(name: object, application_id: object = None) -> str:
    """Return the published application name for a name or id, matched case-insensitively."""
    for candidate in (name, application_id):
        found = _NAME_BY_KEY.get(_key(candidate))
        if found:
            return found
    return str(name or application_id or "").strip()


def _read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return list(csv.DictReader(handle))


def _read_optional(path: Path) -> list[dict[str, str]] | None:
    return _read_csv(path) if path.exists() else None


def _true(value: str) -> bool:
    return _key(value) in ("true", "1", "yes")


def _sql_text(path: Path) -> str:
    return str(path).replace("'", "''")


def _table_exists(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> bool:
    row = con.execute(
        "select count(*) from information_schema.tables "
        "where table_catalog = ? and table_schema = ? and table_name = ?",
        [SNAPSHOT, schema, table],
    ).fetchone()
    return bool(row and row[0])


def _columns(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> set[str]:
    rows = con.execute(
        "select column_name from information_schema.columns "
        "where table_catalog = ? and table_schema = ? and table_name = ?",
        [SNAPSHOT, schema, table],
    ).fetchall()
    return {name for (name,) in rows}


def _keyed_values(con, table: str, value: str = "null", where: str = "") -> list[tuple]:
    """Return ((e-mail, application name), value) rows of an analytics table.

    The application is read from `application` or else `application_id`, whichever exists.
    """
    columns = _columns(con, "main", table)
    application = "application" if "application" in columns else "null"
    application_id = "application_id" if "application_id" in columns else "null"
    rows = con.execute(
        f"select user_email, {application}, {application_id}, {value} from main.{table} {where}"
    ).fetchall()
    return [((_key(email), _application(name, app_id)), val) for email, name, app_id, val in rows]


def _probabilities(con, table: str) -> dict[tuple[str, str], float]:
    """Return the highest probability per licence pair. A NULL probability counts as 0."""
    probability: dict[tuple[str, str], float] = {}
    for pair, value in _keyed_values(con, table, "probability"):
        probability[pair] = max(probability.get(pair, 0.0), float(value or 0.0))
    return probability


def _roc_auc(labels: list[int], scores: list[float]) -> tuple[float | None, str | None]:
    if not labels:
        return None, "no rows to score"
    if len(set(labels)) < 2:
        return None, "truth has only one class among the scored rows"
    return float(roc_auc_score(labels, scores)), None


def _missing(section: dict, table: str) -> dict:
    section["reason"] = f"table {table} not found in analytics.duckdb"
    return section


class _Truth:
    """The demo truth files, keyed by (lower-cased e-mail, published application name)."""

    def __init__(self, truth_dir: Path) -> None:
        self.licences = {
            (_key(row["user_email"]), _application(row["application"])): row
            for row in _read_csv(truth_dir / "licenses.csv")
        }
        self.needs = {
            (_key(row["user_email"]), _application(row["application"]))
            for row in _read_csv(truth_dir / "provisioning.csv")
        }
        self.people = _read_csv(truth_dir / "people.csv")
        # Demos written before these files existed have neither, so both are optional.
        self.anomalies = _read_optional(truth_dir / "anomalies.csv")
        self.compliance = _read_optional(truth_dir / "compliance.csv")
        manifest = json.loads((truth_dir / "manifest.json").read_text(encoding="utf-8"))
        self.as_of = date.fromisoformat(manifest["as_of"])


def _score_reclaim(con, truth: _Truth) -> tuple[dict, int | None]:
    right = {
        pair
        for pair, row in truth.licences.items()
        if _true(row["is_inactive"]) or _true(row["is_terminated"])
    }
    section: dict = {"precision": None, "recall": None, "right_to_reclaim": len(right)}
    if not _table_exists(con, "main", "recommendations"):
        return _missing(section, "recommendations"), None

    rows = _keyed_values(con, "recommendations", where="where action = 'reclaim'")
    recommended = {pair for pair, _ in rows}
    hits = recommended & right
    section.update(recommended=len(recommended), true_positives=len(hits))
    section["recall"] = len(hits) / len(right) if right else None
    if recommended:
        section["precision"] = len(hits) / len(recommended)
    else:
        section["reason"] = "no reclaim recommendations"
    if not right:
        section["reason"] = "truth has no licence to reclaim"

    # A leaver's seat, or one idle past the planted inactivity, is rightly reclaimed even when
    # its holder's pattern was intermittent.
    intermittent = {
        pair
        for pair, row in truth.licences.items()
        if _true(row["is_intermittent"])
        and not _true(row["is_terminated"])
        and not _true(row["is_inactive"])
    }
    return section, len(recommended & intermittent)


def _score_tiers(con, truth: _Truth) -> dict:
    section: dict = {"adjusted_rand": None}
    if not _table_exists(con, "main", "usage_tiers"):
        return _missing(section, "usage_tiers")
    predicted = {pair: str(tier) for pair, tier in _keyed_values(con, "usage_tiers", "tier")}
    matched = sorted(set(predicted) & set(truth.licences))
    section["matched"] = len(matched)
    if len(matched) < 2:
        section["reason"] = "fewer than two licences appear in both usage_tiers and truth"
        return section
    section["adjusted_rand"] = float(
        adjusted_rand_score(
            [truth.licences[pair]["tier"] for pair in matched],
            [predicted[pair] for pair in matched],
        )
    )
    return section


def _latest_runs(con, prefix: str) -> list[dict]:
    """Return the latest model_runs row per model whose name starts with `prefix`.

    `parameters` is empty when the table has no such column.
    """
    if not _table_exists(con, "main", "model_runs"):
        return []
    parameters = "parameters" if "parameters" in _columns(con, "main", "model_runs") else "null"
    rows = con.execute(
        f"select model, metrics, baseline_metrics, {parameters} from main.model_runs "
        "where starts_with(lower(model), ?) "
        "qualify row_number() over (partition by model order by trained_at desc nulls last) = 1 "
        "order by model",
        [prefix],
    ).fetchall()
    return [
        {
            "model": model,
            "metrics": _json(metrics),
            "baseline_metrics": _json(baseline),
            "parameters": _json(parameter_json),
        }
        for model, metrics, baseline, parameter_json in rows
    ]


def _json(value) -> dict:
    if value is None:
        return {}
    if isinstance(value, dict):
        return value
    try:
        parsed = json.loads(value)
    except (TypeError, ValueError):
        logger.warning("model_runs holds a metrics value that is not JSON: %r", value)
        return {}
    return parsed if isinstance(parsed, dict) else {}


def _read_mart(con, table: str, columns: str):
    """Return a marts table of the snapshot as a frame, or None when it is missing."""
    if not _table_exists(con, "marts", table):
        return None
    return con.execute(f"select {columns} from marts.{table}").df()


def _baseline_by_pair(con, scores) -> dict[tuple[str, str], float]:
    """Return the scores of a (user_key, application_id, score) frame by (e-mail, application).

    A user_key missing from marts.dim_users, or a snapshot without it, is used as the e-mail.
    """
    emails = {}
    if _table_exists(con, "marts", "dim_users"):
        emails = dict(con.execute("select user_key, email from marts.dim_users").fetchall())
    return {
        (_key(emails.get(user) or user), _application(None, app)): float(score)
        for user, app, score in scores.itertuples(index=False)
    }


def _ranking(section: dict, prefix: str, labels: list[int], scores: list[float]) -> None:
    """Add `<prefix>roc_auc` and `<prefix>precision_at_top_decile` of scores against labels."""
    roc_auc, reason = _roc_auc(labels, scores)
    section[f"{prefix}roc_auc"] = roc_auc
    section[f"{prefix}precision_at_top_decile"] = (
        precision_at_top_fraction(np.array(labels), np.array(scores), 0.1) if labels else None
    )
    if reason:
        section[f"{prefix}reason"] = reason


def _held_out(con, prefix: str) -> dict | None:
    """Return the classifier's own held-out figures from its latest model_runs row."""
    for run in _latest_runs(con, prefix):
        metrics, baseline = run["metrics"], run["baseline_metrics"]
        return {
            "model": run["model"],
            "positives": metrics.get("positives"),
            "roc_auc": metrics.get("roc_auc"),
            "precision_at_top_decile": metrics.get("precision_at_top_decile"),
            "baseline_roc_auc": baseline.get("roc_auc"),
            "baseline_precision_at_top_decile": baseline.get("precision_at_top_decile"),
        }
    return None


def _score_classifier(con, section: dict, table: str, pairs: list, labels: list[int]) -> None:
    """Score the predictions in `table` on the truth rows `pairs`, where a missing row scores 0."""
    section.update(evaluated=len(pairs), positives=sum(labels))
    if not _table_exists(con, "main", table):
        _missing(section, table)
        return
    probability = _probabilities(con, table)
    _ranking(section, "", labels, [probability.get(pair, 0.0) for pair in pairs])


def _score_baseline(
    section: dict, baseline, pairs: list, labels: list[int], source_tables: str
) -> None:
    """Score baseline values, keyed like the truth rows, on the same rows as the model.

    `source_tables` names the marts the baseline is computed from, for the reason when it is
    None.
    """
    if baseline is None:
        section["baseline_reason"] = f"{source_tables} not found in analytics.duckdb"
        return
    _ranking(section, "baseline_", labels, [baseline.get(pair, 0.0) for pair in pairs])


def _score_upgrade(con, truth: _Truth) -> dict:
    section: dict = {
        "roc_auc": None,
        "precision_at_top_decile": None,
        "baseline": "active days in the last 30 days",
        "baseline_roc_auc": None,
        "baseline_precision_at_top_decile": None,
    }
    eligible = sorted(
        pair
        for pair, row in truth.licences.items()
        if pair[1] in UPGRADE_APPLICATIONS
        and row["tier"] in ("light", "regular")
        and not _true(row["is_terminated"])
    )
    labels = [int(_true(truth.licences[pair]["will_upgrade"])) for pair in eligible]
    _score_classifier(con, section, "upgrade_predictions", eligible, labels)

    usage = _read_mart(con, "fct_daily_usage", "user_key, application_id, usage_date, is_active")
    baseline = None
    if usage is not None:
        baseline = _baseline_by_pair(con, upgrade_baseline_scores(usage, truth.as_of))
    _score_baseline(section, baseline, eligible, labels, "marts.fct_daily_usage")
    section["held_out"] = _held_out(con, "upgrade")
    return section


def _score_provisioning(con, truth: _Truth) -> dict:
    section: dict = {
        "roc_auc": None,
        "precision_at_top_decile": None,
        "baseline": "share of department peers who used the application in the last 30 days",
        "baseline_roc_auc": None,
        "baseline_precision_at_top_decile": None,
    }
    probability = (
        _probabilities(con, "provisioning_predictions")
        if _table_exists(con, "main", "provisioning_predictions")
        else {}
    )

    # Candidates: every active employee and every application that has a need or a prediction,
    # minus the licences the person already holds.
    applications = {app for _, app in truth.needs} | {app for _, app in probability}
    employees = [
        _key(p["user_email"])
        for p in truth.people
        if p["status"] == "active"
        and not _true(p["is_external"])
        and not _true(p["is_service_account"])
    ]
    candidates = sorted(
        (email, app)
        for email in employees
        for app in applications
        if (email, app) not in truth.licences
    )
    labels = [int(pair in truth.needs) for pair in candidates]
    _score_classifier(con, section, "provisioning_predictions", candidates, labels)

    usage = _read_mart(con, "fct_daily_usage", "user_key, application_id, usage_date, is_active")
    users = _read_mart(con, "dim_users", "*")
    baseline = None
    if usage is not None and users is not None:
        scores = provisioning_baseline_scores(usage, users, truth.as_of)
        baseline = _baseline_by_pair(con, scores)
    _score_baseline(
        section, baseline, candidates, labels, "marts.fct_daily_usage or marts.dim_users"
    )
    section["held_out"] = _held_out(con, "provisioning")
    return section


def _anomaly_rows(con, types: tuple[str, ...]) -> set[tuple[str, str, str]]:
    """Return (application name, ISO day, anomaly_type) of usage_anomalies rows of `types`."""
    columns = _columns(con, "main", "usage_anomalies")
    application = "application" if "application" in columns else "null"
    placeholders = ", ".join("?" for _ in types)
    rows = con.execute(
        f"select {application}, application_id, cast(observed_on as date), anomaly_type "
        f"from main.usage_anomalies where anomaly_type in ({placeholders})",
        list(types),
    ).fetchall()
    return {
        (_application(name, app_id), day.isoformat() if day else "", kind)
        for name, app_id, day, kind in rows
    }


def _score_anomalies(con, truth: _Truth) -> dict:
    """Recall of planted spike and drop days among usage_anomalies rows of the same kind."""
    section: dict = {"recall": None, "flagged_days": None}
    if truth.anomalies is None:
        section["reason"] = "truth/anomalies.csv not found"
        return section
    planted = {
        (_application(row["application"]), row["observed_on"], row["kind"])
        for row in truth.anomalies
    }
    section["planted"] = len(planted)
    if not _table_exists(con, "main", "usage_anomalies"):
        return _missing(section, "usage_anomalies")

    flagged = _anomaly_rows(con, ("spike", "drop"))
    found = planted & flagged
    section["found"] = len(found)
    section["flagged_days"] = len({(app, day) for app, day, _ in flagged})
    section["missed"] = [
        {"application": app, "observed_on": day, "kind": kind}
        for app, day, kind in sorted(planted - found)
    ]
    if planted:
        section["recall"] = len(found) / len(planted)
    else:
        section["reason"] = "truth has no planted anomaly"
    return section


def _score_compliance(con, truth: _Truth) -> dict:
    """Whether each planted compliance gap shows as a true_up or a matching anomaly row.

    A gap is found by a true_up recommendation for its application and SKU, or by a
    usage_anomalies row of its kind (over_assigned, over_installed) for its application.
    """
    section: dict = {"recall": None}
    if truth.compliance is None:
        section["reason"] = "truth/compliance.csv not found"
        return section
    has_recommendations = _table_exists(con, "main", "recommendations")
    has_anomalies = _table_exists(con, "main", "usage_anomalies")
    if not has_recommendations and not has_anomalies:
        section["reason"] = (
            "tables recommendations and usage_anomalies not found in analytics.duckdb"
        )
        return section

    true_ups: set[tuple[str, str]] = set()
    if has_recommendations:
        columns = _columns(con, "main", "recommendations")
        sku = "sku" if "sku" in columns else "null"
        rows = _keyed_values(con, "recommendations", sku, where="where action = 'true_up'")
        true_ups = {(app, _key(value)) for (_, app), value in rows}
    anomalies = set()
    if has_anomalies:
        anomalies = {
            (app, kind) for app, _, kind in _anomaly_rows(con, ("over_assigned", "over_installed"))
        }

    gaps = []
    for row in truth.compliance:
        application = _application(row["application"])
        gap = {"application": application, "sku": row["sku"], "kind": row["kind"]}
        gap["true_up"] = (
            (application, _key(row["sku"])) in true_ups if has_recommendations else None
        )
        gap["anomaly"] = (application, row["kind"]) in anomalies if has_anomalies else None
        gap["found"] = bool(gap["true_up"] or gap["anomaly"])
        gaps.append(gap)
    section.update(planted=len(gaps), found=sum(g["found"] for g in gaps), gaps=gaps)
    if gaps:
        section["recall"] = section["found"] / len(gaps)
    else:
        section["reason"] = "truth has no compliance gap"
    if not has_recommendations:
        section["reason"] = "table recommendations not found in analytics.duckdb: true_up is None"
    elif not has_anomalies:
        section["reason"] = "table usage_anomalies not found in analytics.duckdb: anomaly is None"
    return section


def _score_forecasts(con) -> dict:
    """Return each forecast's latest rolling-origin backtest figures from model_runs.

    These are scored on held-out days of the observed series, not on planted truth.
    """
    runs = _latest_runs(con, "forecast")
    section: dict = {"models": []}
    if not runs:
        section["reason"] = "no model_runs rows for models starting with 'forecast'"
        return section
    for run in runs:
        metrics, baseline = run["metrics"], run["baseline_metrics"]
        section["models"].append(
            {
                "model": run["model"],
                "method": run["parameters"].get("method"),
                "mape": metrics.get("mape"),
                "baseline_mape": baseline.get("mape"),
                "coverage_80": metrics.get("coverage_80"),
                "coverage_80_uncalibrated": metrics.get("coverage_80_uncalibrated"),
                "baseline_coverage_80": baseline.get("coverage_80"),
                "interval_width": metrics.get("interval_width"),
                "baseline_interval_width": baseline.get("interval_width"),
                "interval_scale": run["parameters"].get("interval_scale"),
            }
        )
    return section


def evaluate_demo(demo_dir: Path) -> dict:
    """Score `demo_dir/analytics.duckdb` against `demo_dir/truth/` and return the metrics.

    The result is JSON-serialisable: reclaim precision and recall, the number of
    intermittent licences recommended for reclaim (right answer 0), the adjusted Rand index of
    tiers, upgrade and provisioning ROC-AUC and precision at the top decile, forecast metrics,
    the recall of planted usage anomalies and of planted compliance gaps.

    Each classifier's simple baseline (active days in the last 30 days for upgrades, the
    department peer share for provisioning) is scored against the truth on the same rows as
    the model. `held_out` repeats the classifier's own time-split figures from model_runs,
    which are scored against labels drawn from later usage, not against the truth.
    """
    demo_dir = Path(demo_dir)
    truth = _Truth(demo_dir / "truth")
    database = demo_dir / "analytics.duckdb"
    result: dict = {"demo_dir": str(demo_dir), "as_of": truth.as_of.isoformat()}
    if not database.exists():
        reason = f"{database} not found; run the pipeline on the demo first"
        logger.warning(reason)
        sections = ("reclaim", "tiers", "upgrade", "provisioning", "forecasts")
        for name in sections + ("anomalies", "compliance"):
            result[name] = {"reason": reason}
        result["intermittent_reclaimed"] = None
        return result

    # Opened under an alias: a file named analytics.duckdb is catalog "analytics", and
    # DuckDB rejects "analytics.<table>" as ambiguous between that catalog and the schema.
    con = duckdb.connect()
    con.execute(f"attach '{_sql_text(database)}' as {SNAPSHOT} (read_only)")
    con.execute(f"use {SNAPSHOT}")
    try:
        result["reclaim"], result["intermittent_reclaimed"] = _score_reclaim(con, truth)
        result["intermittent_licenses"] = sum(
            _true(row["is_intermittent"]) for row in truth.licences.values()
        )
        result["tiers"] = _score_tiers(con, truth)
        result["upgrade"] = _score_upgrade(con, truth)
        result["provisioning"] = _score_provisioning(con, truth)
        result["forecasts"] = _score_forecasts(con)
        result["anomalies"] = _score_anomalies(con, truth)
        result["compliance"] = _score_compliance(con, truth)
    finally:
        con.close()
    logger.info("evaluated demo %s", demo_dir)
    return result
