"""What the simulated sources hold: realistic shapes, and every injected fault where the manifest says."""

import json
import re
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from reliable_assets.simulator.customers import COUNTRIES
from reliable_assets.simulator.events import EVENT_TYPES
from reliable_assets.simulator.orders import STATUSES
from reliable_assets.simulator.rates import CURRENCIES
from reliable_assets.simulator.run import SimulationSummary
from reliable_assets_tests.simulator.conftest import query

Run = tuple[Path, SimulationSummary]
FILE_NAME = re.compile(r"events/(\d{4}-\d{2}-\d{2})/events-\1T(\d{2})\.jsonl")


def _manifest(data_dir: Path) -> dict[str, Any]:
    manifest: dict[str, Any] = json.loads((data_dir / "simulation_manifest.json").read_text())
    return manifest


def _landing_lines(data_dir: Path) -> dict[tuple[str, int], str]:
    root = data_dir / "landing"
    return {
        (path.relative_to(root).as_posix(), number): line
        for path in sorted(root.rglob("*.jsonl"))
        for number, line in enumerate(path.read_text().splitlines(), start=1)
    }


def _parses(line: str) -> bool:
    try:
        json.loads(line)
    except json.JSONDecodeError:
        return False
    return True


def test_customers_cover_signups_before_and_during_the_window(bad_run: Run) -> None:
    """max(50, orders per day) customers from the fixed countries; some sign up during the window
    and some change after signing up, so dim_customers has inserts and updates to detect."""
    data_dir, _ = bad_run
    db = data_dir / "source.sqlite"
    rows = query(db, "SELECT customer_id, country, signup_date, updated_at FROM customers")
    assert len(rows) == 60
    assert {row[1] for row in rows} <= set(COUNTRIES)
    assert any(str(row[2]) < "2024-01-01" for row in rows)
    assert any(str(row[2]) >= "2024-01-01" for row in rows)
    assert any(str(row[3])[:10] > str(row[2]) and str(row[3]) >= "2024-01-01" for row in rows)
    assert max(str(row[3]) for row in rows) < "2024-01-04 00:00:00"


def test_manifest_bad_orders_are_exactly_the_bad_rows(bad_run: Run) -> None:
    """Every order the manifest lists is bad in the database in the way it says, and no other
    order is bad: the dead-letter tests downstream can reconcile against the manifest."""
    data_dir, _ = bad_run
    bad = _manifest(data_dir)["bad_records"]["orders"]
    rows = query(
        data_dir / "source.sqlite",
        "SELECT o.order_id, o.total_amount < 0, o.currency, c.customer_id IS NULL"
        " FROM orders o LEFT JOIN customers c USING (customer_id)",
    )
    found = {}
    for order_id, negative, currency, missing in rows:
        kinds = [
            kind
            for kind, hit in (
                ("negative_total", negative),
                ("unknown_currency", currency not in CURRENCIES),
                ("missing_customer", missing),
            )
            if hit
        ]
        assert len(kinds) <= 1, order_id
        if kinds:
            found[order_id] = kinds[0]
    assert found == bad
    assert len(bad) == round(0.2 * 60) * 3
    assert Counter(bad.values()) == {"negative_total": 12, "unknown_currency": 12, "missing_customer": 12}


def test_orders_change_after_the_day_they_were_placed(bad_run: Run) -> None:
    """Later status updates and soft deletes exist (the incremental extract's overlap window and
    delete handling have something to catch), and nothing changes after the window ends."""
    data_dir, _ = bad_run
    db = data_dir / "source.sqlite"
    later = query(db, "SELECT count(*) FROM orders WHERE substr(updated_at, 1, 10) > substr(order_ts, 1, 10)")
    deleted = query(db, "SELECT order_ts, updated_at FROM orders WHERE is_deleted = 1")
    assert later[0][0] > 0
    assert deleted
    assert all(str(updated) > str(placed) for placed, updated in deleted)
    assert query(db, "SELECT max(updated_at) FROM orders")[0][0] < "2024-01-04 00:00:00"
    statuses = {row[0] for row in query(db, "SELECT DISTINCT status FROM orders")}
    assert statuses <= set(STATUSES)
    assert len(statuses) >= 3
    assert query(db, "SELECT count(*) FROM orders WHERE updated_at < order_ts") == [(0,)]
    ids = [row[0] for row in query(db, "SELECT order_id FROM orders")]
    assert all(re.fullmatch(r"o-202401\d{2}-\d{6}", str(i)) for i in ids)


def test_amounts_are_rounded_for_their_currency(bad_run: Run) -> None:
    """Amounts carry two decimals, JPY none: what fact_orders' currency conversion expects."""
    data_dir, _ = bad_run
    for currency, amount in query(data_dir / "source.sqlite", "SELECT currency, total_amount FROM orders"):
        assert isinstance(amount, float)
        if currency == "JPY":
            assert amount == round(amount)
        else:
            assert amount == round(amount, 2)


def test_malformed_lines_are_exactly_the_manifest_ones(bad_run: Run) -> None:
    """Lines the manifest lists as malformed do not parse, and every other line parses."""
    data_dir, _ = bad_run
    listed = {(path, line) for path, line in _manifest(data_dir)["bad_records"]["events"]["malformed_lines"]}
    broken = {key for key, line in _landing_lines(data_dir).items() if not _parses(line)}
    assert broken == listed
    assert listed


def test_events_are_well_formed_and_in_their_hours_file(bad_run: Run) -> None:
    """Valid lines use canonical JSON and the contract's fields; each event's timestamp falls in
    the hour its file is named after (a repeat in a later file keeps its original time); users
    are existing customers."""
    data_dir, _ = bad_run
    repeats = set(_manifest(data_dir)["bad_records"]["events"]["duplicated_event_ids"])
    customers = {row[0] for row in query(data_dir / "source.sqlite", "SELECT customer_id FROM customers")}
    for (path, _), line in _landing_lines(data_dir).items():
        if not _parses(line):
            continue
        match = FILE_NAME.fullmatch(path)
        assert match, path
        event = json.loads(line)
        assert line == json.dumps(event, sort_keys=True, separators=(",", ":"))
        assert set(event) == {"event_id", "user_id", "session_id", "event_type", "event_ts", "page"}
        assert event["event_type"] in EVENT_TYPES
        assert event["user_id"] in customers
        ts = datetime.fromisoformat(event["event_ts"])
        assert ts.utcoffset() == timedelta(0)
        if event["event_id"] in repeats:
            assert ts.strftime("%Y-%m-%d %H") <= f"{match.group(1)} {match.group(2)}"
        else:
            assert ts.strftime("%Y-%m-%d %H") == f"{match.group(1)} {match.group(2)}"


def test_duplicates_repeat_the_same_event_within_the_day(bad_run: Run) -> None:
    """Repeated event_ids are exactly the manifest's duplicates, each copy identical to the
    original and in the same day: dedup by event_id per day removes them all."""
    data_dir, _ = bad_run
    seen: dict[str, set[str]] = {}
    days: dict[str, set[str]] = {}
    counts: Counter[str] = Counter()
    for (path, _), line in _landing_lines(data_dir).items():
        if _parses(line):
            event_id = json.loads(line)["event_id"]
            counts[event_id] += 1
            seen.setdefault(event_id, set()).add(line)
            days.setdefault(event_id, set()).add(path.split("/")[1])
    repeated = sorted(event_id for event_id, n in counts.items() if n > 1)
    assert repeated == _manifest(data_dir)["bad_records"]["events"]["duplicated_event_ids"]
    assert repeated
    assert all(len(seen[i]) == 1 and len(days[i]) == 1 for i in repeated)


def test_file_mtimes_are_the_simulated_arrival_times(bad_run: Run) -> None:
    """On-time files arrive a few minutes after their hour ends; late ones (listed in the manifest)
    hours after their day ended: the landing-zone sensor must cope with both."""
    data_dir, summary = bad_run
    late = set(_manifest(data_dir)["late_files"])
    assert late
    assert summary.late_files == len(late)
    for path in (data_dir / "landing").rglob("*.jsonl"):
        relative = path.relative_to(data_dir / "landing").as_posix()
        match = FILE_NAME.fullmatch(relative)
        assert match
        hour_end = datetime.fromisoformat(f"{match.group(1)}T{match.group(2)}:00:00+00:00") + timedelta(
            hours=1
        )
        day_end = datetime.fromisoformat(f"{match.group(1)}T00:00:00+00:00") + timedelta(days=1)
        arrived = datetime.fromtimestamp(path.stat().st_mtime, UTC)
        if relative in late:
            assert arrived >= day_end + timedelta(hours=1)
        else:
            assert hour_end < arrived <= hour_end + timedelta(minutes=10)


def test_manifest_counts_match_the_files(bad_run: Run) -> None:
    """The manifest's per-day counts add up: lines = valid events + duplicates + malformed lines,
    and the order counts per day match the database."""
    data_dir, _ = bad_run
    manifest = _manifest(data_dir)
    lines = _landing_lines(data_dir)
    for day, counts in manifest["counts"]["events"].items():
        day_lines = [key for key in lines if key[0].split("/")[1] == day]
        assert counts["lines"] == len(day_lines)
        assert (
            counts["lines"] == counts["valid_events"] + counts["duplicate_lines"] + counts["malformed_lines"]
        )
    by_day = dict(
        query(data_dir / "source.sqlite", "SELECT substr(order_ts, 1, 10), count(*) FROM orders GROUP BY 1")
    )
    assert manifest["counts"]["orders"]["by_day"] == by_day
    assert manifest["args"]["bad_rate"] == 0.2
