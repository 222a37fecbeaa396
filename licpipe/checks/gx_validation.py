"""Run Great Expectations 1.x expectations on a pandas frame read from DuckDB.

One ephemeral data context serves the whole process: importing GX costs about 3 s and a
context about 20 ms, so neither is repeated per suite.
"""

from __future__ import annotations

import functools
import logging
import threading

import pandas as pd

from licpipe.checks.results import ExpectationResult, plain_examples, plain_value

logger = logging.getLogger(__name__)

DATASOURCE_NAME = "licpipe"
BATCH_DEFINITION_NAME = "whole_table"
INDEX_KEY = "licpipe_index"

_lock = threading.Lock()


@functools.cache
def gx_context():
    """Return the process-wide ephemeral GX context, with progress bars off."""
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    context.data_sources.add_pandas(DATASOURCE_NAME)
    return context


def _batch_definition(asset_name: str):
    datasource = gx_context().data_sources.get(DATASOURCE_NAME)
    try:
        asset = datasource.get_asset(asset_name)
    except LookupError:
        asset = datasource.add_dataframe_asset(asset_name)
    try:
        return asset.get_batch_definition(BATCH_DEFINITION_NAME)
    except KeyError:
        return asset.add_batch_definition_whole_dataframe(BATCH_DEFINITION_NAME)


def run_expectations(
    suite_name: str,
    frame: pd.DataFrame,
    expectations: list[tuple[int, str, dict, str, str]],
) -> dict[int, ExpectationResult]:
    """Validate `frame` against (index, type, kwargs, severity, label) expectations.

    Returns results keyed by the caller's index. An expectation that raised inside GX is a
    failed result whose detail carries the exception message.
    """
    import great_expectations as gx
    from great_expectations.expectations.expectation_configuration import (
        ExpectationConfiguration,
    )

    if not expectations:
        return {}

    suite = gx.ExpectationSuite(name=suite_name)
    by_index = {}
    for index, expectation_type, kwargs, severity, label in expectations:
        configuration = ExpectationConfiguration(
            type=expectation_type, kwargs=kwargs, meta={INDEX_KEY: index}
        )
        suite.add_expectation_configuration(configuration)
        by_index[index] = (severity, label)

    with _lock:
        batch = _batch_definition(suite_name).get_batch(batch_parameters={"dataframe": frame})
        validation = batch.validate(
            suite, result_format={"result_format": "SUMMARY", "partial_unexpected_count": 5}
        )

    results: dict[int, ExpectationResult] = {}
    for item in validation.results:
        index = item.expectation_config.meta.get(INDEX_KEY)
        if index not in by_index:
            continue
        severity, label = by_index[index]
        results[index] = _to_result(item, severity, label)
    return results


def _to_result(item, severity: str, label: str) -> ExpectationResult:
    exception = item.exception_info or {}
    if exception.get("raised_exception") or not item.result:
        message = exception.get("exception_message") or _first_exception_message(exception)
        detail = f"{label} could not be evaluated: {message}"
        return ExpectationResult(label, False, 0, [], severity, detail)

    result = item.result
    unexpected = int(result.get("unexpected_count") or 0)
    # Null values carry no information as examples, so a not-null failure lists none.
    values = [v for v in result.get("partial_unexpected_list") or [] if plain_value(v) is not None]
    examples = plain_examples(values)
    if item.success:
        return ExpectationResult(label, True, unexpected, examples, severity, "")

    element_count = result.get("element_count")
    if "observed_value" in result and "unexpected_count" not in result:
        detail = f"{label}: observed {result['observed_value']}"
    else:
        detail = f"{label}: {unexpected} of {element_count} rows unexpected"
    return ExpectationResult(label, False, unexpected, examples, severity, detail)


def _first_exception_message(exception: dict) -> str:
    """GX nests per-metric exception info under metric ids when a metric fails to resolve."""
    for value in exception.values():
        if isinstance(value, dict) and value.get("exception_message"):
            return str(value["exception_message"])
    return "unknown error inside Great Expectations"
