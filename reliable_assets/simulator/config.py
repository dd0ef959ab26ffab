"""The simulation's arguments, validated once, and the time window they describe."""

from dataclasses import asdict, dataclass
from datetime import date, datetime, time, timedelta


@dataclass(frozen=True)
class SimulationConfig:
    """What `reliable-assets simulate` was asked for; equal configs give byte-identical data."""

    start: date
    days: int
    seed: int = 7
    orders_per_day: int = 200
    events_per_day: int = 2000
    bad_rate: float = 0.0
    late_rate: float = 0.05

    def __post_init__(self) -> None:
        problems = validation_errors(self)
        if problems:
            raise ValueError("; ".join(problems))

    @property
    def day_list(self) -> list[date]:
        return [self.start + timedelta(days=i) for i in range(self.days)]

    @property
    def window_start(self) -> datetime:
        """Midnight UTC (naive datetimes are UTC throughout the simulator) of the first day."""
        return datetime.combine(self.start, time())

    @property
    def window_end(self) -> datetime:
        """Midnight after the last day: no simulated change happens at or after it."""
        return self.window_start + timedelta(days=self.days)

    def as_json(self) -> dict[str, object]:
        values = asdict(self)
        values["start"] = self.start.isoformat()
        return values


def validation_errors(config: SimulationConfig) -> list[str]:
    """Every problem with the arguments, phrased as what the caller must change."""
    problems = []
    if config.days < 1:
        problems.append(f"days must be at least 1, got {config.days}")
    if config.orders_per_day < 0:
        problems.append(f"orders_per_day must be 0 or more, got {config.orders_per_day}")
    if config.events_per_day < 0:
        problems.append(f"events_per_day must be 0 or more, got {config.events_per_day}")
    for name in ("bad_rate", "late_rate"):
        value = getattr(config, name)
        if not 0.0 <= value <= 1.0:
            problems.append(f"{name} must be between 0 and 1, got {value}")
    return problems
