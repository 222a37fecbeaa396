"""The `licpipe` command: run the pipeline, generate and score the demo, pull from APIs."""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from datetime import date
from pathlib import Path

from licpipe import settings


def _date(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a date; use YYYY-MM-DD") from None


def _configure_environment(args: argparse.Namespace) -> settings.Settings:
    """Point the Dagster definitions at this run's folders before they are imported."""
    landing = Path(args.landing).resolve()
    warehouse = Path(args.warehouse).resolve()
    if not landing.is_dir():
        raise SystemExit(f"licpipe: landing folder {landing} does not exist.")
    os.environ[settings.ENV_LANDING] = str(landing)
    os.environ[settings.ENV_WAREHOUSE] = str(warehouse)
    os.environ.pop(settings.ENV_AS_OF, None)
    if getattr(args, "as_of", None):
        os.environ[settings.ENV_AS_OF] = args.as_of.isoformat()
    if getattr(args, "log_date", None):
        os.environ[settings.ENV_LOG_DATE] = args.log_date.isoformat()
    return settings.load_settings()


def run_pipeline(config: settings.Settings, *, retrain: bool = False) -> bool:
    """Materialise every asset in this process; return True when the run succeeded."""
    from dagster import DagsterEventType, DagsterInstance

    from licpipe.definitions import defs

    job = defs.resolve_job_def("retrain" if retrain else "nightly")
    with DagsterInstance.ephemeral() as instance:
        result = job.execute_in_process(instance=instance, raise_on_error=False)
        if not result.success:
            for event in result.all_events:
                if event.is_step_failure:
                    error = event.step_failure_data.error if event.step_failure_data else None
                    # The first error wraps the asset's own exception; report the innermost.
                    while error is not None and error.cause is not None:
                        error = error.cause
                    message = error.message.strip() if error is not None else ""
                    print(f"licpipe: step {event.step_key} failed: {message}", file=sys.stderr)
            for event in result.all_events:
                if event.event_type != DagsterEventType.ASSET_CHECK_EVALUATION:
                    continue
                evaluation = event.asset_check_evaluation_data
                if not evaluation.passed:
                    text = evaluation.metadata.get("message")
                    print(
                        f"licpipe: quality gate on {evaluation.asset_key.to_user_string()} "
                        f"failed: {text.value if text else ''}",
                        file=sys.stderr,
                    )
        return result.success


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
            "select currency, sum(annual_saving) from recommendations "
            "where status = 'open' group by currency order by currency"
        ).fetchall()
        alerts = con.execute("select count(*) from quality_alerts").fetchone()[0]
    finally:
        con.close()
    saving = ", ".join(f"{total:,.2f} {currency}" for currency, total in totals) or "0.00"
    print(f"licpipe: {count} open recommendations, total annual saving {saving}")
    print(f"licpipe: quality alerts: {alerts}")
    print(f"licpipe: warehouse  {config.warehouse_path}")
    print(f"licpipe: analytics  {path}")
    print(f"licpipe: query it with: duckdb -readonly {path} 'from recommendations limit 10'")


def cmd_run(args: argparse.Namespace) -> int:
    config = _configure_environment(args)
    ok = run_pipeline(config, retrain=args.command == "retrain")
    print_summary(config)
    return 0 if ok else 1


def cmd_demo(args: argparse.Namespace) -> int:
    from licpipe.demo import generate

    out = Path(args.dir).resolve()
    manifest = generate(out, users=args.users, days=args.days, seed=args.seed)
    print(
        f"licpipe: demo organisation written to {out / 'landing'} ({manifest.get('users')} people)"
    )
    args.landing = out / "landing"
    args.warehouse = out / "warehouse.duckdb"
    args.as_of = None
    args.log_date = None
    config = _configure_environment(args)
    ok = run_pipeline(config)
    print_summary(config)
    print(f"licpipe: planted truth in {out / 'truth'}")
    return 0 if ok else 1


def cmd_evaluate(args: argparse.Namespace) -> int:
    from licpipe.evaluation import evaluate_demo

    metrics = evaluate_demo(Path(args.dir).resolve())
    print(json.dumps(metrics, indent=2, sort_keys=True, default=str))
    return 0


def cmd_pull(args: argparse.Namespace) -> int:
    from licpipe.pull import pull_all

    written = pull_all(Path(args.landing).resolve(), today=args.today or date.today())
    for path in written:
        print(f"licpipe: wrote {path}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="licpipe", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    for name, help_text in (
        ("run", "materialise every asset for the exports in a landing folder"),
        ("retrain", "the same run, refitting every classifier instead of reusing saved ones"),
    ):
        run = commands.add_parser(name, help=help_text)
        run.add_argument("--landing", required=True, help="folder holding <source>/ export folders")
        run.add_argument("--warehouse", required=True, help="warehouse DuckDB file to write")
        run.add_argument(
            "--as-of", type=_date, help="as-of date YYYY-MM-DD (default: latest in data)"
        )
        run.add_argument(
            "--log-date", type=_date, help="date for FlexLM logs that start with no date line"
        )
        run.set_defaults(handler=cmd_run)

    demo = commands.add_parser("demo", help="generate the demo organisation and run the pipeline")
    demo.add_argument("--dir", default=str(settings.DEFAULT_DEMO_DIR), help="output folder")
    demo.add_argument("--users", type=int, default=500, help="people in the organisation")
    demo.add_argument("--days", type=int, default=180, help="days of history")
    demo.add_argument("--seed", type=int, default=7, help="random seed")
    demo.set_defaults(handler=cmd_demo)

    evaluate = commands.add_parser("evaluate", help="score a demo run against its planted truth")
    evaluate.add_argument("--dir", default=str(settings.DEFAULT_DEMO_DIR), help="demo folder")
    evaluate.set_defaults(handler=cmd_evaluate)

    pull = commands.add_parser("pull", help="download exports from configured APIs")
    pull.add_argument("--landing", required=True, help="landing folder to write into")
    pull.add_argument("--today", type=_date, help="reference date for date= pulls")
    pull.set_defaults(handler=cmd_pull)
    return parser


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    args = build_parser().parse_args(argv)
    return args.handler(args)


if __name__ == "__main__":
    sys.exit(main())
