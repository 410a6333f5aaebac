"""Process control of the benchmark: child processes can get an environment of their own (make run's
defaults), and stopping a system leaves the signal handlers as they were (a second system may follow)."""

import signal
import sys

from bench import system


def test_a_service_runs_with_the_environment_it_is_given(tmp_path):
    sys_ = system.System(base_url="http://127.0.0.1:1", log_dir=tmp_path)
    command = [sys.executable, "-c", "import os; print(os.environ['DATABASE_URL'])"]
    service = sys_.start("probe", command, env={"DATABASE_URL": "sqlite:////tmp/x/db.sqlite3"})
    service.process.wait(30)
    assert service.log_tail() == "sqlite:////tmp/x/db.sqlite3"


def test_stopping_restores_the_signal_handlers(tmp_path):
    def handler(*_):
        raise AssertionError("no signal expected")

    sys_ = system.System(base_url="http://127.0.0.1:1", log_dir=tmp_path)
    sys_.start("sleeper", [sys.executable, "-c", "import time; time.sleep(60)"])
    previous = signal.signal(signal.SIGTERM, handler)
    try:
        sys_.stop()
        assert signal.getsignal(signal.SIGTERM) is handler
        assert sys_.services == []
    finally:
        signal.signal(signal.SIGTERM, previous)
