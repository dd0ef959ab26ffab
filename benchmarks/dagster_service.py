"""A throwaway Dagster deployment for benchmarks: a temp world, the rates API, webserver + daemon.

`temp_world` makes a fresh folder holding `DAGSTER_HOME` (with a copy of the project's
`dagster.yaml`) and `RELIABLE_ASSETS_DATA_DIR`, and deletes it afterwards unless asked to keep it.
`running_service` starts, inside that world, the rates API (`reliable-assets rates-api`), one code
server for the project's code location (`dagster api grpc -m reliable_assets.definitions`) and
`dagster-webserver` on free loopback ports, and waits until GraphQL answers and the code location
has loaded; `Service.start_daemon` then starts `dagster-daemon run` against the same instance.
Webserver and daemon reach the code server through the world's own workspace file (a
`grpc_server` entry), so they share it as under `dagster dev` (and as in a production deployment,
where user code runs as its own gRPC server); run workers are its child processes. Separate
commands rather than `dagster dev`: a caller can change instance state over GraphQL (stop the
sensors that run by default) before the daemon's first tick.

Each process runs in its own process group; on exit, also on Ctrl-C or an exception, each group is
sent SIGTERM, then SIGKILL after a grace period. `ProcessTreeSampler` sums the RSS of processes
and all their descendants (webserver, daemon, code servers, run workers, step subprocesses).
"""

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import ExitStack, contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil  # type: ignore[import-untyped]
import requests

PROJECT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
STARTUP_TIMEOUT_S = 600.0
# The code location of the project's workspace.yaml, served by one shared code server.
MODULE = "reliable_assets.definitions"
LOCATION = "reliable_assets"
GRACE_S = 30.0

DAEMON_HEALTH = """
query DaemonHealth {
  instance { daemonHealth { allDaemonStatuses { daemonType required healthy } } }
}
"""
WORKSPACE_QUERY = """
query Workspace {
  workspaceOrError {
    __typename
    ... on Workspace {
      locationEntries {
        name
        loadStatus
        locationOrLoadError {
          __typename
          ... on RepositoryLocation { name repositories { name } }
          ... on PythonError { message }
        }
      }
    }
    ... on PythonError { message }
  }
}
"""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class GraphQLError(RuntimeError):
    """The server answered with `errors` (a malformed query or a resolver that raised)."""


class GraphQL:
    """POST a query to the webserver's /graphql; return `data` or raise on `errors`."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._session = requests.Session()

    def __call__(
        self, query: str, variables: Mapping[str, Any] | None = None, timeout: float = 120.0
    ) -> dict[str, Any]:
        response = self._session.post(
            self.url, json={"query": query, "variables": dict(variables or {})}, timeout=timeout
        )
        try:
            body: dict[str, Any] = response.json()
        except ValueError:
            response.raise_for_status()
            raise GraphQLError(f"not JSON ({response.status_code}): {response.text[:500]}") from None
        if body.get("errors"):
            raise GraphQLError(f"GraphQL errors ({response.status_code}): {body['errors']}")
        response.raise_for_status()
        data: dict[str, Any] = body["data"]
        return data


@dataclass(frozen=True)
class World:
    """A fresh folder with its own Dagster instance and data, and the environment pointing at them."""

    root: Path
    home: Path
    data_dir: Path
    env: dict[str, str]

    @property
    def workspace(self) -> Path:
        """The world's workspace file: the shared code server (written by `running_service`)."""
        return self.root / "workspace.yaml"


class Service:
    """A running webserver (and, once started, daemon) of a world: GraphQL endpoint and processes."""

    def __init__(self, world: World, stack: ExitStack, url: str, location: str, repository: str) -> None:
        self.world = world
        self.gql = GraphQL(url)
        self.url = url
        self.location = location
        self.repository = repository
        self.pids: dict[int, str] = {}  # pid -> name, of every process the service started
        self._stack = stack

    def spawn(self, command: list[str], name: str) -> subprocess.Popen[bytes]:
        """Start a process group, stopped when the service exits; its pid joins `pids`."""
        log = self.world.root / f"{name}.log"
        process = _spawn(command, self.world, log)
        self._stack.callback(stop_group, process)
        self.pids[process.pid] = name
        return process

    def start_daemon(self) -> None:
        self.spawn([str(BIN / "dagster-daemon"), "run", "-w", str(self.world.workspace)], "dagster_daemon")

    def wait_for_daemon(self, timeout_s: float = STARTUP_TIMEOUT_S) -> None:
        """Until every required daemon has sent a healthy heartbeat."""
        deadline = time.monotonic() + timeout_s
        while True:
            statuses = self.gql(DAEMON_HEALTH)["instance"]["daemonHealth"]["allDaemonStatuses"]
            required = [s for s in statuses if s["required"]]
            if required and all(s["healthy"] for s in required):
                return
            if time.monotonic() > deadline:
                log = self.world.root / "dagster_daemon.log"
                raise RuntimeError(f"daemon not healthy after {timeout_s:.0f} s: {statuses}\n{_tail(log)}")
            time.sleep(1)


@contextmanager
def temp_world(label: str, keep: bool = False) -> Iterator[World]:
    root = Path(tempfile.mkdtemp(prefix=f"bench-{label}-"))
    home, data_dir = root / "dagster_home", root / "data"
    home.mkdir()
    data_dir.mkdir()
    shutil.copy(PROJECT / "dagster.yaml", home / "dagster.yaml")
    env = {
        **os.environ,
        "DAGSTER_HOME": str(home),
        "RELIABLE_ASSETS_DATA_DIR": str(data_dir),
        "DAGSTER_DEPLOYMENT": "local",
        "PYTHONUNBUFFERED": "1",
    }
    try:
        yield World(root=root, home=home, data_dir=data_dir, env=env)
    finally:
        if keep:
            print(f"  kept {root}", flush=True)
        else:
            shutil.rmtree(root, ignore_errors=True)


def simulate(world: World, start: str, days: int, orders_per_day: int, events_per_day: int) -> None:
    """The project's CLI into the world's data folder (raises with the CLI's output on failure)."""
    command = [
        str(BIN / "reliable-assets"), "simulate", "--start", start, "--days", str(days),
        "--orders-per-day", str(orders_per_day), "--events-per-day", str(events_per_day),
    ]  # fmt: skip
    done = subprocess.run(command, env=world.env, cwd=world.root, capture_output=True, text=True, check=False)
    if done.returncode:
        raise RuntimeError(f"simulate failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")


def _spawn(command: list[str], world: World, log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as sink:
        return subprocess.Popen(
            command,
            env=world.env,
            cwd=world.root,
            stdout=sink,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,  # own process group: stopped as a whole, not hit by the tty's Ctrl-C
        )


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def stop_group(process: subprocess.Popen[bytes], grace_s: float = GRACE_S) -> None:
    """SIGTERM the process group this harness started (its id is the leader's pid), then SIGKILL."""
    pgid = process.pid
    if process.poll() is None or _group_alive(pgid):
        with suppress(ProcessLookupError):
            os.killpg(pgid, signal.SIGTERM)
        deadline = time.monotonic() + grace_s
        while time.monotonic() < deadline:
            if process.poll() is not None and not _group_alive(pgid):
                break
            time.sleep(0.2)
        if _group_alive(pgid):
            with suppress(ProcessLookupError):
                os.killpg(pgid, signal.SIGKILL)
    with suppress(subprocess.TimeoutExpired):
        process.wait(timeout=10)


def _tail(log: Path, lines: int = 40) -> str:
    try:
        return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def _wait_for_port(port: int, process: subprocess.Popen[bytes], log: Path, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{log.stem} did not start:\n{_tail(log)}") from None
            time.sleep(0.2)


def _wait_for_location(
    gql: GraphQL, process: subprocess.Popen[bytes], log: Path, timeout_s: float = STARTUP_TIMEOUT_S
) -> tuple[str, str]:
    """Until GraphQL answers and the (single) code location is LOADED: its name and repository's."""
    deadline = time.monotonic() + timeout_s
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"{log.stem} exited ({process.returncode}):\n{_tail(log)}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"code location not loaded after {timeout_s:.0f} s:\n{_tail(log)}")
        try:
            workspace = gql(WORKSPACE_QUERY, timeout=10)["workspaceOrError"]
        except (requests.RequestException, GraphQLError):
            time.sleep(1)
            continue
        entries = workspace.get("locationEntries") or []
        if entries and all(entry["loadStatus"] == "LOADED" for entry in entries):
            location = entries[0]["locationOrLoadError"] or {}
            if location.get("__typename") == "PythonError":
                raise RuntimeError(f"code location failed to load: {location['message']}")
            if location.get("__typename") == "RepositoryLocation":
                return entries[0]["name"], location["repositories"][0]["name"]
        time.sleep(1)


@contextmanager
def running_service(world: World) -> Iterator[Service]:
    """The rates API and `dagster-webserver` in `world` (no daemon yet); all stopped on exit."""
    with ExitStack() as stack:
        rates_port = free_port()
        rates_log = world.root / "rates_api.log"
        rates = _spawn(
            [str(BIN / "reliable-assets"), "rates-api", "--port", str(rates_port)], world, rates_log
        )
        stack.callback(stop_group, rates)
        _wait_for_port(rates_port, rates, rates_log)
        world.env["RATES_API_URL"] = f"http://127.0.0.1:{rates_port}"

        code_server = _start_code_server(world, stack)

        port = free_port()
        log = world.root / "dagster_webserver.log"
        command = [
            str(BIN / "dagster-webserver"), "-w", str(world.workspace), "-h", "127.0.0.1", "-p", str(port),
        ]  # fmt: skip
        webserver = _spawn(command, world, log)
        stack.callback(stop_group, webserver)
        url = f"http://127.0.0.1:{port}/graphql"
        location, repository = _wait_for_location(GraphQL(url), webserver, log)
        service = Service(world, stack, url, location, repository)
        service.pids.update({code_server.pid: "code_server", webserver.pid: "webserver"})
        yield service


def _start_code_server(world: World, stack: ExitStack) -> subprocess.Popen[bytes]:
    """`dagster api grpc` serving the project's code location, and the world's workspace file
    pointing at it; stopped when `stack` closes."""
    port = free_port()
    log = world.root / "code_server.log"
    command = [
        str(BIN / "dagster"), "api", "grpc", "-m", MODULE, "--location-name", LOCATION,
        "-h", "127.0.0.1", "-p", str(port),
    ]  # fmt: skip
    server = _spawn(command, world, log)
    stack.callback(stop_group, server)
    _wait_for_port(port, server, log, timeout_s=STARTUP_TIMEOUT_S)
    world.workspace.write_text(
        f"load_from:\n  - grpc_server: {{host: 127.0.0.1, port: {port}, location_name: {LOCATION}}}\n"
    )
    return server


def _what_it_runs(process: Any) -> str:
    """A short name for what a process runs: `dagster api execute_run`, `dagster-daemon run`, ..."""
    try:
        words = [Path(word).name if word.startswith("/") else word for word in process.cmdline()]
    except psutil.Error:
        return "?"
    if words[:1] and words[0].startswith("python"):
        words = words[1:]
    if words[:1] == ["-m"]:
        words = words[1:]
    if words[:1] == ["-c"]:  # multiprocessing children: python -c 'from multiprocessing...'
        return "python -c (multiprocessing child)"
    return " ".join(words[:3])[:60] or process.name()


class ProcessTreeSampler:
    """Every `interval_s`, the summed RSS of some processes and their descendants (keeps the
    peak), and the CPU seconds each has used, by role.

    RSS counts shared pages (libraries, copy-on-write) once per process, so the sum overstates the
    memory the tree really holds; it is the figure `ps`/`top` users add up. CPU seconds are each
    process's user + system time at its last sample: a process that lives less than one interval
    is missed, and one that ends loses its last interval (run workers live seconds to minutes).
    Roles: a root's name for the root itself, `<name> children` for its descendants (the code
    server's children are the run workers).
    """

    def __init__(self, roots: Mapping[int, str], interval_s: float = 0.5) -> None:
        self.roots = dict(roots)
        self.interval_s = interval_s
        self.peak_rss_bytes = 0
        self.peak_processes = 0
        # (role, what the process runs, RSS bytes) of each process in the peak sample, largest first
        self.peak_composition: list[tuple[str, str, int]] = []
        self.peak_at = 0.0  # epoch seconds of the peak sample, to name the runs in progress then
        self.samples = 0
        self._cpu_s: dict[tuple[int, float], tuple[str, float]] = {}  # (pid, started) -> role, seconds
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="rss-sampler", daemon=True)

    def cpu_seconds_by_role(self) -> dict[str, float]:
        totals: dict[str, float] = {}
        for role, seconds in self._cpu_s.values():
            totals[role] = totals.get(role, 0.0) + seconds
        return totals

    def sample(self) -> int:
        processes: dict[int, tuple[Any, str]] = {}
        for pid, name in self.roots.items():
            try:
                root = psutil.Process(pid)
                processes[root.pid] = (root, name)
                for child in root.children(recursive=True):
                    processes[child.pid] = (child, f"{name} children")
            except psutil.Error:
                continue
        total = 0
        composition: list[tuple[str, str, int]] = []
        for process, role in processes.values():
            try:
                with process.oneshot():
                    rss = int(process.memory_info().rss)
                    times = process.cpu_times()
                    self._cpu_s[(process.pid, process.create_time())] = (role, times.user + times.system)
                    composition.append((role, _what_it_runs(process), rss))
                    total += rss
            except psutil.Error:  # exited between listing and reading
                continue
        self.samples += 1
        if total > self.peak_rss_bytes:
            self.peak_rss_bytes = total
            self.peak_composition = sorted(composition, key=lambda item: -item[2])
            self.peak_at = time.time()
        self.peak_processes = max(self.peak_processes, len(processes))
        return total

    def _loop(self) -> None:
        while True:
            self.sample()
            if self._stop.wait(self.interval_s):
                return

    def __enter__(self) -> "ProcessTreeSampler":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=10)
