"""Text-message backends for the tests, set as KETACARE_SMS_BACKEND like a deployment's
provider: one that keeps what it was given, one whose gateway is down."""

from typing import ClassVar


class RecordingBackend:
    sent: ClassVar[list[tuple[str, str]]] = []

    def send(self, to: str, body: str) -> None:
        RecordingBackend.sent.append((to, body))


class GatewayDown(ConnectionError):
    pass


class DownBackend:
    def send(self, to: str, body: str) -> None:
        raise GatewayDown("The SMS gateway answered HTTP 503.")


class SlowBackend(RecordingBackend):
    """A gateway that takes its time: a second sender arrives while the first is sending."""

    def send(self, to: str, body: str) -> None:
        import time

        time.sleep(0.3)
        super().send(to, body)
