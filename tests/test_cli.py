"""The licpipe command's argument handling and messages, without running the pipeline."""

from __future__ import annotations

from types import SimpleNamespace

from licpipe import cli


def run(capsys, *argv: str) -> tuple[int, str, str]:
    try:
        code = cli.main(list(argv))
    except SystemExit as stop:
        code = stop.code
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_help_hides_empty_defaults(capsys):
    code, out, _ = run(capsys, "run", "--help")

    assert code == 0
    assert "(default: None)" not in out
    assert "(default: False)" not in out


def test_demo_help_shows_defaults(capsys):
    _, out, _ = run(capsys, "demo", "--help")

    assert "(default: 500)" in out


def test_version_flag(capsys):
    code, out, _ = run(capsys, "--version")

    assert code == 0
    assert out.startswith("licpipe ")


def test_landing_file_rejected(capsys, tmp_path):
    landing = tmp_path / "hostname"
    landing.write_text("x")

    code, _, _ = run(capsys, "run", "--landing", str(landing), "--warehouse", str(tmp_path / "w"))

    assert "is a file" in str(code)


def test_warehouse_folder_rejected(capsys, tmp_path):
    (tmp_path / "landing").mkdir()

    code, _, _ = run(
        capsys, "run", "--landing", str(tmp_path / "landing"), "--warehouse", str(tmp_path)
    )

    assert "is a folder" in str(code)


def test_evaluate_without_truth(capsys, tmp_path):
    code, out, err = run(capsys, "evaluate", "--dir", str(tmp_path))

    assert code == 2
    assert out == ""
    assert "truth/licenses.csv" in err


def test_pull_without_configuration(capsys, tmp_path, monkeypatch):
    for name in (
        "LICPIPE_GRAPH_TENANT_ID",
        "LICPIPE_GRAPH_CLIENT_ID",
        "LICPIPE_GRAPH_CLIENT_SECRET",
        "LICPIPE_OKTA_ORG_URL",
        "LICPIPE_OKTA_API_TOKEN",
    ):
        monkeypatch.delenv(name, raising=False)

    code, _, err = run(capsys, "pull", "--landing", str(tmp_path))

    assert code == 2
    assert "no API is configured" in err
    assert "LICPIPE_OKTA_ORG_URL" in err


def test_pull_partial_configuration(capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("LICPIPE_OKTA_ORG_URL", "http://127.0.0.1:9")
    monkeypatch.delenv("LICPIPE_OKTA_API_TOKEN", raising=False)

    code, _, err = run(capsys, "pull", "--landing", str(tmp_path))

    assert code == 1
    assert err.startswith("licpipe: pull failed:")
    assert "Traceback" not in err


def step_failure(step_key: str, message: str, qualified_class: str = "ValueError"):
    error = SimpleNamespace(
        message=f"{qualified_class}: {message}",
        cause=None,
        cls_name=qualified_class.rsplit(".", 1)[-1],
    )
    return SimpleNamespace(
        is_step_failure=True,
        step_failure_data=SimpleNamespace(error=error),
        step_key=step_key,
        event_type="STEP_FAILURE",
    )


def check_failure(asset: str, severity: str, message: str | None):
    metadata = {"message": SimpleNamespace(value=message)} if message is not None else {}
    evaluation = SimpleNamespace(
        passed=False,
        metadata=metadata,
        check_name="dbt_test",
        severity=SimpleNamespace(value=severity),
        asset_key=SimpleNamespace(to_user_string=lambda: asset),
    )
    return SimpleNamespace(
        is_step_failure=False, event_type="CHECK", asset_check_evaluation_data=evaluation
    )


def test_failures_printed_once_per_message(capsys, tmp_path):
    events = [
        step_failure("usage_tiers", "as-of date is 400 days after the data"),
        step_failure("demand_forecasts", "as-of date is 400 days after the data"),
        step_failure(
            "raw_hr", "hr.csv: missing column email", "dagster._core.definitions.events.Failure"
        ),
        check_failure("marts/int_unmapped_applications", "WARN", None),
        check_failure("raw/hr_directory", "ERROR", "3 of 9 rows unexpected"),
    ]

    cli._print_failures(events, "CHECK", tmp_path / "run.log")
    lines = capsys.readouterr().err.splitlines()

    assert lines[0] == (
        "licpipe: steps usage_tiers, demand_forecasts failed: as-of date is 400 days after the data"
    )
    assert lines[1] == "licpipe: step raw_hr failed: hr.csv: missing column email"
    assert lines[2].startswith("licpipe: quality warning on marts/int_unmapped_applications: ")
    assert "dbt_test" in lines[2]
    assert lines[3] == "licpipe: quality gate failed on raw/hr_directory: 3 of 9 rows unexpected"
    assert len(lines) == 4


def test_folder_warnings_printed(capsys, tmp_path):
    (tmp_path / "entitlement").mkdir()
    (tmp_path / "hr").mkdir()

    cli._print_folder_warnings(tmp_path)
    err = capsys.readouterr().err

    assert "entitlement/ is not a source folder" in err
    assert "Did you mean entitlements?" in err
    assert "hr/" not in err


def test_demo_too_short_rejected(capsys, tmp_path):
    code, _, err = run(capsys, "demo", "--dir", str(tmp_path), "--days", "10")

    assert code == 2
    assert err.startswith("licpipe: days=10")
    assert "Traceback" not in err
