"""The `licpipe` command: run the pipeline, generate and score the demo, pull from APIs."""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from contextlib import redirect_stderr, redirect_stdout
from datetime import UTC, date, datetime
from pathlib import Path

from licpipe import settings


class _HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Show an option's default in its help only when it has one."""

    def _get_help_string(self, action: argparse.Action) -> str:
        if action.default is None or action.default is False or action.required:
            return action.help or ""
        return super()._get_help_string(action)


def _date(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a date; use YYYY-MM-DD") from None


def _configure_environment(args: argparse.Namespace) -> settings.Settings:
    """Point the Dagster definitions at this run's folders before they are imported."""
    from licpipe.warehouse import check_writable, claim_output_folder

    landing = Path(args.landing).resolve()
    warehouse = Path(args.warehouse).resolve()
    if landing.exists() and not landing.is_dir():
        raise SystemExit(
            f"licpipe: landing path {landing} is a file; pass the folder that contains the "
            "<source>/ export folders."
        )
    if not landing.is_dir():
        raise SystemExit(f"licpipe: landing folder {landing} does not exist.")
    try:
        check_writable(warehouse)
        claim_output_folder(warehouse)
    except (PermissionError, FileExistsError) as error:
        raise SystemExit(f"licpipe: {error}") from None
    os.environ[settings.ENV_LANDING] = str(landing)
    os.environ[settings.ENV_WAREHOUSE] = str(warehouse)
    os.environ.pop(settings.ENV_AS_OF, None)
    if getattr(args, "as_of", None):
        os.environ[settings.ENV_AS_OF] = args.as_of.isoformat()
    if getattr(args, "log_date", None):
        os.environ[settings.ENV_LOG_DATE] = args.log_date.isoformat()
    return settings.load_settings()


def run_pipeline(
    config: settings.Settings, *, retrain: bool = False, log_level: str = "WARNING"
) -> bool:
    """Materialise every asset in this process; return True when the run succeeded."""
    from dagster import DagsterEventType, DagsterInstance

    from licpipe.definitions import defs

    job = defs.resolve_job_def("retrain" if retrain else "nightly")
    run_config = {"loggers": {"console": {"config": {"log_level": log_level}}}}
    if retrain:
        run_config["ops"] = {
            "upgrade_predictions": {"config": {"retrain": True}},
            "provisioning_predictions": {"config": {"retrain": True}},
        }
    log_dir = config.warehouse_path.parent / "logs"
    log_dir.mkdir(parents=True, exist_ok=True)
    log_path = log_dir / f"run-{datetime.now(UTC):%Y%m%dT%H%M%SZ}.log"
    with DagsterInstance.ephemeral() as instance:
        if log_level == "DEBUG":
            result = job.execute_in_process(
                instance=instance, raise_on_error=False, run_config=run_config
            )
        else:
            # dbt's progress lines and library chatter go to the run log, not the terminal.
            with (
                log_path.open("w") as log_file,
                redirect_stdout(log_file),
                redirect_stderr(log_file),
            ):
                handler = logging.StreamHandler(log_file)
                logging.getLogger().addHandler(handler)
                try:
                    result = job.execute_in_process(
                        instance=instance, raise_on_error=False, run_config=run_config
                    )
                finally:
                    logging.getLogger().removeHandler(handler)
            print(f"licpipe: run log  {log_path}")
        _print_failures(result.all_events, DagsterEventType.ASSET_CHECK_EVALUATION, log_path)
        return result.success


def _error_text(error) -> str:
    """Return an error's message without its `module.ExceptionClass: ` prefix."""
    message = error.message.strip()
    prefix, separator, rest = message.partition(": ")
    class_name = getattr(error, "cls_name", None)
    if separator and class_name and prefix.split(".")[-1] == class_name:
        return rest.strip()
    return message


def _print_failures(events, check_event_type, log_path: Path) -> None:
    """Print each failed step once per distinct error, then every failed or warning check."""
    steps_by_message: dict[str, list[str]] = {}
    for event in events:
        if not event.is_step_failure:
            continue
        error = event.step_failure_data.error if event.step_failure_data else None
        # The first error wraps the asset's own exception; report the innermost.
        while error is not None and error.cause is not None:
            error = error.cause
        message = _error_text(error) if error is not None else f"see {log_path}"
        steps_by_message.setdefault(message, []).append(event.step_key)
    for message, steps in steps_by_message.items():
        noun = "step" if len(steps) == 1 else "steps"
        print(f"licpipe: {noun} {', '.join(steps)} failed: {message}", file=sys.stderr)

    for event in events:
        if event.event_type != check_event_type:
            continue
        evaluation = event.asset_check_evaluation_data
        if evaluation.passed:
            continue
        text = evaluation.metadata.get("message")
        message = text.value if text and text.value else f"{evaluation.check_name}; see {log_path}"
        severity = getattr(evaluation.severity, "value", str(evaluation.severity))
        kind = "quality warning" if severity == "WARN" else "quality gate failed"
        print(
            f"licpipe: {kind} on {evaluation.asset_key.to_user_string()}: {message}",
            file=sys.stderr,
        )


def print_summary(config: settings.Settings) -> None:
    import duckdb

    path = config.analytics_path
    if not path.exists():
        print(f"licpipe: no snapshot was published at {path}.")
        return
    con = duckdb.connect(str(path), read_only=True)
    try:
        count = con.execute(
            "select count(*) from recommendations where status = 'open'"
        ).fetchone()[0]
        totals = con.execute(
            "select currency, sum(annual_saving) filter (where annual_saving > 0), "
            "sum(annual_saving) filter (where annual_saving < 0), sum(annual_saving) "
            "from recommendations where status = 'open' and currency is not null "
            "group by currency order by currency"
        ).fetchall()
        alerts = con.execute("select count(*) from quality_alerts").fetchone()[0]
    finally:
        con.close()
    warehouse_con = duckdb.connect(str(config.warehouse_path), read_only=True)
    try:
        rejected = warehouse_con.execute("select count(*) from raw.rejects").fetchone()[0]
    finally:
        warehouse_con.close()
    saving = "; ".join(
        f"{(net or 0):,.2f} {currency} (savings {(gain or 0):,.2f}, costs {-(cost or 0):,.2f})"
        for currency, gain, cost, net in totals
    ) or (
        "0.00"
        if count == 0
        else "none priced (no entitlement prices: check the entitlements folder)"
    )
    print(f"licpipe: {count} open recommendations, total annual saving {saving}")
    print(f"licpipe: quality alerts: {alerts}; rejected lines in raw.rejects: {rejected}")
    print(f"licpipe: warehouse  {config.warehouse_path}")
    print(f"licpipe: analytics  {path}")
    print(f"licpipe: report     {path.parent / 'report.html'}")
    print(
        f'licpipe: query it with: {sys.executable} -c "import duckdb; '
        f"print(duckdb.connect('{path}', read_only=True).sql('from recommendations limit 10'))\""
    )


def _log_level(args: argparse.Namespace) -> str:
    return "DEBUG" if getattr(args, "verbose", False) else "WARNING"


def _report(config: settings.Settings, ok: bool) -> int:
    if not ok:
        print(
            "licpipe: the run failed, so the snapshot was not replaced; the figures below are "
            "from the last successful run.",
            file=sys.stderr,
        )
    print_summary(config)
    return 0 if ok else 1


def _print_folder_warnings(landing: Path) -> None:
    from licpipe.landing_folders import folder_warnings

    for warning in folder_warnings(landing):
        print(f"licpipe: {warning}", file=sys.stderr)


def cmd_run(args: argparse.Namespace) -> int:
    config = _configure_environment(args)
    ok = run_pipeline(config, retrain=args.command == "retrain", log_level=_log_level(args))
    _print_folder_warnings(Path(args.landing).resolve())
    return _report(config, ok)


def cmd_demo(args: argparse.Namespace) -> int:
    from licpipe.demo import generate

    out = Path(args.dir).resolve()
    try:
        manifest = generate(out, users=args.users, days=args.days, seed=args.seed)
    except ValueError as error:
        print(f"licpipe: {error}", file=sys.stderr)
        return 2
    print(
        f"licpipe: demo organisation written to {out / 'landing'} ({manifest.get('users')} people)"
    )
    args.landing = out / "landing"
    args.warehouse = out / "warehouse.duckdb"
    # The demo ends on a fixed date that may lie ahead of the machine's clock, and dates past
    # the clock are not trusted as the as-of date, so the run is given the demo's own date.
    args.as_of = date.fromisoformat(manifest["as_of"])
    args.log_date = None
    config = _configure_environment(args)
    ok = run_pipeline(config, log_level=_log_level(args))
    status = _report(config, ok)
    print(f"licpipe: planted truth in {out / 'truth'}")
    return status


def cmd_evaluate(args: argparse.Namespace) -> int:
    from licpipe.evaluation import evaluate_demo

    demo_dir = Path(args.dir).resolve()
    if not (demo_dir / "truth" / "licenses.csv").is_file():
        print(
            f"licpipe: {demo_dir} holds no planted truth (truth/licenses.csv); evaluate scores "
            "a folder written by `licpipe demo --dir DIR`.",
            file=sys.stderr,
        )
        return 2
    metrics = evaluate_demo(demo_dir)
    print(json.dumps(metrics, indent=2, sort_keys=True, default=str))
    return 0


def cmd_pull(args: argparse.Namespace) -> int:
    from licpipe.pull import PullError, configured_providers, pull_all

    if not configured_providers():
        print(
            "licpipe: no API is configured, so nothing was pulled. Set the Microsoft Graph "
            "(LICPIPE_GRAPH_TENANT_ID, LICPIPE_GRAPH_CLIENT_ID, LICPIPE_GRAPH_CLIENT_SECRET) or "
            "Okta (LICPIPE_OKTA_ORG_URL, LICPIPE_OKTA_API_TOKEN) variables; see .env.example.",
            file=sys.stderr,
        )
        return 2
    try:
        written = pull_all(Path(args.landing).resolve(), today=args.today or date.today())
    except PullError as error:
        print(f"licpipe: pull failed: {error}", file=sys.stderr)
        return 1
    for path in written:
        print(f"licpipe: wrote {path}")
    return 0


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("licpipe")
    except PackageNotFoundError:
        return "unknown (not installed)"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="licpipe", description=__doc__)
    parser.add_argument("--version", action="version", version=f"licpipe {_version()}")
    commands = parser.add_subparsers(dest="command", required=True)
    defaults = _HelpFormatter

    for name, help_text in (
        ("run", "materialise every asset for the exports in a landing folder"),
        ("retrain", "the same run, refitting every classifier instead of reusing saved ones"),
    ):
        run = commands.add_parser(name, help=help_text, formatter_class=defaults)
        run.add_argument("--landing", required=True, help="folder holding <source>/ export folders")
        run.add_argument("--warehouse", required=True, help="warehouse DuckDB file to write")
        run.add_argument(
            "--as-of", type=_date, help="as-of date YYYY-MM-DD; without it, the latest in the data"
        )
        run.add_argument(
            "--log-date", type=_date, help="date for FlexLM logs that start with no date line"
        )
        run.add_argument("--verbose", action="store_true", help="print every Dagster event")
        run.set_defaults(handler=cmd_run)

    demo = commands.add_parser(
        "demo", help="generate the demo organisation and run the pipeline", formatter_class=defaults
    )
    demo.add_argument("--dir", default=str(settings.DEFAULT_DEMO_DIR), help="output folder")
    demo.add_argument("--users", type=int, default=500, help="people in the organisation")
    demo.add_argument("--days", type=int, default=180, help="days of history")
    demo.add_argument("--seed", type=int, default=7, help="random seed")
    demo.add_argument("--verbose", action="store_true", help="print every Dagster event")
    demo.set_defaults(handler=cmd_demo)

    evaluate = commands.add_parser(
        "evaluate", help="score a demo run against its planted truth", formatter_class=defaults
    )
    evaluate.add_argument("--dir", default=str(settings.DEFAULT_DEMO_DIR), help="demo folder")
    evaluate.set_defaults(handler=cmd_evaluate)

    pull = commands.add_parser(
        "pull", help="download exports from configured APIs", formatter_class=defaults
    )
    pull.add_argument("--landing", required=True, help="landing folder to write into")
    pull.add_argument(
        "--today", type=_date, help="reference date YYYY-MM-DD for date= pulls; without it, today"
    )
    pull.set_defaults(handler=cmd_pull)
    return parser


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    # Libraries set their own loggers to INFO; the terminal shows warnings and errors only.
    for handler in logging.getLogger().handlers:
        handler.setLevel(logging.WARNING)
    args = build_parser().parse_args(argv)
    return args.handler(args)


if __name__ == "__main__":
    sys.exit(main())
