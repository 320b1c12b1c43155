"""`ketacare serve` starts the production server (gunicorn) and answers on its health check."""

import os
import signal
import subprocess
import time
import urllib.request

import pytest

from tests.demo_fixtures import KETACARE, run


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.skipif(
    bool(os.environ.get("DATABASE_URL")), reason="served on SQLite; the SQLite run covers it"
)
def test_serve_migrates_and_answers(tmp_path):
    port = free_port()
    environment = {
        k: v
        for k, v in os.environ.items()
        if k not in ("DATABASE_URL", "DJANGO_SETTINGS_MODULE") and not k.startswith("KETACARE_")
    }
    environment.update({"KETACARE_DATA_DIR": str(tmp_path), "SECRET_KEY": "serve-test-key"})
    server = subprocess.Popen(
        [KETACARE, "serve", "--migrate", "--bind", f"127.0.0.1:{port}", "--workers", "1"],
        env=environment,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 60
        body = None
        while time.monotonic() < deadline and server.poll() is None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as r:
                    body = r.read().decode()
                    break
            except OSError:
                time.sleep(0.3)
        assert body == "ok", server.stderr.read().decode() if server.poll() is not None else body
        # Production: cookies are Secure (never sent over plain http); static files are served.
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/login/", timeout=5) as r:
            assert "csrftoken=" in r.headers["Set-Cookie"]
            assert "Secure" in r.headers["Set-Cookie"]
            assert "script-src 'self'" in r.headers["Content-Security-Policy"]
        css = f"http://127.0.0.1:{port}/static/ketacare/ketacare.css"
        with urllib.request.urlopen(css, timeout=5) as r:
            assert r.status == 200
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=20)


def test_serve_refuses_the_demo_key_left_in_the_data_directory(tmp_path):
    (tmp_path / "secret_key").write_text("left-by-the-demo")
    result = run("serve", data_dir=tmp_path)
    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr
