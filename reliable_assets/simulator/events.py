"""Simulated clickstream: the landing zone's hourly JSON-lines files, as they arrive.

Sessions of page views, searches, cart adds and checkouts by existing customers fill each day;
each hour's events become one file. Real feeds repeat themselves and break, so some events are
written twice (in the same file or a later file of the day), some lines are truncated (with a bad
rate), and some files arrive hours after their day ended.
"""

import json
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from random import Random

from reliable_assets.simulator.config import SimulationConfig
from reliable_assets.simulator.customers import CustomerBase
from reliable_assets.simulator.seeding import derive_rng, stable_digest
from reliable_assets.simulator.timefmt import epoch_seconds, iso_utc

EVENT_TYPES: tuple[str, ...] = ("page_view", "search", "add_to_cart", "checkout")
DUPLICATE_RATE = 0.02
# Traffic by hour of day (UTC): quiet at night, busy in the evening.
_HOUR_WEIGHTS = (2, 1, 1, 1, 1, 2, 3, 5, 6, 7, 7, 8, 8, 8, 7, 7, 8, 9, 10, 10, 9, 7, 5, 3)
# What a visitor does next, by what they just did.
_NEXT: dict[str, tuple[tuple[str, ...], tuple[int, ...]]] = {
    "page_view": (("page_view", "search", "add_to_cart"), (5, 3, 2)),
    "search": (("page_view", "search", "add_to_cart"), (6, 2, 2)),
    "add_to_cart": (("page_view", "add_to_cart", "checkout"), (4, 2, 4)),
    "checkout": (("page_view", "search"), (1, 1)),
}


@dataclass(frozen=True)
class LandingFile:
    """One hourly file: its path under the landing root, its bytes and when it arrives."""

    relative_path: str
    day: date
    hour: int
    content: bytes
    arrived_at: datetime
    late: bool
    malformed_lines: tuple[int, ...]  # 1-based line numbers
    line_count: int

    @property
    def mtime(self) -> int:
        return epoch_seconds(self.arrived_at)


@dataclass
class DayEvents:
    """A day's files and what was injected into them."""

    day: date
    files: list[LandingFile] = field(default_factory=list)
    valid_events: int = 0
    duplicated_event_ids: list[str] = field(default_factory=list)


def landing_path(day: date, hour: int) -> str:
    """`events/<YYYY-MM-DD>/events-<YYYY-MM-DD>T<HH>.jsonl`, relative to the landing root."""
    return f"events/{day.isoformat()}/events-{day.isoformat()}T{hour:02d}.jsonl"


def encode_event(record: dict[str, object]) -> str:
    return json.dumps(record, sort_keys=True, separators=(",", ":"))


def generate_day_events(config: SimulationConfig, customers: CustomerBase, day: date) -> DayEvents:
    rng = derive_rng(config.seed, "events", day.isoformat())
    by_hour = _sessions(config, customers, day, rng)
    lines_by_hour: dict[int, list[str]] = {
        hour: [encode_event(e) for e in sorted(events, key=lambda e: (e["event_ts"], e["event_id"]))]
        for hour, events in sorted(by_hour.items())
    }
    result = DayEvents(day=day)
    total = sum(len(lines) for lines in lines_by_hour.values())
    result.valid_events = total

    # Which lines break and which repeat: disjoint sets, so a duplicate is always a valid copy.
    positions = [(hour, i) for hour, lines in lines_by_hour.items() for i in range(len(lines))]
    malformed = set(rng.sample(positions, round(config.bad_rate * total)))
    result.valid_events -= len(malformed)
    hours = list(lines_by_hour)
    extra: dict[int, list[str]] = {hour: [] for hour in hours}
    for hour, i in positions:
        if (hour, i) in malformed or rng.random() >= DUPLICATE_RATE:
            continue
        line = lines_by_hour[hour][i]
        later = [h for h in hours if h > hour]
        target = rng.choice(later) if later and rng.random() < 0.5 else hour
        extra[target].append(line)
        result.duplicated_event_ids.append(str(json.loads(line)["event_id"]))

    for hour in hours:
        lines = [
            _truncate(rng, line) if (hour, i) in malformed else line
            for i, line in enumerate(lines_by_hour[hour])
        ]
        broken = {i for i in range(len(lines)) if (hour, i) in malformed}
        for copy in extra[hour]:
            # A repeat lands after its original (the original is earlier in this file or in an earlier one).
            first = lines.index(copy) + 1 if copy in lines else 0
            at = rng.randint(first, len(lines))
            lines.insert(at, copy)
            broken = {b + 1 if b >= at else b for b in broken}
        late = rng.random() < config.late_rate
        result.files.append(
            LandingFile(
                relative_path=landing_path(day, hour),
                day=day,
                hour=hour,
                content="".join(f"{line}\n" for line in lines).encode(),
                arrived_at=_arrival(rng, day, hour, late),
                late=late,
                malformed_lines=tuple(sorted(b + 1 for b in broken)),
                line_count=len(lines),
            )
        )
    result.duplicated_event_ids.sort()
    return result


def _sessions(
    config: SimulationConfig, customers: CustomerBase, day: date, rng: Random
) -> dict[int, list[dict[str, object]]]:
    day_start = datetime.combine(day, datetime.min.time())
    by_hour: dict[int, list[dict[str, object]]] = {}
    made = 0
    session_no = 0
    while made < config.events_per_day:
        # The first 24 sessions take one hour each, so every hour of a busy day has its file.
        hour = session_no if session_no < 24 else rng.choices(range(24), weights=_HOUR_WEIGHTS)[0]
        session_no += 1
        hour_start = day_start + timedelta(hours=hour)
        user = customers.pick_active(hour_start, rng.random())
        session_id = f"s-{stable_digest(config.seed, day, 'session', session_no)[:16]}"
        length = min(config.events_per_day - made, rng.randint(1, 8))
        offset = rng.randrange(3_600_000_000)
        event_type = "page_view"
        for _ in range(length):
            if offset >= 3_600_000_000:
                break  # the session ends with its hour, so each event stays in its hour's file
            made += 1
            moment = hour_start + timedelta(microseconds=offset)
            by_hour.setdefault(hour, []).append(
                {
                    "event_id": f"evt-{stable_digest(config.seed, day, 'event', made)[:20]}",
                    "user_id": user.customer_id,
                    "session_id": session_id,
                    "event_type": event_type,
                    "event_ts": iso_utc(moment),
                    "page": _page(rng, event_type),
                }
            )
            offset += rng.randrange(1_000_000, 120_000_000)
            choices, weights = _NEXT[event_type]
            event_type = rng.choices(choices, weights=weights)[0]
    return by_hour


def _page(rng: Random, event_type: str) -> str:
    if event_type == "page_view":
        return "/" if rng.random() < 0.2 else f"/product/{rng.randint(1, 500)}"
    return {"search": "/search", "add_to_cart": "/cart", "checkout": "/checkout"}[event_type]


def _truncate(rng: Random, line: str) -> str:
    """A proper prefix of a JSON object never parses: the closing brace is missing."""
    return line[: rng.randint(1, len(line) - 1)]


def _arrival(rng: Random, day: date, hour: int, late: bool) -> datetime:
    if late:
        day_end = datetime.combine(day, datetime.min.time()) + timedelta(days=1)
        return day_end + timedelta(seconds=rng.randrange(3600, 12 * 3600))
    hour_end = datetime.combine(day, datetime.min.time()) + timedelta(hours=hour + 1)
    return hour_end + timedelta(seconds=rng.randrange(60, 600))
