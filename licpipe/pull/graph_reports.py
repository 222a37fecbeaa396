"""Microsoft Graph usage-report puller that writes the m365 landing CSVs.

It authenticates with the OAuth 2.0 client-credentials grant against Microsoft Entra ID and calls
the `reports` functions of Graph v1.0. CSV reports respond with a 302 redirect to a short-lived
pre-authenticated download URL. The client follows it without the bearer token, because that
host needs no token and must not receive one.
"""

from __future__ import annotations

import logging
import os
import re
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

import requests

from licpipe.pull.http import (
    PullError,
    RetryingClient,
    read_setting,
    redact_url,
    require_secure_url,
    same_origin,
    write_atomically,
)
from licpipe.pull.report_columns import (
    DATE_WINDOW_DAYS,
    PERIODS,
    REPORTS,
    ReportCsvWriter,
    ReportSpec,
)

logger = logging.getLogger(__name__)

ENV_TENANT_ID = "LICPIPE_GRAPH_TENANT_ID"
ENV_CLIENT_ID = "LICPIPE_GRAPH_CLIENT_ID"
ENV_CLIENT_SECRET = "LICPIPE_GRAPH_CLIENT_SECRET"
# Optional, for national clouds such as login.microsoftonline.us and graph.microsoft.us.
ENV_AUTHORITY = "LICPIPE_GRAPH_AUTHORITY"
ENV_GRAPH_BASE = "LICPIPE_GRAPH_BASE_URL"

GRAPH_SCOPE = "https://graph.microsoft.com/.default"

# A cached token is replaced this long before Entra ID's expiry, so no request carries a token
# that expires in flight.
TOKEN_REFRESH_MARGIN_SECONDS = 300.0

REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
MAX_DOWNLOAD_REDIRECTS = 5

# Tenant ids are GUIDs or verified domain names, and both are safe inside the token URL path.
_TENANT_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9.-]*$")


def _utc_today() -> date:
    return datetime.now(UTC).date()


class GraphReportsClient:
    """Client for Graph usage reports with a cached app-only token and bounded retries."""

    def __init__(
        self,
        tenant_id: str,
        client_id: str,
        client_secret: str,
        *,
        authority: str = "https://login.microsoftonline.com",
        graph_base: str = "https://graph.microsoft.com/v1.0",
        max_retries: int = 5,
        backoff_seconds: float = 1.0,
        timeout: float = 30.0,
        sleep: Callable[[float], None] = time.sleep,
        today: Callable[[], date] = _utc_today,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        if not _TENANT_PATTERN.match(tenant_id):
            raise ValueError(
                f"tenant_id={tenant_id!r} is not a tenant GUID or domain name; give the "
                "Directory (tenant) ID from the app registration"
            )
        if not client_id or not client_secret:
            raise ValueError("client_id and client_secret must both be non-empty")

        self.tenant_id = tenant_id
        self.client_id = client_id
        self._client_secret = client_secret
        self.authority = require_secure_url(authority, setting="authority")
        self.graph_base = require_secure_url(graph_base, setting="graph_base")
        self.today = today
        self.monotonic = monotonic
        self.http = RetryingClient(
            max_retries=max_retries, backoff_seconds=backoff_seconds, timeout=timeout, sleep=sleep
        )
        self._token: str | None = None
        self._token_expires_at = 0.0

    def __repr__(self) -> str:
        return f"GraphReportsClient(tenant_id={self.tenant_id!r}, client_id={self.client_id!r})"

    @classmethod
    def from_env(cls, **options: Any) -> GraphReportsClient:
        """Build a client from LICPIPE_GRAPH_TENANT_ID, _CLIENT_ID and _CLIENT_SECRET.

        LICPIPE_GRAPH_AUTHORITY and LICPIPE_GRAPH_BASE_URL, when set, replace the defaults of
        `authority` and `graph_base` unless `options` gives them.
        """
        for variable, option in ((ENV_AUTHORITY, "authority"), (ENV_GRAPH_BASE, "graph_base")):
            value = os.environ.get(variable, "").strip()
            if value:
                options.setdefault(option, value)
        return cls(
            read_setting(ENV_TENANT_ID),
            read_setting(ENV_CLIENT_ID),
            read_setting(ENV_CLIENT_SECRET),
            **options,
        )

    def download_report(
        self,
        report: str,
        *,
        period: str | None = None,
        date: date | None = None,
        dest_dir: Path,
    ) -> Path:
        """Download one report's CSV to `dest_dir/<Report>_<period or date>.csv` and return it.

        The bytes are written as served, byte-order mark included. Raises ValueError for a
        parameter the report does not accept and PullError when Graph or the download fails.
        """
        spec, suffix = self._check_parameters(report, period, date)
        url = self._report_url(spec, period, date)
        description = f"Graph report {spec.function}({suffix or 'no parameters'})"
        logger.info("downloading %s", description)

        response = self._graph_get(
            url, description=description, spec=spec, ok_statuses=(200, *REDIRECT_STATUSES)
        )
        if response.status_code in REDIRECT_STATUSES:
            response = self._follow_download(response, url, description=description)
        body = response.content
        _check_report_csv(body, spec, description=description)

        path = write_atomically(Path(dest_dir) / _file_name(spec, suffix), [body])
        logger.info("wrote %s (%d bytes)", path, len(body))
        return path

    def fetch_json_report(
        self,
        report: str,
        *,
        period: str | None = None,
        date: date | None = None,
        dest_dir: Path,
    ) -> Path:
        """Fetch a report as JSON, following `@odata.nextLink`, and write it as the report CSV.

        The file has the CSV download's name, headers and value spellings, so the m365
        connector reads both forms alike. Not every report serves JSON on Graph v1.0.
        """
        spec, suffix = self._check_parameters(report, period, date)
        url: str | None = self._report_url(spec, period, date) + "?$format=application/json"
        description = f"Graph report {spec.function}({suffix or 'no parameters'}) as JSON"
        logger.info("fetching %s", description)

        writer = ReportCsvWriter(spec)
        pages = 0
        while url:
            response = self._graph_get(url, description=description, spec=spec)
            payload = _json_body(response, description=description)
            writer.add_page(payload.get("value") or [])
            pages += 1

            url = payload.get("@odata.nextLink")
            if url and not same_origin(url, self.graph_base):
                raise PullError(
                    f"{description}: @odata.nextLink points to {redact_url(url)}, outside "
                    f"{self.graph_base}; the bearer token is not sent there, so check graph_base"
                )

        missing = writer.missing_headers()
        if missing:
            logger.warning("%s: no JSON property for columns %s; left empty", description, missing)
        path = write_atomically(Path(dest_dir) / _file_name(spec, suffix), [writer.to_bytes()])
        logger.info("wrote %s (%d rows from %d pages)", path, writer.rows, pages)
        return path

    def fetch_display_concealed_names(self) -> bool:
        """Return the tenant's `displayConcealedNames` report setting.

        When it is true, reports carry 32-hex pseudonyms in place of user names, which cannot
        be joined to the directory. Reading it needs ReportSettings.Read.All.
        """
        url = f"{self.graph_base}/admin/reportSettings"
        description = "Graph admin/reportSettings"
        response = self._graph_get(url, description=description, spec=None)
        payload = _json_body(response, description=description)
        return bool(payload.get("displayConcealedNames"))

    def _check_parameters(
        self, report: str, period: str | None, report_date: date | None
    ) -> tuple[ReportSpec, str]:
        """Validate the parameters for `report` and return its spec and file-name suffix."""
        spec = REPORTS.get(report)
        if spec is None:
            raise ValueError(f"report={report!r} is not supported; use one of {sorted(REPORTS)}")
        if period is not None and report_date is not None:
            raise ValueError(f"{report}: give period or date, not both")

        if period is not None:
            if not spec.takes_period:
                raise ValueError(f"{report} takes no period; call it without period")
            if period not in PERIODS:
                raise ValueError(f"{report}: period={period!r} is invalid; use one of {PERIODS}")
            return spec, period

        if report_date is not None:
            if not spec.takes_date:
                raise ValueError(f"{report} takes no date; call it with period instead")
            today = self.today()
            earliest = today - timedelta(days=DATE_WINDOW_DAYS)
            if not earliest <= report_date <= today:
                raise ValueError(
                    f"{report}: date={report_date.isoformat()} is outside the {DATE_WINDOW_DAYS}"
                    f" days Graph keeps ({earliest.isoformat()} to {today.isoformat()}); use a "
                    "period report for older data"
                )
            return spec, report_date.isoformat()

        if spec.takes_period or spec.takes_date:
            raise ValueError(f"{report} needs period or date")
        return spec, ""

    def _report_url(self, spec: ReportSpec, period: str | None, report_date: date | None) -> str:
        if period is not None:
            return f"{self.graph_base}/reports/{spec.function}(period='{period}')"
        if report_date is not None:
            return f"{self.graph_base}/reports/{spec.function}(date={report_date.isoformat()})"
        return f"{self.graph_base}/reports/{spec.function}"

    def _access_token(self) -> str:
        """Return a cached app-only token, requesting a new one shortly before expiry."""
        now = self.monotonic()
        if self._token is not None and now < self._token_expires_at:
            return self._token

        url = f"{self.authority}/{self.tenant_id}/oauth2/v2.0/token"
        description = f"token request for tenant {self.tenant_id}"
        form = {
            "grant_type": "client_credentials",
            "client_id": self.client_id,
            "client_secret": self._client_secret,
            "scope": GRAPH_SCOPE,
        }
        response = self.http.request("POST", url, description=description, data=form)
        if response.status_code != 200:
            raise PullError(
                f"{description} failed with HTTP {response.status_code} "
                f"({_token_error(response)}); "
                f"check {ENV_TENANT_ID}, {ENV_CLIENT_ID} and that the client secret has not "
                "expired"
            )

        payload = _json_body(response, description=description)
        token = payload.get("access_token")
        if not isinstance(token, str) or not token:
            raise PullError(f"{description} returned no access_token; check the authority URL")
        lifetime = float(payload.get("expires_in", 3599))
        self._token = token
        self._token_expires_at = now + max(lifetime - TOKEN_REFRESH_MARGIN_SECONDS, lifetime / 2)
        logger.info("obtained a Graph token for tenant %s, valid %.0f s", self.tenant_id, lifetime)
        return token

    def _graph_get(
        self,
        url: str,
        *,
        description: str,
        spec: ReportSpec | None,
        ok_statuses: tuple[int, ...] = (200,),
    ) -> requests.Response:
        """GET a Graph URL with the bearer token, turning error statuses into PullError."""
        headers = {"Authorization": f"Bearer {self._access_token()}"}
        response = self.http.request(
            "GET", url, description=description, headers=headers, ok_statuses=ok_statuses
        )
        if response.status_code in ok_statuses:
            return response

        if response.status_code in (401, 403):
            # A revoked or expired token shows as 401; the next call fetches a fresh one.
            self._token = None
            if spec is None:
                permission = "ReportSettings.Read.All"
            else:
                permission = "Reports.Read.All"
            token_hint = ""
            if response.status_code == 401:
                token_hint = (
                    f"Graph rejected the token, so check {ENV_TENANT_ID} and {ENV_CLIENT_ID}. "
                    "Also, "
                )
            raise PullError(
                f"{description} was denied with HTTP {response.status_code} "
                f"({_graph_error(response)}); {token_hint}"
                f"the app registration needs the Microsoft Graph application permission "
                f"{permission} with admin consent granted for the tenant"
            )
        raise PullError(
            f"{description} failed with HTTP {response.status_code} "
            f"({_graph_error(response)}) from "
            f"{redact_url(url)}; check the report name and parameters"
        )

    def _follow_download(
        self, response: requests.Response, report_url: str, *, description: str
    ) -> requests.Response:
        """Follow the redirect chain to the pre-authenticated download, sending no token."""
        url = report_url
        for _ in range(MAX_DOWNLOAD_REDIRECTS):
            location = response.headers.get("Location")
            if not location:
                raise PullError(
                    f"{description}: HTTP {response.status_code} without a Location header; "
                    "retry later"
                )
            url = urljoin(url, location)
            try:
                require_secure_url(url, setting="download Location")
            except ValueError:
                raise PullError(
                    f"{description}: the download URL {redact_url(url)} is not https; rejected"
                ) from None

            response = self.http.request(
                "GET",
                url,
                description=f"{description} download",
                ok_statuses=(200, *REDIRECT_STATUSES),
            )
            if response.status_code == 200:
                return response
            if response.status_code not in REDIRECT_STATUSES:
                raise PullError(
                    f"{description}: the download from {redact_url(url)} failed with HTTP "
                    f"{response.status_code}; the pre-authenticated URL lasts only minutes, so "
                    "run the pull again"
                )
        raise PullError(f"{description}: more than {MAX_DOWNLOAD_REDIRECTS} redirects; rejected")


def _file_name(spec: ReportSpec, suffix: str) -> str:
    if suffix:
        return f"{spec.file_stem}_{suffix}.csv"
    return f"{spec.file_stem}.csv"


def _check_report_csv(body: bytes, spec: ReportSpec, *, description: str) -> None:
    """Raise PullError unless `body` starts with the report's first header."""
    first_line = body[:4096].decode("utf-8-sig", errors="replace").splitlines()[:1]
    if not first_line or not first_line[0].startswith(spec.headers[0]):
        start = first_line[0][:60] if first_line else ""
        raise PullError(
            f"{description}: the download is not a report CSV (it starts with {start!r}); "
            "nothing was written, so run the pull again"
        )


def _json_body(response: requests.Response, *, description: str) -> dict[str, Any]:
    try:
        payload = response.json()
    except ValueError:
        raise PullError(f"{description}: the response is not JSON; check the URL") from None
    if not isinstance(payload, dict):
        raise PullError(f"{description}: expected a JSON object, got {type(payload).__name__}")
    return payload


def _graph_error(response: requests.Response) -> str:
    """Return Graph's `error.code: error.message`, which carry no credentials."""
    try:
        error = response.json().get("error", {})
    except (ValueError, AttributeError):
        return "no error details"
    if not isinstance(error, dict):
        return "no error details"
    message = str(error.get("message", ""))[:200]
    return f"{error.get('code', 'unknown')}: {message}".rstrip(": ")


def _token_error(response: requests.Response) -> str:
    """Return the OAuth error code and the AADSTS number, never the request or the token."""
    try:
        payload = response.json()
    except ValueError:
        return "no error details"
    if not isinstance(payload, dict):
        return "no error details"
    code = str(payload.get("error", "unknown"))
    match = re.search(r"AADSTS\d+", str(payload.get("error_description", "")))
    return f"{code} {match.group(0)}" if match else code
