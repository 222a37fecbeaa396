from datetime import datetime

import pytest

from licpipe.connectors import decisions
from licpipe.connectors.base import SourceFileError

HEADER = "recommendation_id,user_email,application,sku,action,decision,decided_at,decided_by,note\n"


def _write(tmp_path, body):
    path = tmp_path / "decisions.csv"
    path.write_text(HEADER + body)
    return path


def test_valid_decisions_land(tmp_path):
    path = _write(
        tmp_path,
        "r-1,ana@example.com,Slack,Slack Business+,reclaim,accepted,2026-12-16 09:00:00,it-ops,\n"
        "r-2,ben@example.com,Adobe,CC All Apps,reclaim,Rejected,2026-12-16,it-ops,"
        '"on leave, back in Q1"\n'
        "r-3,,AcmeCAD,CAD_PRO,right_size, DEFERRED ,,,\n",
    )

    parsed = decisions.parse_file(path)
    rows = parsed.tables["decisions"]

    assert decisions.detect(path, path.read_text())
    assert [row["decision"] for row in rows] == ["accepted", "rejected", "deferred"]
    assert rows[0]["decided_at"] == datetime(2026, 12, 16, 9, 0)
    assert rows[1]["note"] == "on leave, back in Q1"
    assert rows[2]["user_email"] is None
    assert rows[2]["decided_at"] is None
    assert [row["_line_number"] for row in rows] == [2, 3, 4]
    assert parsed.rows_landed + len(parsed.rejects) == parsed.records_total == 3


def test_invalid_values_rejected(tmp_path):
    path = _write(
        tmp_path,
        "r-1,ana@example.com,Slack,Biz,reclaim,approved,,,\n"
        "r-2,ana@example.com,Slack,Biz,delete,accepted,,,\n"
        "r-3,ana@example.com,Slack,Biz,reclaim,accepted,tomorrow,,\n"
        ",ana@example.com,Slack,Biz,reclaim,accepted,,,\n"
        "r-5,ana@example.com,Slack\n",
    )

    parsed = decisions.parse_file(path)
    reasons = {reject.line_number: reject.reason for reject in parsed.rejects}

    assert parsed.rows_landed == 0
    assert "'approved'" in reasons[2]
    assert "accepted, rejected, deferred" in reasons[2]
    assert "'delete'" in reasons[3]
    assert "decided_at" in reasons[4]
    assert "recommendation_id" in reasons[5]
    assert "3 fields" in reasons[6]
    assert parsed.rows_landed + len(parsed.rejects) == parsed.records_total == 5


def test_missing_decision_column_raises(tmp_path):
    path = tmp_path / "decisions.csv"
    path.write_text("recommendation_id,note\nr-1,x\n")

    with pytest.raises(SourceFileError, match="decision"):
        decisions.parse_file(path)
