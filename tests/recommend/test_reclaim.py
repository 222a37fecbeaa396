from datetime import date, timedelta

import pandas as pd

from licpipe.ml.features import build_user_features
from licpipe.recommend.reclaim import find_reclaim_candidates
from tests.ml.frames import assignment, frame, person, usage_rows

AS_OF = date(2026, 12, 15)


def days_back(*offsets: int) -> list[date]:
    return [AS_OF - timedelta(days=o) for o in offsets]


def reclaim(usage, assignments, users, **options) -> pd.DataFrame:
    usage_frame, assignment_frame, user_frame = frame(usage), frame(assignments), frame(users)
    features = build_user_features(usage_frame, assignment_frame, user_frame, AS_OF)
    result = find_reclaim_candidates(features, assignment_frame, user_frame, AS_OF, **options)
    return result.set_index("user_key")


def base_usage() -> list[dict]:
    # A busy user keeps the usage history 200 days long for every test.
    return usage_rows("busy@x.com", "sf", days_back(*range(0, 200, 3)))


def test_quarter_end_user_is_intermittent():
    quarter_days = [date(2026, 6, 24), date(2026, 6, 29), date(2026, 7, 1)]
    quarter_days += [date(2026, 9, 23), date(2026, 9, 28), date(2026, 9, 30)]
    usage = base_usage() + usage_rows("fin@x.com", "sf", quarter_days)
    assignments = [assignment("fin@x.com", "sf", "SF_ENT", date(2025, 1, 1))]

    result = reclaim(usage, assignments, [person("fin@x.com"), person("busy@x.com")])

    assert result.loc["fin@x.com", "status"] == "intermittent"
    assert result.loc["fin@x.com", "days_since_last_use"] == 76
    assert result.loc["fin@x.com", "next_expected_on"] == date(2026, 12, 22)
    assert "next expected on 2026-12-22" in result.loc["fin@x.com", "reason"]


def test_terminated_user_reclaimed_at_once():
    usage = base_usage() + usage_rows("gone@x.com", "sf", days_back(2))
    assignments = [assignment("gone@x.com", "sf", "SF_ENT", date(2025, 1, 1))]
    users = [person("gone@x.com", hr_status="terminated", termination_date=date(2026, 12, 10))]

    result = reclaim(usage, assignments, users)

    assert result.loc["gone@x.com", "status"] == "reclaim"
    assert "Terminated in HR on 2026-12-10" in result.loc["gone@x.com", "reason"]


def test_deprovisioned_idp_reclaimed():
    usage = base_usage() + usage_rows("off@x.com", "sf", days_back(1))
    assignments = [assignment("off@x.com", "sf", "SF_ENT", date(2025, 1, 1))]

    result = reclaim(usage, assignments, [person("off@x.com", idp_status="DEPROVISIONED")])

    assert result.loc["off@x.com", "status"] == "reclaim"
    assert "deprovisioned" in result.loc["off@x.com", "reason"]


def test_idle_user_reclaimed_and_active_user_absent():
    usage = base_usage() + usage_rows("idle@x.com", "sf", days_back(75))
    assignments = [
        assignment("idle@x.com", "sf", "SF_ENT", date(2025, 1, 1)),
        assignment("busy@x.com", "sf", "SF_ENT", date(2025, 1, 1)),
    ]

    result = reclaim(usage, assignments, [person("idle@x.com"), person("busy@x.com")])

    assert result.loc["idle@x.com", "status"] == "reclaim"
    assert result.loc["idle@x.com", "last_used_on"] == AS_OF - timedelta(days=75)
    assert "busy@x.com" not in result.index


def test_grace_period_for_new_assignment():
    assignments = [
        assignment("new@x.com", "sf", "SF_ENT", AS_OF - timedelta(days=20)),
        assignment("old@x.com", "sf", "SF_ENT", AS_OF - timedelta(days=120)),
    ]

    result = reclaim(base_usage(), assignments, [person("new@x.com"), person("old@x.com")])

    assert result.loc["new@x.com", "status"] == "grace"
    assert result.loc["old@x.com", "status"] == "reclaim"
    assert "Never used since" in result.loc["old@x.com", "reason"]


def test_exemptions_are_not_reclaimed():
    assignments = [
        assignment(user, "sf", "SF_ENT", date(2025, 1, 1))
        for user in ["leave@x.com", "svc@x.com", "vip@x.com"]
    ]
    users = [
        person("leave@x.com", hr_status="leave"),
        person("svc@x.com", is_service_account=True, is_in_hr=False),
        person("vip@x.com", is_exempt_from_reclaim=True),
    ]

    result = reclaim(base_usage(), assignments, users)

    assert set(result["status"]) == {"exempt"}
    assert "on leave" in result.loc["leave@x.com", "reason"]
    assert "service account" in result.loc["svc@x.com", "reason"]


def test_idle_external_guest_reclaimed():
    assignments = [assignment("guest@partner.example", "sf", "SF_ENT", date(2025, 1, 1))]
    users = [person("guest@partner.example", is_external=True, is_in_hr=False)]

    result = reclaim(base_usage(), assignments, users)

    assert result.loc["guest@partner.example", "status"] == "reclaim"


def test_per_application_window():
    usage = base_usage() + usage_rows("cad@x.com", "cad", days_back(45))
    usage += usage_rows("busy@x.com", "cad", days_back(0))
    assignments = [assignment("cad@x.com", "cad", "CAD_PRO", date(2025, 1, 1))]

    default = reclaim(usage, assignments, [person("cad@x.com")])
    short = reclaim(usage, assignments, [person("cad@x.com")], per_application_days={"cad": 30})

    assert "cad@x.com" not in default.index
    assert short.loc["cad@x.com", "status"] == "reclaim"


def test_days_idle_clipped_to_history():
    features = pd.DataFrame(
        {
            "user_key": ["old@x.com"],
            "application_id": ["sf"],
            "last_used_on": [date(1970, 1, 2)],
            "days_since_last_use": [20_801],
            "history_days": [180],
            "is_periodic": [False],
            "period_days": [None],
            "next_expected_on": [None],
        }
    )
    assignments = frame([assignment("old@x.com", "sf", "SF_ENT", date(2025, 1, 1))])

    result = find_reclaim_candidates(features, assignments, frame([person("old@x.com")]), AS_OF)

    assert result["days_since_last_use"].tolist() == [180]


def test_unmeasured_application_not_reclaimed():
    # Nobody's use of "cc" is in any source: idle there means unmeasured, not unused.
    assignments = [
        assignment("jane@x.com", "cc", "CC_ALL", date(2025, 1, 1)),
        assignment("sam@x.com", "cc", "CC_ALL", date(2025, 1, 1)),
    ]
    users = [
        person("jane@x.com"),
        person("sam@x.com", hr_status="terminated", termination_date=date(2026, 11, 1)),
        person("busy@x.com"),
    ]

    result = reclaim(base_usage(), assignments, users)

    assert result.loc["jane@x.com", "status"] == "no_usage_data"
    assert "No loaded source reports use of CC," in result.loc["jane@x.com", "reason"]
    assert result.loc["sam@x.com", "status"] == "reclaim"
    assert "Terminated in HR" in result.loc["sam@x.com", "reason"]


def test_deleted_account_reclaimed_at_once():
    usage = base_usage() + usage_rows("del@x.com", "sf", days_back(1))
    assignments = [assignment("del@x.com", "sf", "SF_ENT", date(2025, 1, 1))]
    users = [
        person("busy@x.com"),
        person("del@x.com", account_status="deleted", m365_deleted_date=date(2026, 12, 1)),
    ]

    result = reclaim(usage, assignments, users)

    assert result.loc["del@x.com", "status"] == "reclaim"
    assert "deleted in Microsoft 365 on 2026-12-01" in result.loc["del@x.com", "reason"]


def test_conflicting_deleted_flag_held_for_review():
    usage = base_usage() + usage_rows("odd@x.com", "sf", days_back(90))
    assignments = [assignment("odd@x.com", "sf", "SF_ENT", date(2025, 1, 1))]
    users = [person("busy@x.com"), person("odd@x.com", account_status="deleted_flag_conflict")]

    result = reclaim(usage, assignments, users)

    assert result.loc["odd@x.com", "status"] == "review"
    assert "check the account" in result.loc["odd@x.com", "reason"]


def test_absent_from_report_is_not_inactive():
    usage = base_usage() + usage_rows("gone@x.com", "sf", days_back(90))
    m365_seat = assignment("gone@x.com", "sf", "E3", date(2025, 1, 1)) | {"source": "m365"}
    users = [
        person("busy@x.com"),
        person(
            "gone@x.com",
            m365_report_status="absent_from_report",
            m365_last_reported_on=date(2026, 11, 1),
        ),
    ]

    result = reclaim(usage, [m365_seat], users)

    assert result.loc["gone@x.com", "status"] == "absent_from_report"
    assert "since 2026-11-01" in result.loc["gone@x.com", "reason"]


def test_exemption_column_from_dim_users():
    usage = base_usage() + usage_rows("kept@x.com", "sf", days_back(90))
    assignments = [assignment("kept@x.com", "sf", "SF_ENT", date(2025, 1, 1))]
    users = [
        person("busy@x.com"),
        person("kept@x.com", is_exempt_from_reclaim=None, is_exempt_from_reclamation=True),
    ]

    result = reclaim(usage, assignments, users)

    assert result.loc["kept@x.com", "status"] == "exempt"
