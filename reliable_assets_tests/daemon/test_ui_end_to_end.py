"""Issues 10 and 13: the project as users drive it, through the Dagster UI in a real browser.

One deployment as `make dev` runs it (the rates API, the code location's gRPC server, the
webserver and `dagster-daemon run` on the repo's `dagster.yaml`, benchmarks/dagster_service.py),
a world of the four days up to yesterday, and headless Debian Chromium clicking through it:

1. the global asset graph, groups expanded, shows every asset key of DESIGN.md;
2. from `warehouse/daily_revenue`'s upstream lineage, "Materialize all…" opens the UI's partition
   dialog; three days typed in, "Launch backfill" clicked; the backfill's page reports it
   completed, the asset's partitions are materialized and its checks pass;
3. the sensors and schedules the repo runs by default are switched back on and yesterday's
   landing files arrive: the landing sensor starts yesterday's run and everything downstream
   follows by automation (nothing launched by hand), also the source extract on its cron (every
   minute here, so the test need not wait for 00:15 UTC);
4. a duplicated row planted in the published revenue, `reliable-assets check --record` (what CI
   runs) fails its key check, and the asset's Checks tab shows the check failed.

Each step leaves a screenshot in .artifacts/browser/<test name>/. The automation is stopped
during step 2 only so the landing sensor does not race the backfill for the same days.
"""

import shutil
import subprocess
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import dagster as dg
import duckdb
from playwright.sync_api import Page, expect

from benchmarks.bench_backfill import (
    backfill_status,
    start_automation,
    stop_automation,
    wait_terminal,
    wait_until_idle,
)
from benchmarks.dagster_service import BIN, Service, World, running_service, simulate, temp_world
from reliable_assets.graph_runs import DAILY_ASSETS, SNAPSHOT_ASSETS
from reliable_assets.raw.schedules import SOURCE_CRON_ENV
from reliable_assets_tests.browser import Screenshots, browser_page
from reliable_assets_tests.laps import laps
from reliable_assets_tests.test_definitions import EXPECTED_KEYS

ORDERS_PER_DAY, EVENTS_PER_DAY = 40, 300
UI_TIMEOUT_MS = 60_000
ARIA_POLL_MS = 500
ARIA_POLLS = UI_TIMEOUT_MS // ARIA_POLL_MS
BACKFILL_TIMEOUT_S = 420.0
AUTOMATION_TIMEOUT_S = 420.0
# warehouse/daily_revenue and everything upstream of it: what its lineage's "Materialize all…" targets.
UPSTREAM_OF_REVENUE = (
    "raw/customers", "raw/fx_rates", "raw/orders",
    "warehouse/dim_customers", "warehouse/fact_orders", "warehouse/daily_revenue",
)  # fmt: skip
LATEST_BACKFILL = """
query LatestBackfill { partitionBackfillsOrError(limit: 1) { ... on PartitionBackfills { results { id } } } }
"""


def _missing(instance: dg.DagsterInstance, day: str) -> list[str]:
    """The daily assets without `day` and the snapshot assets never materialized."""
    missing = [
        key
        for key in DAILY_ASSETS
        if day not in instance.get_materialized_partitions(dg.AssetKey.from_user_string(key))
    ]
    return missing + [
        key
        for key in SNAPSHOT_ASSETS
        if instance.get_latest_materialization_event(dg.AssetKey.from_user_string(key)) is None
    ]


def _wait_for_aria_text(page: Page, text: str) -> None:
    """Until the page's accessibility snapshot holds `text` (entries whose parts are separate
    elements read as one line there, as a screen reader says them)."""
    for _ in range(ARIA_POLLS):
        snapshot = page.locator("body").aria_snapshot()
        if text in snapshot:
            return
        page.wait_for_timeout(ARIA_POLL_MS)
    raise AssertionError(f"{text!r} not on the page after {ARIA_POLLS} looks:\n{snapshot}")


def _graph_shows_every_asset_key(page: Page, base: str, shots: Screenshots) -> None:
    page.goto(f"{base}/asset-groups")
    expect(page.get_by_text("Global asset lineage")).to_be_visible(timeout=UI_TIMEOUT_MS)
    expect(page.locator("foreignObject").get_by_text("warehouse", exact=True).first).to_be_visible(
        timeout=UI_TIMEOUT_MS
    )
    page.keyboard.press("Alt+e")  # the graph's "Expand all groups" (its settings menu names the key)
    groups = {key.split("/")[0] for key in EXPECTED_KEYS}
    for key in sorted(EXPECTED_KEYS):
        name = key.split("/")[1]
        node = page.locator("foreignObject").get_by_text(name, exact=True)
        expect(node.first).to_be_attached(timeout=UI_TIMEOUT_MS)
    for group in groups:
        expect(page.locator("foreignObject").get_by_text(group, exact=True).first).to_be_attached()
    shots.take(page, "asset-graph")


def _launch_backfill_from_the_dialog(page: Page, base: str, days: list[date], shots: Screenshots) -> None:
    page.goto(f"{base}/assets/warehouse/daily_revenue?view=lineage&lineageScope=upstream&lineageDepth=5")
    page.get_by_role("button", name="Materialize all…").click(timeout=UI_TIMEOUT_MS)
    dialog = page.get_by_role("dialog")
    expect(dialog.get_by_text("Partition selection")).to_be_visible(timeout=UI_TIMEOUT_MS)
    selection = dialog.get_by_role("textbox").first
    selection.fill(f"[{days[0].isoformat()}...{days[-1].isoformat()}]")  # the dialog's range syntax
    selection.press("Enter")
    expect(dialog.get_by_text(f"{len(days)} partitions", exact=True)).to_be_visible(timeout=UI_TIMEOUT_MS)
    shots.take(page, "backfill-dialog")
    dialog.get_by_role("button", name="Launch backfill").click()
    expect(dialog).to_be_hidden(timeout=UI_TIMEOUT_MS)


def _backfill_completes(page: Page, base: str, service: Service, shots: Screenshots) -> None:
    results = service.gql(LATEST_BACKFILL)["partitionBackfillsOrError"]["results"]
    assert results, "the dialog launched no backfill"
    backfill_id = results[0]["id"]
    statuses, errors, timed_out = wait_terminal(service, [backfill_id], time.monotonic() + BACKFILL_TIMEOUT_S)
    assert not timed_out, f"backfill {backfill_id} still {backfill_status(service, backfill_id)}"
    assert statuses[backfill_id] in {"COMPLETED_SUCCESS", "COMPLETED"}, (statuses, errors)
    page.goto(f"{base}/runs/b/{backfill_id}")
    # One row per asset of daily_revenue's upstream graph, each "100% completed".
    expect(page.get_by_text("100% completed")).to_have_count(len(UPSTREAM_OF_REVENUE), timeout=UI_TIMEOUT_MS)
    for key in UPSTREAM_OF_REVENUE:
        expect(page.get_by_role("link", name=key.replace("/", " / ")).first).to_be_visible()
    shots.take(page, "backfill-completed")


def _partitions_and_checks_pass(page: Page, base: str, days: list[date], shots: Screenshots) -> None:
    page.goto(f"{base}/assets/warehouse/daily_revenue?view=partitions")
    expect(page.get_by_text(f"Materialized ({len(days)})")).to_be_visible(timeout=UI_TIMEOUT_MS)
    expect(page.get_by_text("Failed (0)")).to_be_visible()
    for day in days:
        expect(page.get_by_text(day.isoformat(), exact=True).first).to_be_visible()
    shots.take(page, "revenue-partitions")
    page.goto(f"{base}/assets/warehouse/daily_revenue?view=checks")
    expect(page.get_by_text("day_country_unique").first).to_be_visible(timeout=UI_TIMEOUT_MS)
    # The checks list: one entry per check, "<name> <name> <status>" to assistive technology.
    # (freshness_check is not asserted: it judges yesterday, which is not loaded yet.)
    for check in ("day_country_unique", "schema_contract"):
        _wait_for_aria_text(page, f"{check} {check} Succeeded")
    shots.take(page, "revenue-checks-passed")


def _landing_and_automation_fill_yesterday(
    page: Page, base: str, world: World, held: Path, yesterday: date, shots: Screenshots
) -> None:
    since = time.time()
    shutil.move(held, world.data_dir / "landing" / "events" / yesterday.isoformat())
    deadline = time.monotonic() + AUTOMATION_TIMEOUT_S
    with dg.DagsterInstance.from_config(str(world.home)) as instance:
        while (missing := _missing(instance, yesterday.isoformat())) and time.monotonic() < deadline:
            time.sleep(5)
        runs = [run for run in instance.get_run_records() if run.create_timestamp.timestamp() >= since]
        failed = [r.dagster_run.run_id for r in runs if r.dagster_run.status == dg.DagsterRunStatus.FAILURE]
    assert not missing, f"still missing for {yesterday}: {missing}"
    assert not failed, failed
    tags = [record.dagster_run.tags for record in runs]
    assert any(t.get("dagster/sensor_name") == "landing_zone_sensor" for t in tags), tags
    assert any(t.get("dagster/from_automation_condition") for t in tags), tags
    # Nothing was launched by hand: every run came from a sensor, a schedule or automation.
    assert all(
        t.get("dagster/sensor_name")
        or t.get("dagster/schedule_name")
        or t.get("dagster/from_automation_condition")
        for t in tags
    ), tags
    page.goto(f"{base}/runs")
    expect(page.get_by_text("landing_zone_sensor").first).to_be_visible(timeout=UI_TIMEOUT_MS)
    shots.take(page, "runs-from-sensor-and-automation")


def _failed_check_shows(page: Page, base: str, world: World, day: date, shots: Screenshots) -> None:
    with duckdb.connect(str(world.data_dir / "dwh.duckdb")) as warehouse:
        warehouse.execute(
            "INSERT INTO warehouse.daily_revenue SELECT * FROM warehouse.daily_revenue"
            " WHERE revenue_date = ? LIMIT 1",
            [day],
        )
    command = [
        str(BIN / "reliable-assets"), "check", "--select", "warehouse/daily_revenue",
        "--partition", day.isoformat(), "--record",
    ]  # fmt: skip
    done = subprocess.run(command, env=world.env, capture_output=True, text=True, check=False, timeout=300)
    assert done.returncode == 1, (done.returncode, done.stdout, done.stderr)
    assert "day_country_unique" in done.stdout
    page.goto(f"{base}/assets/warehouse/daily_revenue?view=checks")
    _wait_for_aria_text(page, "day_country_unique day_country_unique Failed")
    page.get_by_text("day_country_unique", exact=True).first.click(timeout=UI_TIMEOUT_MS)
    # The recorded evaluation is per partition: the check's execution history lists it, failed.
    page.get_by_role("tab", name="Execution history").click()
    expect(page.get_by_role("table").filter(has_text="Failed").first).to_be_visible(timeout=UI_TIMEOUT_MS)
    shots.take(page, "revenue-check-failed")


def test_the_ui_backfills_follows_new_data_and_shows_a_failed_check() -> None:
    yesterday = datetime.now(UTC).date() - timedelta(days=1)
    first = yesterday - timedelta(days=3)
    backfill_days = [first + timedelta(days=n) for n in range(3)]
    shots = Screenshots("test_ui_end_to_end")
    started = time.monotonic()
    with temp_world("ui") as world:
        world.env[SOURCE_CRON_ENV] = "* * * * *"
        simulate(world, first.isoformat(), 4, ORDERS_PER_DAY, EVENTS_PER_DAY)
        held = world.root / "held-landing"
        shutil.move(world.data_dir / "landing" / "events" / yesterday.isoformat(), held)
        with running_service(world) as service:
            stopped = stop_automation(service)
            service.start_daemon()
            service.wait_for_daemon()
            base = service.url.removesuffix("/graphql")
            lap = laps(started)
            with browser_page(world.root / "chromium-profile") as page:
                _graph_shows_every_asset_key(page, base, shots)
                lap("deployment up, graph checked")
                _launch_backfill_from_the_dialog(page, base, backfill_days, shots)
                _backfill_completes(page, base, service, shots)
                _partitions_and_checks_pass(page, base, backfill_days, shots)
                lap("UI backfill of 3 days")
                start_automation(service, stopped)
                _landing_and_automation_fill_yesterday(page, base, world, held, yesterday, shots)
                lap("landing -> sensor -> automation")
                wait_until_idle(world.home, quiet_s=10, deadline=time.monotonic() + 120)
                _failed_check_shows(page, base, world, backfill_days[-1], shots)
                lap("failed check")
    print(f"UI end-to-end in {time.monotonic() - started:.0f} s; screenshots: {shots.folder}")
    assert len(shots.taken) == 7
