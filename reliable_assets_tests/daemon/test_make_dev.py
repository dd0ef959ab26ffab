"""Issue 13: `make dev` as a user runs it in a terminal, and stops on Ctrl-C.

`make dev` runs on a pseudo-terminal of its own (its session's controlling terminal, as in a shell
window), in a fresh world (DAGSTER_HOME and data folder) and on free ports. Once the UI answers and
every daemon is healthy, the sensors and schedules the definitions mark as running by default are
running; the rates API answers. Then the test types Ctrl-C (byte 0x03 on the terminal: the line
discipline sends SIGINT to the foreground process group, exactly what a keyboard does) and every
process of the session (make, the rates API, `dagster dev`, webserver, daemon, code servers) must
be gone within STOP_POLLS looks half a second apart, and the ports free. Anything left is killed and reported.
"""

import os
import pty
import signal
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress

import dagster as dg
import psutil  # type: ignore[import-untyped]
import pytest
import requests

from benchmarks.bench_backfill import AUTOMATION_QUERY
from benchmarks.dagster_service import PROJECT, GraphQL, free_port, temp_world
from reliable_assets.definitions import defs

START_POLLS = 300  # a look a second until the UI and every daemon answer
STOP_POLLS = 120  # a look every half second after Ctrl-C
CTRL_C = b"\x03"
DAEMON_HEALTH = "{ instance { daemonHealth { allDaemonStatuses { daemonType required healthy } } } }"
LOCATION = {"repositoryLocationName": "reliable_assets", "repositoryName": "__repository__"}


class Terminal:
    """`make dev` on a pseudo-terminal; everything it prints is kept for failure messages."""

    def __init__(self, env: dict[str, str], args: list[str]) -> None:
        pid, self.master = pty.fork()
        if pid == 0:  # the child: session leader, the pty its controlling terminal
            os.chdir(PROJECT)
            os.execvpe("make", ["make", "dev", *args], env)
        self.pid = pid
        self._output = bytearray()
        self._reader = threading.Thread(target=self._drain, daemon=True)
        self._reader.start()

    def _drain(self) -> None:  # a full pty buffer would block the processes writing to it
        with suppress(OSError):
            while chunk := os.read(self.master, 65536):
                self._output.extend(chunk)

    def type(self, keys: bytes) -> None:
        os.write(self.master, keys)

    def tail(self, lines: int = 40) -> str:
        return "\n".join(bytes(self._output).decode(errors="replace").splitlines()[-lines:])


def _signal_masks(pid: int) -> str:
    """The SigBlk/SigIgn/SigCgt lines of a process: why a process may not react to Ctrl-C."""
    with suppress(OSError), open(f"/proc/{pid}/status") as status:
        return " ".join(
            line.split()[0] + line.split()[1]
            for line in status
            if line.startswith(("SigBlk", "SigIgn", "SigCgt"))
        )
    return "?"


def _session_processes(session_id: int) -> list[psutil.Process]:
    found = []
    for process in psutil.process_iter(["pid"]):
        with suppress(ProcessLookupError, PermissionError, psutil.Error):
            if os.getsid(process.pid) == session_id and process.status() != psutil.STATUS_ZOMBIE:
                found.append(process)
    return found


@contextmanager
def make_dev(env: dict[str, str], args: list[str]) -> Iterator[Terminal]:
    terminal = Terminal(env, args)
    try:
        yield terminal
    finally:
        for process in _session_processes(terminal.pid):  # whatever Ctrl-C left behind
            with suppress(psutil.Error):
                process.kill()
        with suppress(ChildProcessError):
            os.waitpid(terminal.pid, 0)
        os.close(terminal.master)


def _wait_until_ready(gql: GraphQL, rates_url: str, terminal: Terminal) -> None:
    for _ in range(START_POLLS):
        with suppress(requests.RequestException):
            statuses = gql(DAEMON_HEALTH)["instance"]["daemonHealth"]["allDaemonStatuses"]
            required = [s for s in statuses if s["required"]]
            if required and all(s["healthy"] for s in required):
                requests.get(rates_url, timeout=5)
                return
        time.sleep(1)
    pytest.fail(f"`make dev` not ready after {START_POLLS} looks:\n{terminal.tail()}")


def _running_by_default() -> set[str]:
    repository = defs().get_repository_def()
    sensors = {s.name for s in repository.sensor_defs if s.default_status == dg.DefaultSensorStatus.RUNNING}
    schedules = {
        s.name for s in repository.schedule_defs if s.default_status == dg.DefaultScheduleStatus.RUNNING
    }
    return sensors | schedules


def _running_in_the_ui(gql: GraphQL) -> set[str]:
    data = gql(AUTOMATION_QUERY, {"repo": LOCATION})
    sensors = [(s["name"], s["sensorState"]) for s in data["sensorsOrError"]["results"]]
    schedules = [(s["name"], s["scheduleState"]) for s in data["schedulesOrError"]["results"]]
    return {name for name, state in sensors + schedules if state["status"] == "RUNNING"}


def test_make_dev_serves_the_ui_and_stops_on_ctrl_c() -> None:
    ui_port, rates_port = free_port(), free_port()
    ports = [f"UI_PORT={ui_port}", f"RATES_PORT={rates_port}"]
    with temp_world("make-dev") as world, make_dev(world.env, ports) as terminal:
        gql = GraphQL(f"http://127.0.0.1:{ui_port}/graphql")
        _wait_until_ready(gql, f"http://127.0.0.1:{rates_port}/", terminal)

        expected = _running_by_default()
        assert {"landing_zone_sensor", "downstream_automation"} <= expected, expected
        assert _running_in_the_ui(gql) == expected
        # make, its shell, the rates API, dagster dev, webserver, daemon (and code servers)
        assert len(_session_processes(terminal.pid)) >= 6, terminal.tail()

        pressed = time.monotonic()
        terminal.type(CTRL_C)
        for _ in range(STOP_POLLS):
            if not (left := _session_processes(terminal.pid)):
                break
            time.sleep(0.5)
        stopped_after = time.monotonic() - pressed
        commands = [f"{' '.join(p.cmdline()[:4])} [{_signal_masks(p.pid)}]" for p in left if p.is_running()]
        assert not left, (
            f"still running {STOP_POLLS} looks after Ctrl-C: {commands}\n"
            f"(this test process: [{_signal_masks(os.getpid())}])\n{terminal.tail()}"
        )
        print(f"`make dev` stopped {stopped_after:.1f} s after Ctrl-C")
        for port in (ui_port, rates_port):
            with pytest.raises(requests.ConnectionError):
                requests.get(f"http://127.0.0.1:{port}/", timeout=5)
        _, status = os.waitpid(terminal.pid, 0)
        # make reports the interrupted recipe; what matters is that it ended because of the signal.
        assert os.WIFEXITED(status) or os.WTERMSIG(status) == signal.SIGINT, status
