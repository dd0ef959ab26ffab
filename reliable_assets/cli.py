"""`reliable-assets`: the project's console script.

Each subcommand is one `_add_<name>` function that declares its arguments and binds the function
that runs it; adding a subcommand means writing one such pair and listing it in `_SUBCOMMANDS`.
Bad arguments exit with code 2 and a message, as argparse does.
"""

import argparse
import logging
import os
import signal
import sys
import threading
from collections.abc import Callable, Sequence
from datetime import date
from types import FrameType
from typing import TypeAlias

from reliable_assets.log_format import configure_python_logging
from reliable_assets.simulator.config import SimulationConfig
from reliable_assets.simulator.rates_api import DEFAULT_PORT, Faults, RatesAPIServer
from reliable_assets.simulator.run import simulate
from reliable_assets.simulator.timefmt import parse_day

SubParsers: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"
METRICS_PORT = 9464  # the port the OpenTelemetry Prometheus exporter made customary


# Argument types: each raises ArgumentTypeError, which argparse turns into "error: ..." and exit 2.
def _date(text: str) -> date:
    try:
        return parse_day(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def _int_at_least(minimum: int) -> Callable[[str], int]:
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be at least {minimum}, got {value}")
        return value

    return parse


def _fraction(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number between 0 and 1, got {text!r}") from None
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"must be between 0 and 1, got {text}")
    return value


def _non_negative(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, got {text}")
    return value


def _port(text: str) -> int:
    value = _int_at_least(0)(text)
    if value > 65535:
        raise argparse.ArgumentTypeError(f"must be a port number from 0 to 65535, got {value}")
    return value


# simulate
def _add_simulate(subparsers: SubParsers) -> None:
    parser = subparsers.add_parser(
        "simulate",
        help="write the source database and landing files for a run of days (deterministic)",
        description="Write the source database (customers, orders) and the landing zone (hourly event "
        "files) of the deployment in DAGSTER_DEPLOYMENT (staging: customer names and emails replaced "
        "by pseudonyms keyed by STAGING_PSEUDONYM_KEY). Same arguments, same bytes.",
    )
    parser.add_argument("--start", type=_date, required=True, help="first simulated day, YYYY-MM-DD")
    parser.add_argument("--days", type=_int_at_least(1), required=True, help="number of days (at least 1)")
    parser.add_argument("--seed", type=int, default=7, help="random seed (default 7)")
    parser.add_argument("--orders-per-day", type=_int_at_least(0), default=200, help="default 200")
    parser.add_argument("--events-per-day", type=_int_at_least(0), default=2000, help="default 2000")
    parser.add_argument(
        "--bad-rate", type=_fraction, default=0.0, help="share of invalid orders and malformed lines (0..1)"
    )
    parser.add_argument(
        "--late-rate",
        type=_fraction,
        default=0.05,
        help="share of files that arrive late (0..1, default 0.05)",
    )
    parser.set_defaults(run=_run_simulate)


def _run_simulate(args: argparse.Namespace) -> int:
    config = SimulationConfig(
        start=args.start,
        days=args.days,
        seed=args.seed,
        orders_per_day=args.orders_per_day,
        events_per_day=args.events_per_day,
        bad_rate=args.bad_rate,
        late_rate=args.late_rate,
    )
    from reliable_assets.settings import DeploymentNotReadyError, UnknownDeploymentError  # noqa: PLC0415
    from reliable_assets.simulator.targets import writers_for_deployment  # noqa: PLC0415 (loads dagster)
    from reliable_assets.toolkit.pseudonyms import PseudonymKeyError  # noqa: PLC0415

    try:
        source_writer, landing_writer = writers_for_deployment()
    except (DeploymentNotReadyError, UnknownDeploymentError, PseudonymKeyError) as error:
        print(f"reliable-assets simulate: {error}", file=sys.stderr)
        return 2
    summary = simulate(config, source_writer, landing_writer)
    print(f"simulated {config.days} day(s) from {config.start.isoformat()} (seed {config.seed})")
    for line in summary.lines():
        print(line)
    return 0


# rates-api
def _add_rates_api(subparsers: SubParsers) -> None:
    parser = subparsers.add_parser(
        "rates-api",
        help="serve the FX rates API on 127.0.0.1 with injectable faults",
        description="Serve GET /v1/rates?date=YYYY-MM-DD and GET /health on 127.0.0.1 until interrupted.",
    )
    parser.add_argument(
        "--port", type=_port, default=DEFAULT_PORT, help=f"default {DEFAULT_PORT}; 0 picks a free port"
    )
    parser.add_argument("--fail-rate", type=_fraction, default=0.0, help="share of requests answered 503")
    parser.add_argument("--slow-rate", type=_fraction, default=0.0, help="share of requests answered slowly")
    parser.add_argument("--slow-seconds", type=_non_negative, default=2.0, help="delay of a slow answer")
    parser.add_argument(
        "--rate-limit", type=_int_at_least(1), default=None, help="requests per second before 429"
    )
    parser.add_argument(
        "--token",
        default=None,
        help="require 'Authorization: Bearer <token>' (default: $RATES_API_TOKEN; none when unset)",
    )
    parser.add_argument("--seed", type=int, default=7, help="seed of the fault draws (default 7)")
    parser.set_defaults(run=_run_rates_api)


def _run_rates_api(args: argparse.Namespace) -> int:
    faults = Faults(
        fail_rate=args.fail_rate,
        slow_rate=args.slow_rate,
        slow_seconds=args.slow_seconds,
        rate_limit=args.rate_limit,
        token=args.token or os.environ.get("RATES_API_TOKEN") or None,
        seed=args.seed,
    )
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    stop = _stop_on_signals()
    with RatesAPIServer(args.port, faults) as server:
        auth = "bearer token required" if faults.token else "no token required"
        print(f"rates API listening on {server.url} ({auth}); stop with Ctrl-C", flush=True)
        stop.wait()
    print("rates API stopped", flush=True)
    return 0


def _add_check(subparsers: SubParsers) -> None:
    parser = subparsers.add_parser(
        "check",
        help="run the asset checks on what is published; exit 1 if an ERROR check fails",
        description="Runs only the checks (no materialization) against what the assets published: "
        "raw files, model files and warehouse tables.",
    )
    parser.add_argument(
        "--select", help="asset keys or groups (raw, warehouse, ml), comma-separated (e.g. raw/orders,ml)"
    )
    parser.add_argument("--partition", help="one daily partition, e.g. 2024-01-02")
    parser.add_argument("--partition-range", help="daily partitions A...B, e.g. 2024-01-01...2024-01-07")
    parser.add_argument(
        "--record",
        action="store_true",
        help="also store the results in the Dagster instance ($DAGSTER_HOME) as asset check evaluations",
    )
    parser.set_defaults(run=_run_check)


def _run_check(args: argparse.Namespace) -> int:
    from reliable_assets.check_command import CheckSelectionError, check_main  # noqa: PLC0415 (heavy)

    try:
        return check_main(args.select, args.partition, args.partition_range, record=args.record)
    except (CheckSelectionError, ValueError) as error:
        print(f"reliable-assets check: {error}", file=sys.stderr)
        return 2


def _add_metrics(subparsers: SubParsers) -> None:
    parser = subparsers.add_parser(
        "metrics",
        help="serve Prometheus metrics of the Dagster instance and the warehouse on 127.0.0.1",
        description="Serve GET /metrics (Prometheus text) from the instance in $DAGSTER_HOME and the"
        " deployment's warehouse until interrupted; every scrape reads them afresh.",
    )
    parser.add_argument(
        "--port", type=_port, default=METRICS_PORT, help=f"default {METRICS_PORT}; 0 picks a free port"
    )
    parser.add_argument(
        "--host",
        default="127.0.0.1",
        help="address to bind (default 127.0.0.1: the endpoint has no authentication and names"
        " assets, jobs and volumes; bind wider only where the network admits just Prometheus)",
    )
    parser.set_defaults(run=_run_metrics)


def _run_metrics(args: argparse.Namespace) -> int:
    from reliable_assets.ops.metrics import MetricsSetupError, serve_metrics  # noqa: PLC0415 (heavy)
    from reliable_assets.settings import DeploymentNotReadyError, UnknownDeploymentError  # noqa: PLC0415

    stop = _stop_on_signals()
    try:
        with serve_metrics(args.host, args.port) as url:
            print(f"metrics on {url}; stop with Ctrl-C", flush=True)
            stop.wait()
    except (MetricsSetupError, DeploymentNotReadyError, UnknownDeploymentError) as error:
        print(f"reliable-assets metrics: {error}", file=sys.stderr)
        return 2
    print("metrics stopped", flush=True)
    return 0


def _stop_on_signals() -> threading.Event:
    """An event set by SIGTERM (what `make dev` sends) or Ctrl-C, so servers shut down cleanly."""
    stop = threading.Event()

    def request_stop(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    return stop


_SUBCOMMANDS: tuple[Callable[[SubParsers], None], ...] = (
    _add_simulate,
    _add_rates_api,
    _add_check,
    _add_metrics,
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="reliable-assets",
        description="Simulate the sources, serve the rates API, check the assets, serve metrics.",
    )
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for add in _SUBCOMMANDS:
        add(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `reliable-assets` console script; returns the exit code."""
    args = build_parser().parse_args(argv)
    configure_python_logging()
    code: int = args.run(args)
    return code


if __name__ == "__main__":
    sys.exit(main())
