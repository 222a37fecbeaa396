"""Usage tiers per application: a non-user rule, then KMeans on standardised activity."""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
from sklearn.cluster import KMeans
from sklearn.metrics import silhouette_score
from sklearn.preprocessing import StandardScaler

logger = logging.getLogger(__name__)

# Tier names from the highest activity to none, for sorting tiers in reports.
TIER_ORDER = ["power", "regular", "light", "non-user"]

# Tier names from the highest cluster centre down, by effective k.
TIER_LABELS_BY_K = {1: ["light"], 2: ["power", "light"], 3: ["power", "regular", "light"]}

NON_USER_CLUSTER = -1

KMEANS_N_INIT = 10

OPTIONAL_FEATURES = ["events_90", "minutes_90", "sessions_90"]


def _feature_matrix(group: pd.DataFrame, window_days: int) -> np.ndarray:
    """Return log1p activity features, keeping optional measures only where any are non-null."""
    columns = [f"active_days_{window_days}", "active_days_30"]
    columns += [c for c in OPTIONAL_FEATURES if c in group.columns and group[c].notna().any()]
    values = group[list(dict.fromkeys(columns))].astype(float).fillna(0.0).clip(lower=0.0)
    return np.log1p(values.to_numpy())


def _cluster_group(
    matrix: np.ndarray, max_k: int, random_state: int
) -> tuple[np.ndarray, int, dict]:
    """Cluster one application's active users and return ranks with 0 as the highest centre.

    Effective k is the smaller of max_k and the number of distinct rows, because KMeans cannot
    place more centres than there are distinct points.
    """
    n = len(matrix)
    distinct = len(np.unique(matrix, axis=0))
    k = min(max_k, distinct)
    if k <= 1:
        return np.zeros(n, dtype=int), k, {"inertia": 0.0, "silhouette": None}

    scaled = StandardScaler().fit_transform(matrix)
    model = KMeans(n_clusters=k, n_init=KMEANS_N_INIT, random_state=random_state).fit(scaled)

    # Ordering by the sum of standardised centre coordinates keeps labels stable between runs.
    order = np.argsort(-model.cluster_centers_.sum(axis=1))
    rank_of_cluster = np.empty(k, dtype=int)
    rank_of_cluster[order] = np.arange(k)
    ranks = rank_of_cluster[model.labels_]

    silhouette = None
    if 2 <= k <= n - 1:
        silhouette = float(silhouette_score(scaled, model.labels_))
    return ranks, k, {"inertia": float(model.inertia_), "silhouette": silhouette}


def assign_tiers(
    features: pd.DataFrame,
    *,
    window_days: int = 90,
    random_state: int = 0,
    max_k: int = 3,
) -> tuple[pd.DataFrame, dict]:
    """Assign each user and application a tier: power, regular, light or non-user.

    Non-user is a rule: no active day and no last use in the last window_days. The other users of each
    application are clustered with KMeans on standardised log1p activity. Clusters are named
    from the highest centre down: power, regular and light for three clusters, power and light
    for two, and light for one. cluster is the rank from the lowest centre (0) upward, and -1
    for non-users.

    Returns:
        The tier frame (user_key, application_id, tier, cluster, effective_k) and metrics per
        application_id: effective_k, inertia, silhouette (None when undefined), n, n_non_user.
    """
    if not 1 <= max_k <= 3:
        raise ValueError(f"max_k={max_k!r} is invalid: tiers support 1 to 3 clusters")
    activity_column = f"active_days_{window_days}"
    if activity_column not in features.columns:
        raise ValueError(
            f"features has no column {activity_column!r}: build features with a "
            f"{window_days}-day window"
        )

    frames = []
    metrics: dict = {}
    for application_id, group in features.groupby("application_id", sort=True):
        group = group.sort_values("user_key")
        active_mask = group[activity_column].fillna(0).to_numpy() > 0
        if "days_since_last_use" in group.columns:
            # A use the window counts miss (a backfilled day before a report's first refresh)
            # still shows the person used the application within the window.
            since = pd.to_numeric(group["days_since_last_use"], errors="coerce").to_numpy()
            active_mask |= np.nan_to_num(since, nan=np.inf) < window_days
        active = group[active_mask]

        tiers = np.full(len(group), "non-user", dtype=object)
        clusters = np.full(len(group), NON_USER_CLUSTER, dtype=int)
        k = 0
        fit_metrics: dict = {"inertia": None, "silhouette": None}
        if len(active):
            ranks, k, fit_metrics = _cluster_group(
                _feature_matrix(active, window_days), max_k, random_state
            )
            labels = TIER_LABELS_BY_K[max(k, 1)]
            tiers[active_mask] = [labels[r] for r in ranks]
            clusters[active_mask] = max(k, 1) - 1 - ranks

        frames.append(
            pd.DataFrame(
                {
                    "user_key": group["user_key"].to_numpy(),
                    "application_id": application_id,
                    "tier": tiers,
                    "cluster": clusters,
                    "effective_k": k,
                }
            )
        )
        metrics[application_id] = {
            "effective_k": k,
            "inertia": fit_metrics["inertia"],
            "silhouette": fit_metrics["silhouette"],
            "n": len(group),
            "n_non_user": int((~active_mask).sum()),
        }
        logger.info(
            "tiered %s: %d users, %d non-users, effective k %d",
            application_id,
            len(group),
            int((~active_mask).sum()),
            k,
        )

    columns = ["user_key", "application_id", "tier", "cluster", "effective_k"]
    result = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=columns)
    return result[columns], metrics
