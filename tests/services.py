"""Helpers for tests that need real processes: a Celery worker subprocess and Redis checks."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import quote

import kombu.exceptions
import redis.exceptions

ROOT = Path(__file__).resolve().parent.parent

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def chromium_path() -> str | None:
    """Debian's Chromium (Playwright cannot download its own browsers here)."""
    return shutil.which("chromium") or shutil.which("chromium-browser")


def check_redis(url: str, timeout: float = 2.0) -> None:
    """Raise if nothing answers PING at url."""
    import redis

    client = redis.Redis.from_url(url, socket_timeout=timeout, socket_connect_timeout=timeout)
    try:
        client.ping()
    finally:
        client.close()


def database_url(db: dict) -> str:
    """A DATABASE_URL for a Django DATABASES entry (PostgreSQL), e.g. the test database."""
    if "postgresql" not in db["ENGINE"]:
        raise ValueError(f"not a PostgreSQL database: {db['ENGINE']}")
    user = quote(db.get("USER") or "", safe="")
    password = quote(db.get("PASSWORD") or "", safe="")
    auth = f"{user}:{password}@" if password else (f"{user}@" if user else "")
    host = db.get("HOST") or "127.0.0.1"
    port = f":{db['PORT']}" if db.get("PORT") else ""
    return f"postgres://{auth}{host}{port}/{quote(db['NAME'], safe='')}"


def worker_env(extra: dict | None = None) -> dict:
    """Environment for a worker subprocess that matches the test process's Django settings.

    The DATABASE_URL points at the *test* database (call after django_db_setup); OCR_* limits and
    MEDIA_ROOT are copied from the current settings so the worker sees what the tests see.
    """
    from django.conf import settings

    env = os.environ.copy()
    env.pop("CELERY_TASK_ALWAYS_EAGER", None)
    env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)  # set by the browser fixture for this process only
    env["DJANGO_SETTINGS_MODULE"] = "config.settings"
    env["DATABASE_URL"] = database_url(settings.DATABASES["default"])
    env["REDIS_URL"] = settings.REDIS_URL
    env["CELERY_BROKER_URL"] = settings.CELERY_BROKER_URL
    env["MEDIA_ROOT"] = str(settings.MEDIA_ROOT)
    env["STORAGE_BACKEND"] = settings.STORAGE_BACKEND
    for name in dir(settings):
        if name.startswith("OCR_"):
            env[name] = str(getattr(settings, name))
    env["PYTHONUNBUFFERED"] = "1"
    if extra:
        env.update({k: str(v) for k, v in extra.items()})
    return env


class CeleryWorker:
    """A real `celery -A config worker` subprocess, in its own process group, logging to a file."""

    def __init__(
        self,
        log_path: Path,
        name: str = "test-worker",
        concurrency: int = 1,
        pool: str = "prefork",
        env_extra: dict | None = None,
        extra_args: list | None = None,
    ):
        self.name = name
        self.hostname = None  # full node name, e.g. test-worker@myhost, known once it answers
        self.log_path = Path(log_path)
        self.cmd = [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "config",
            "worker",
            "--loglevel=INFO",
            f"--concurrency={concurrency}",
            f"--pool={pool}",
            "-n",
            f"{name}@%h",
            *(extra_args or []),
        ]
        self.env = worker_env(env_extra)
        self.proc: subprocess.Popen | None = None
        self._log_file = None

    # -- lifecycle
    def start(self, timeout: float = 60.0) -> "CeleryWorker":
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log_file = open(self.log_path, "ab")
        self.proc = subprocess.Popen(
            self.cmd,
            cwd=ROOT,
            env=self.env,
            stdin=subprocess.DEVNULL,
            stdout=self._log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.wait_ready(timeout)
        return self

    def wait_ready(self, timeout: float = 60.0) -> None:
        from config import celery_app

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(
                    f"celery worker {self.name} exited with {self.proc.returncode} before answering a "
                    f"ping; its log:\n{self.log_text()}"
                )
            try:
                replies = celery_app.control.ping(timeout=1) or []
            except (OSError, redis.exceptions.ConnectionError, kombu.exceptions.OperationalError):
                continue  # a pooled connection that died with a restarted Redis: the next try reconnects
            for reply in replies:
                for node in reply:
                    if node.startswith(f"{self.name}@"):
                        self.hostname = node
                        return
        self.stop()
        raise RuntimeError(
            f"celery worker {self.name} did not answer a ping in {timeout:.0f} s; its log:\n{self.log_text()}"
        )

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stop(self, timeout: float = 10.0) -> int | None:
        """SIGTERM (warm shutdown), then SIGKILL to the whole group after `timeout` seconds."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            try:
                self.proc.send_signal(signal.SIGTERM)
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                pass
        self._kill_group()
        rc = self.proc.wait()
        if self._log_file:
            self._log_file.close()
            self._log_file = None
        return rc

    def kill(self) -> None:
        """Simulate a crash: SIGKILL the worker and its pool children at once."""
        if self.proc is not None:
            self._kill_group()
            self.proc.wait()

    def _kill_group(self) -> None:
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass

    # -- diagnostics
    def log_text(self) -> str:
        if self._log_file:
            self._log_file.flush()
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return "(no log)"
