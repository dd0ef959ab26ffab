"""Run every `benchmarks/bench_*.py` module, print one table, write `.bench/results.json`.

Each module exposes `run() -> dict[str, float]` returning flat figures named as the issues name
them. Figures are measured, printed and stored; nothing here asserts a speed.
"""

import importlib
import json
import pkgutil
import sys
from pathlib import Path

import benchmarks

RESULTS = Path(__file__).resolve().parents[1] / ".bench" / "results.json"


def main(selected: list[str]) -> int:
    names = sorted(
        module.name
        for module in pkgutil.iter_modules(benchmarks.__path__)
        if module.name.startswith("bench_") and (not selected or module.name in selected)
    )
    figures: dict[str, float] = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    for name in names:
        print(f"== {name}", flush=True)
        results = importlib.import_module(f"benchmarks.{name}").run()
        for figure, value in results.items():
            print(f"  {figure:<36} {value:>16,.4f}")
        figures.update(results)
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(figures, indent=2, sort_keys=True) + "\n")
    print(f"figures written to {RESULTS}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
