"""kill -9 of the real server in the middle of a stream of audited writes loses nothing it
acknowledged and leaves nothing half-written; a backup taken while the writes ran, and one
taken after the crash, both restore and verify."""

import http.client
import http.cookiejar
import json
import os
import signal
import sqlite3
import subprocess
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.demo_fixtures import KETACARE, run
from tests.web.test_serve import free_port

pytestmark = pytest.mark.skipif(
    bool(os.environ.get("DATABASE_URL")), reason="served on SQLite; the SQLite run covers it"
)

# Both keys from the environment, as a production server has them: the restored copies use the
# same ones (KETACARE_AUDIT_KEY keys the audit and ledger chains once they are keyed).
KEY = {"SECRET_KEY": "kill-test-key-not-secret", "KETACARE_AUDIT_KEY": "kill-test-audit-key"}
WRITERS = 4
KILL_AFTER = 120  # acknowledged writes before the kill; the writers are still going then
BACKUP_AFTER = 40  # acknowledged writes before the online backup starts

# A clinic, a nurse with the demo's password (made the way the demo makes its logins), and a
# DEA registration with a storage place and a product, so that receipts can be posted.
SETUP = """
import json
from django.core.management import call_command
call_command("migrate", interactive=False, verbosity=0)
from ketacare.actor import SYSTEM, Actor
from ketacare.accounts.actions import create_clinic
from ketacare.accounts.models import User
from ketacare.accounts.permissions import Role
from ketacare.inventory import actions
from ketacare.web.demo_data import ensure_staff
from ketacare.web.demo_inventory import DEA_NUMBER
clinic = create_clinic(SYSTEM, "Crash Test Clinic")
ensure_staff(clinic, "nurse", "Nora", "Nurse", Role.NURSE)
ensure_staff(clinic, "admin", "Ada", "Admin", Role.CLINIC_ADMIN)
admin = Actor(
    user=User.objects.get(username="admin"), role="clinic_admin", clinic=clinic, ip="127.0.0.1"
)
registration = actions.create_registration(admin, DEA_NUMBER, clinic.name, "1 Test Street")
safe = actions.add_location(admin, registration.pk, "Main safe", "safe")
product = actions.add_product(
    admin, ndc="00000-0101-20", name="Ketamine 10 mg/mL (test)", drug="racemic_ketamine",
    form="vial", mg_per_unit="10", unit="mL", units_per_package="20",
)
print("IDS " + json.dumps({"location": safe.pk, "product": product.pk}))
"""


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None  # a redirect is the acknowledgement: look at it, do not follow it


@dataclass
class Stream:
    """What the writers sent and what the server acknowledged, by the unique key of each
    write (a patient's family name, a receipt's lot number)."""

    base: str
    ids: dict
    jar: http.cookiejar.CookieJar = field(default_factory=http.cookiejar.CookieJar)
    acknowledged: dict = field(default_factory=lambda: {"patient": [], "receipt": []})
    sent: int = 0
    unexpected: list = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    stop: threading.Event = field(default_factory=threading.Event)

    def opener(self):
        return urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar), NoRedirect)

    def csrf(self) -> str:
        return next(c.value for c in self.jar if c.name == "csrftoken")

    def post(self, opener, path: str, data: dict) -> tuple[int, str]:
        request = urllib.request.Request(  # noqa: S310  (http to the test server)
            self.base + path,
            data=urllib.parse.urlencode({**data, "csrfmiddlewaretoken": self.csrf()}).encode(),
            headers={"X-CSRFToken": self.csrf(), "Referer": self.base + path},
        )
        try:
            with opener.open(request, timeout=30) as response:
                return response.status, ""
        except urllib.error.HTTPError as answer:
            return answer.code, answer.headers.get("Location", "")

    def sign_in(self) -> None:
        opener = self.opener()
        opener.open(self.base + "/login/", timeout=30).read()
        status, location = self.post(
            opener, "/login/", {"username": "nurse", "password": "ketacare-demo-2026"}
        )
        assert status == 302 and "/login" not in location, (status, location)

    def write(self, opener, n: int) -> None:
        if n % 2:
            kind, key = "receipt", f"KILL{n:05d}"
            path, expect = "/inventory/receive/", "/inventory/"
            data = {
                "product": self.ids["product"],
                "lot_number": key,
                "expires_on": "2030-01-31",
                "location": self.ids["location"],
                "quantity": "1",
                "supplier": "Crash Test Pharma",
                "invoice": f"INV-{key}",
            }
        else:
            kind, key = "patient", f"Killtest{n:05d}"
            path, expect = "/patients/new/", "/patients/"
            data = {
                "given_name": "Kim",
                "family_name": key,
                "date_of_birth": "1980-01-01",
                "sex_at_birth": "female",
                "allergies": "NKDA",
                "weight_kg": "70",
                "height_cm": "170",
            }
        status, location = self.post(opener, path, data)
        with self.lock:
            if status == 302 and location.startswith(expect) and "/new/" not in location:
                self.acknowledged[kind].append(key)
            else:
                self.unexpected.append((kind, key, status, location))

    def writer(self, first: int) -> None:
        opener = self.opener()
        n = first
        while not self.stop.is_set():
            with self.lock:
                self.sent += 1
            try:
                self.write(opener, n)
            except (OSError, http.client.HTTPException):
                return  # the server is gone: this write was never acknowledged
            n += WRITERS

    def count(self) -> int:
        with self.lock:
            return sum(len(keys) for keys in self.acknowledged.values())


def wait_until_up(base: str, server: subprocess.Popen) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and server.poll() is None:
        try:
            with urllib.request.urlopen(base + "/healthz", timeout=2) as response:  # noqa: S310
                if response.read() == b"ok":
                    return
        except OSError:
            time.sleep(0.2)
    raise AssertionError(f"the server did not start: {server.stderr.read().decode()[-2000:]}")


def rows(database: Path, sql: str) -> list[tuple]:
    with sqlite3.connect(database) as db:
        found = db.execute(sql).fetchall()
    db.close()
    return found


def assert_whole(database: Path, stream: Stream) -> None:
    """Every acknowledged write is there, and every write that is there is there whole."""
    patients = dict(rows(database, "SELECT family_name, id FROM patients_patient"))
    lots = dict(rows(database, "SELECT lot_number, id FROM inventory_lot"))
    assert set(stream.acknowledged["patient"]) <= set(patients)
    assert set(stream.acknowledged["receipt"]) <= set(lots)
    created = rows(
        database,
        "SELECT object_type, object_id FROM audit_auditevent WHERE action = 'create'",
    )
    audited = {(kind, int(pk)) for kind, pk in created if pk.isdigit()}
    measured = rows(database, "SELECT patient_id FROM patients_bodymeasurement")
    for pk in patients.values():
        assert ("patient", pk) in audited, f"patient id {pk} has no audit event"
        assert measured.count((pk,)) == 1, f"patient id {pk} lacks its first weight"
    entries = rows(database, "SELECT id, lot_id FROM inventory_ledgerentry")
    assert sorted(lot for _, lot in entries) == sorted(lots.values())  # one receipt per lot
    for pk, _ in entries:
        assert ("ledgerentry", pk) in audited, f"ledger entry id {pk} has no audit event"
    units = dict(rows(database, "SELECT lot_id, quantity_units FROM inventory_stockbalance"))
    assert {lot: float(u) for lot, u in units.items()} == dict.fromkeys(lots.values(), 1.0)


def verify(data_dir: Path) -> None:
    for command in (("audit", "verify"), ("inventory", "verify")):
        verdict = run(*command, data_dir=data_dir, env=KEY)
        assert verdict.returncode == 0, verdict.stderr


def restore_into(backup_dir: Path, data_dir: Path) -> None:
    (backup,) = [p for p in backup_dir.iterdir() if p.name.startswith("ketacare-")]
    restored = run("restore", str(backup), data_dir=data_dir, env=KEY)
    assert restored.returncode == 0, restored.stderr + restored.stdout
    assert "Audit chain intact" in restored.stdout and "Ledger intact" in restored.stdout


def test_kill_9_mid_write_loses_no_acknowledged_write_and_backups_restore(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    setup = run("shell", "-c", SETUP, data_dir=data, env=KEY)
    assert setup.returncode == 0, setup.stderr
    ids = json.loads(next(x for x in setup.stdout.splitlines() if x.startswith("IDS "))[4:])

    port = free_port()
    environment = {
        k: v
        for k, v in os.environ.items()
        if k not in ("DATABASE_URL", "DJANGO_SETTINGS_MODULE") and not k.startswith("KETACARE_")
    }
    environment.update({"KETACARE_DATA_DIR": str(data), "KETACARE_INSECURE_COOKIES": "1", **KEY})
    server = subprocess.Popen(
        [KETACARE, "serve", "--bind", f"127.0.0.1:{port}", "--workers", "2"],
        env=environment,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    stream = Stream(f"http://127.0.0.1:{port}", ids)
    online_backup, writers = None, []
    try:
        wait_until_up(stream.base, server)
        stream.sign_in()
        writers = [
            threading.Thread(target=stream.writer, args=(i,), daemon=True) for i in range(WRITERS)
        ]
        for writer in writers:
            writer.start()
        deadline = time.monotonic() + 60
        while stream.count() < KILL_AFTER and time.monotonic() < deadline:
            if online_backup is None and stream.count() >= BACKUP_AFTER:
                # `ketacare backup` while the server is writing: it must still be one state.
                online_backup = subprocess.Popen(
                    [KETACARE, "backup", "--to", str(tmp_path / "online")],
                    env=environment,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE,
                    text=True,
                )
            time.sleep(0.01)
        assert not stream.unexpected, stream.unexpected[:5]
        assert stream.count() >= KILL_AFTER, f"only {stream.count()} writes in a minute"
    finally:
        os.killpg(server.pid, signal.SIGKILL)  # the master and every worker, mid-request
        server.wait(timeout=20)
        stream.stop.set()
    for writer in writers:
        writer.join(timeout=30)
    acknowledged = stream.count()
    assert stream.sent > acknowledged  # some writes were in flight when it died
    assert online_backup is not None
    _, err = online_backup.communicate(timeout=60)
    assert online_backup.returncode == 0, err

    # Both verify commands run first: as after a real crash, they open the database and
    # SQLite rolls back whatever the dead writers left in its journal.
    verify(data)
    assert_whole(data / "ketacare.sqlite3", stream)

    restore_into(tmp_path / "online", tmp_path / "from-online-backup")
    online = rows(
        tmp_path / "from-online-backup" / "ketacare.sqlite3",
        "SELECT COUNT(*) FROM patients_patient",
    )
    assert (
        0 < online[0][0] <= len(rows(data / "ketacare.sqlite3", "SELECT id FROM patients_patient"))
    )

    after = run("backup", "--to", str(tmp_path / "after"), data_dir=data, env=KEY)
    assert after.returncode == 0, after.stderr
    restore_into(tmp_path / "after", tmp_path / "from-backup-after-crash")
    assert_whole(tmp_path / "from-backup-after-crash" / "ketacare.sqlite3", stream)
