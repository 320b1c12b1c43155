"""The `ketacare` command line as the tests run it, and the demo it builds, built once.

`ketacare demo --no-serve --no-registry` takes many seconds and several test modules look at
its data directory, so the test session builds it once and every test that wants it shares
that one (pytest-xdist's workers too): a test that changes it works on a copy."""

import fcntl
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

KETACARE = str(Path(sys.executable).with_name("ketacare"))


def run(*args, data_dir, env=None):
    environment = {
        k: v
        for k, v in os.environ.items()
        if k not in ("SECRET_KEY", "DATABASE_URL", "DJANGO_SETTINGS_MODULE")
        and not k.startswith("KETACARE_")
    }
    environment.update({"KETACARE_DATA_DIR": str(data_dir), **(env or {})})
    return subprocess.run(
        [KETACARE, *args], capture_output=True, text=True, env=environment, timeout=300
    )


@dataclass(frozen=True)
class CliDemo:
    data_dir: Path  # shared: read it, or copy it (copy_to) before changing anything in it
    stdout: str  # what `ketacare demo` printed

    def copy_to(self, target: Path) -> Path:
        shutil.copytree(self.data_dir, target)
        return target


@pytest.fixture(scope="session")
def cli_demo(tmp_path_factory) -> CliDemo:
    """A fresh demo as `ketacare demo` makes it (without the synthetic registry clinic): its own
    generated secret key in the data directory given by --data-dir (not KETACARE_DATA_DIR),
    SQLite beside it. Built by the first test that asks, under a lock, in a directory all the
    workers of this run share; every later ask (another worker, another module importing this
    fixture) finds it built."""
    if os.environ.get("DATABASE_URL"):
        pytest.skip("the demo data directory is SQLite; the SQLite run covers it")
    root = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        root = root.parent  # this run's, shared by its workers (each has a directory below)
    data, output = root / "cli-demo", root / "cli-demo.stdout"
    with open(root / "cli-demo.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        # The output is written last: without it a build failed half-way, and is made again.
        if not output.exists():
            shutil.rmtree(data, ignore_errors=True)
            made = run(
                "demo",
                "--no-serve",
                "--no-registry",
                "--data-dir",
                str(data),
                data_dir=root / "cli-demo-unused",
            )
            assert made.returncode == 0, made.stderr
            output.write_text(made.stdout)
    return CliDemo(data, output.read_text())


def beside_the_server(called: list[str]):
    """Stands in for the demo's worker thread where a test stands in for its server: a real
    worker thread would write through its own connection, outside the test's transaction, and
    leave rows behind for the next test. It notes that the worker was started (the demo's
    worker thread itself is tested in tests/jobs/test_worker.py)."""

    @contextmanager
    def worker_thread() -> Iterator[None]:
        called.append("worker")
        yield

    return worker_thread
