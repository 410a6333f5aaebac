"""The system under test: gunicorn and Celery started as child process groups, and what /proc says
about them (resident memory, CPU time). PostgreSQL and Redis are started by scripts/bench.sh."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = ROOT / ".venv" / "bin"
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
STOP_SECONDS = 15
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


@dataclass
class Service:
    name: str
    process: subprocess.Popen
    log_path: Path

    @property
    def pid(self) -> int:
        return self.process.pid

    def log_tail(self, lines: int = 30) -> str:
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])


@dataclass
class System:
    base_url: str
    log_dir: Path
    services: list[Service] = field(default_factory=list)

    def start(self, name: str, command: list[str], env: dict[str, str] | None = None) -> Service:
        """Run `command` in its own process group (stopped as a whole), output to a log file; `env`
        replaces this process's environment when given."""
        log_path = self.log_dir / f"{name}.log"
        with open(log_path, "wb") as log:
            process = subprocess.Popen(
                command,
                cwd=ROOT,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        service = Service(name, process, log_path)
        self.services.append(service)
        return service

    def service(self, name: str) -> Service:
        return next(service for service in self.services if service.name == name)

    def check_alive(self) -> None:
        for service in self.services:
            if service.process.poll() is not None:
                raise RuntimeError(f"{service.name} exited ({service.process.returncode}):\n{service.log_tail()}")

    def stop(self) -> None:
        """Stop every service. A Ctrl-C or SIGTERM meanwhile must not interrupt this: it is held, then
        delivered once everything is stopped (the benchmark may start another system afterwards)."""
        held: list[int] = []
        previous = {signum: signal.signal(signum, lambda got, _: held.append(got)) for signum in STOP_SIGNALS}
        try:
            self._stop_services()
        finally:
            for signum, handler in previous.items():
                signal.signal(signum, signal.SIG_DFL if handler is None else handler)
        if held:
            os.kill(os.getpid(), held[0])

    def _stop_services(self) -> None:
        """SIGTERM to every group (Celery warm shutdown, gunicorn graceful), SIGKILL what is left."""
        for service in self.services:
            _signal_group(service.pid, signal.SIGTERM)
        deadline = time.monotonic() + STOP_SECONDS
        for service in self.services:
            try:
                service.process.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                print(f"[bench] {service.name} did not stop in time: killing", file=sys.stderr)
        for service in self.services:
            _signal_group(service.pid, signal.SIGKILL)
            service.process.wait()
        self.services.clear()


def _signal_group(pid: int, signum: int) -> None:
    try:
        os.killpg(pid, signum)
    except ProcessLookupError:
        pass


def start_web(system: System, env: dict[str, str] | None = None) -> Service:
    return system.start(
        "web",
        [
            str(VENV_BIN / "gunicorn"),
            "config.wsgi:application",
            "--bind",
            system.base_url.removeprefix("http://"),
            "--workers",
            "2",
            "--threads",
            "4",
            "--timeout",
            "120",
        ],
        env,
    )


def start_worker(system: System, concurrency: int, env: dict[str, str] | None = None) -> Service:
    return system.start(
        "worker",
        [
            str(VENV_BIN / "celery"),
            "-A",
            "config",
            "worker",
            "--loglevel=INFO",
            f"--concurrency={concurrency}",
        ],
        env,
    )


def wait_for_web(system: System, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        system.check_alive()
        try:
            if requests.get(f"{system.base_url}/api/jobs/", timeout=10).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"web server not answering after {timeout} s")


def wait_for_pool(system: System, concurrency: int, timeout: float = 60) -> None:
    """Until the Celery main process has `concurrency` pool children that loaded the model."""
    worker = system.service("worker")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        system.check_alive()
        if (
            len(children(worker.pid)) >= concurrency
            and worker.log_path.read_text().count("model loaded") >= concurrency
        ):
            return
        time.sleep(0.2)
    raise RuntimeError(f"Celery pool not ready after {timeout} s:\n{worker.log_tail()}")


# --- /proc --------------------------------------------------------------------------------------


def _parent_of() -> dict[int, int]:
    parents = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            parents[int(entry.name)] = int(stat[stat.rindex(")") + 2 :].split()[1])
    return parents


def children(pid: int) -> list[int]:
    return sorted(child for child, parent in _parent_of().items() if parent == pid)


def tree(pid: int) -> list[int]:
    """pid and all its descendants."""
    parents, found, frontier = _parent_of(), [pid], [pid]
    while frontier:
        frontier = [child for child, parent in parents.items() if parent in frontier]
        found += frontier
    return found


def cpu_seconds(pid: int) -> float:
    """User + system time of the process and of its children already waited for."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0.0
    fields = stat[stat.rindex(")") + 2 :].split()
    utime, stime, cutime, cstime = (int(value) for value in fields[11:15])
    return (utime + stime + cutime + cstime) / CLOCK_TICKS


def tree_cpu_seconds(pid: int) -> float:
    return sum(cpu_seconds(member) for member in tree(pid))


def machine_busy_seconds() -> float:
    """CPU time of every process on the machine (all CPUs, not idle or iowait), from /proc/stat."""
    fields = [int(value) for value in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    user, nice, system_, _idle, _iowait, irq, softirq, steal = fields[:8]
    return (user + nice + system_ + irq + softirq + steal) / CLOCK_TICKS


def memory_mib(pid: int) -> dict[str, float]:
    """VmRSS (now) and VmHWM (peak) in MiB."""
    values = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, rest = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            values[key] = round(int(rest.split()[0]) / 1024, 1)
    return {"rss_mib": values["VmRSS"], "peak_rss_mib": values["VmHWM"]}


def postmaster_pid() -> int | None:
    pid_file = os.environ.get("BENCH_PG_PID_FILE")
    if not pid_file or not Path(pid_file).exists():
        return None
    return int(Path(pid_file).read_text().split()[0])


def redis_pid() -> int | None:
    value = os.environ.get("BENCH_REDIS_PID")
    return int(value) if value else None
