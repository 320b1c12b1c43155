"""Text-message backends. A deployment plugs in its provider with KETACARE_SMS_BACKEND, a
class with ``send(to, body)``; these two keep messages local (demo and tests)."""

import sys
from datetime import UTC, datetime
from pathlib import Path

from django.conf import settings


class ConsoleBackend:
    def send(self, to: str, body: str) -> None:
        sys.stdout.write(f"[SMS to {to}] {body}\n")


class FileBackend:
    """Appends each message to ``<data dir>/outbox/sms.log``."""

    def send(self, to: str, body: str) -> None:
        outbox = Path(settings.DATA_DIR) / "outbox"
        outbox.mkdir(parents=True, exist_ok=True)
        stamp = datetime.now(UTC).isoformat(timespec="seconds")
        with (outbox / "sms.log").open("a", encoding="utf-8") as log:
            log.write(f"{stamp}\t{to}\t{body}\n")
