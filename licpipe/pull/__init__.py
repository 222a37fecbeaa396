"""API pullers that write landing files in the same formats as the manual exports.

Microsoft Graph usage reports land in `<landing>/m365/` and Okta users and System Log events in
`<landing>/okta/`, so the file-drop connectors read pulled and exported files alike.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

from licpipe.pull.graph_reports import (
    ENV_CLIENT_ID,
    ENV_CLIENT_SECRET,
    ENV_TENANT_ID,
    GraphReportsClient,
)
from licpipe.pull.http import MissingSettingError, PullError
from licpipe.pull.okta_api import ENV_API_TOKEN, ENV_ORG_URL, OktaClient

__all__ = [
    "GraphReportsClient",
    "MissingSettingError",
    "OktaClient",
    "PullError",
    "pull_all",
]

logger = logging.getLogger(__name__)

# Graph publishes a day's usage 24 to 48 hours late, so daily pulls stop this many days back.
# NOTE: a day pulled before Graph finished it is not pulled again, because existing files are
# skipped. The lag is an estimate from Microsoft's admin documentation.
GRAPH_LAG_DAYS = 2
DAILY_BACKFILL_DAYS = 27

PERIOD_REPORTS = (
    ("getOffice365ActiveUserCounts", "D180"),
    ("getM365AppUserDetail", "D30"),
    ("getTeamsUserActivityUserDetail", "D30"),
)

# The first System Log pull reaches this far back, and later pulls start where the last written
# file ended. No pull reaches back further than Okta's retention of about 90 days (an estimate).
OKTA_FIRST_PULL_DAYS = 7
OKTA_RETENTION_DAYS = 90
_SYSTEM_LOG_NAME = re.compile(r"^system_log_\d{8}T\d{6}Z_(\d{8}T\d{6}Z)\.ndjson$")


PROVIDER_VARIABLES = {
    "Microsoft Graph": (ENV_TENANT_ID, ENV_CLIENT_ID, ENV_CLIENT_SECRET),
    "Okta": (ENV_ORG_URL, ENV_API_TOKEN),
}


def configured_providers() -> list[str]:
    """Return the providers with at least one of their environment variables set."""
    return [
        provider
        for provider, variables in PROVIDER_VARIABLES.items()
        if any(os.environ.get(name, "").strip() for name in variables)
    ]


def pull_all(landing: Path, *, today: date) -> list[Path]:
    """Pull every provider whose environment variables are set and return the files written.

    A provider with none of its variables set is skipped and logged. One with only some set,
    or whose pull fails, is logged and reported in the PullError raised after the other
    providers have run.
    """
    landing = Path(landing)
    providers: list[tuple[str, tuple[str, ...], Callable[[Path, date], list[Path]]]] = [
        ("Microsoft Graph", PROVIDER_VARIABLES["Microsoft Graph"], _pull_graph),
        ("Okta", PROVIDER_VARIABLES["Okta"], _pull_okta),
    ]

    written: list[Path] = []
    failures: list[str] = []
    for provider, variables, pull in providers:
        if not any(os.environ.get(name, "").strip() for name in variables):
            logger.info("skipping %s: none of %s is set", provider, ", ".join(variables))
            continue
        try:
            written.extend(pull(landing, today))
        except PullError as exc:
            logger.error("%s pull failed: %s", provider, exc)
            failures.append(f"{provider}: {exc}")

    if failures:
        raise PullError(
            f"{len(failures)} provider pull(s) failed after writing {len(written)} files: "
            + " | ".join(failures)
        )
    logger.info("pulled %d files into %s", len(written), landing)
    return written


def _pull_graph(landing: Path, today: date) -> list[Path]:
    """Pull missing daily active-user files, the period reports and the activations report."""
    client = GraphReportsClient.from_env(today=lambda: today)
    dest = landing / "m365"
    _warn_if_concealed(client)

    written = []
    for offset in range(DAILY_BACKFILL_DAYS, GRAPH_LAG_DAYS - 1, -1):
        day = today - timedelta(days=offset)
        if (dest / f"Office365ActiveUserDetail_{day.isoformat()}.csv").exists():
            continue
        written.append(
            client.download_report("getOffice365ActiveUserDetail", date=day, dest_dir=dest)
        )

    for report, period in PERIOD_REPORTS:
        written.append(client.download_report(report, period=period, dest_dir=dest))
    written.append(client.download_report("getOffice365ActivationsUserDetail", dest_dir=dest))
    return written


def _warn_if_concealed(client: GraphReportsClient) -> None:
    """Log a warning when reports carry concealed user names, which match no directory user."""
    try:
        concealed = client.fetch_display_concealed_names()
    except PullError as exc:
        logger.warning("could not read the concealed-names report setting: %s", exc)
        return
    if concealed:
        logger.warning(
            "Microsoft 365 reports show concealed user names, so usage cannot be matched to "
            "people; turn off 'Display concealed user, group, and site names in all reports' "
            "under Settings > Org settings > Reports in the admin center"
        )


def _pull_okta(landing: Path, today: date) -> list[Path]:
    """Pull all users and the System Log from where the last pull ended up to today 00:00 UTC."""
    client = OktaClient.from_env()
    dest = landing / "okta"
    written = [client.list_users(dest)]

    until = datetime.combine(today, time.min, tzinfo=UTC)
    since = _last_log_end(dest) or until - timedelta(days=OKTA_FIRST_PULL_DAYS)
    since = max(since, until - timedelta(days=OKTA_RETENTION_DAYS))
    if since >= until:
        logger.info("Okta System Log already pulled up to %s", since.isoformat())
        return written

    log_file = client.pull_system_log(dest, since, until)
    if log_file is not None:
        written.append(log_file)
    return written


def _last_log_end(dest: Path) -> datetime | None:
    """Return the latest `until` among earlier System Log pulls in `dest`, if any."""
    ends = []
    for path in dest.glob("system_log_*.ndjson"):
        match = _SYSTEM_LOG_NAME.match(path.name)
        if match:
            ends.append(datetime.strptime(match.group(1), "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC))
    return max(ends, default=None)
