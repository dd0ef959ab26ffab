"""Pure generation: the whole simulated world for a config, in memory, with no I/O."""

from dataclasses import dataclass

from reliable_assets.simulator.config import SimulationConfig
from reliable_assets.simulator.customers import CustomerBase, generate_customers
from reliable_assets.simulator.events import DayEvents, LandingFile, generate_day_events
from reliable_assets.simulator.orders import Order, generate_orders


@dataclass(frozen=True)
class Simulation:
    config: SimulationConfig
    customers: CustomerBase
    orders: list[Order]
    bad_orders: dict[str, str]  # order_id -> kind
    events: list[DayEvents]  # one per simulated day, in order

    @property
    def landing_files(self) -> list[LandingFile]:
        return [f for day in self.events for f in day.files]


def generate(config: SimulationConfig) -> Simulation:
    customers = generate_customers(config)
    orders, bad_orders = generate_orders(config, customers)
    events = [generate_day_events(config, customers, day) for day in config.day_list]
    return Simulation(config, customers, orders, bad_orders, events)
