"""``winback model fit``: the BG/NBD churn model of a shop's history, for the predictive trigger."""

from __future__ import annotations

from pathlib import Path

import click
import orjson

from streams.cli.backtest import Moment
from streams.cli.errors import CommandError
from streams.cli.history import history_options, read_events, report_rejections
from streams.core.churn_model import DAY

YEAR = 365 * DAY
FIT_MODULES = {"scipy", "numpy"}  # the optional `fit` extra (pyproject.toml), left out of the worker's image
FIT_MISSING = "`winback model fit` needs scipy, which the worker image leaves out: pip install '.[fit]' in a checkout (make venv does)"


@click.group("model")
def model() -> None:
    """The churn model behind the policy's predictive trigger (docs/policy.md, predictive)."""


@model.command("fit")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), required=True, help="Write the model (JSON) here.")
@click.option("--until", type=Moment(), default=None, help="End of the calibration period (default: the history's last event).")
@history_options
def fit(paths: tuple[Path, ...], out: Path, until: float | None, mapping: str | None, time_format: str | None) -> None:
    """Fit a BG/NBD model (Fader, Hardie & Lee 2005) to the purchases in history files.

    PATHS are JSON-lines, CSV or Parquet files, read as one history as by `winback backfill`.
    Every customer with a purchase up to --until counts: their repeat purchases, and the days
    from their first purchase to their latest and to the end of the period. The parameters are
    found by maximum likelihood and printed with the log-likelihood; the model file (dated by
    the data, so a rerun writes the same file) is what the policy's predictive.model names.
    It needs scipy, the optional `fit` extra (pip install '.[fit]'; the worker image leaves it out).
    """
    try:  # scipy is heavy, and not in the worker's image: only this command loads it
        from streams.backtest.churn_fit import FitError, buyers_of, fit as fit_model
    except ModuleNotFoundError as error:
        if error.name not in FIT_MODULES:
            raise
        raise CommandError(FIT_MISSING) from None

    history = read_events(paths, mapping, time_format)
    try:
        result = fit_model(buyers_of(history, until))
    except FitError as error:
        raise CommandError(str(error)) from None
    finally:
        report_rejections(history)
    written = result.as_dict()
    try:
        out.write_bytes(orjson.dumps(written, option=orjson.OPT_INDENT_2) + b"\n")
    except OSError as error:
        raise CommandError(f"{out}: cannot write the model: {error.strerror}") from None
    for line in _summary(written, result.model.expected_purchases(YEAR / result.model.unit_seconds)):
        click.echo(line)
    click.echo(f"wrote {out}")


def _summary(written: dict, first_year: float) -> list[str]:
    """The fit in a few lines: what it was fitted on, the parameters, the log-likelihood."""
    parameters, period = written["parameters"], written["calibration"]
    return [
        f"BG/NBD fit: {written['customers']:,} customers ({written['repeat_buyers']:,} repeat buyers), "
        f"{written['purchases']:,} purchases, calibration {period['from']} .. {period['until']}",
        f"  r      {parameters['r']:.4f}    purchase rate ~ Gamma(r, alpha)",
        f"  alpha  {parameters['alpha']:.4f}    (days)",
        f"  a      {parameters['a']:.4f}    drop-out after a purchase ~ Beta(a, b)",
        f"  b      {parameters['b']:.4f}",
        f"  log-likelihood  {written['log_likelihood']:.2f}",
        f"  a new customer's expected repeat purchases in their first year: {first_year:.2f}",
    ]
