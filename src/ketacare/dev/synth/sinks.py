"""Where ``bulk.BulkOps`` puts its rows: the ids the database would give are taken here, and
the rows go to a ``writer.Writer`` in this process or, by pipe, in a forked writer process."""

import multiprocessing
import pickle
import traceback
from typing import Any

from django.db import connection, connections, models

from ketacare.dev.synth.params import SynthError
from ketacare.dev.synth.writer import (
    BULK_MODELS,
    FLUSH_ROWS,
    SEND_MESSAGES,
    Heads,
    Writer,
    next_free_id,
)


class Sink:
    """Where ``BulkOps`` puts its rows: ids are taken here, the next free ones of each table
    when the run began, counting up (what the database would have given)."""

    def __init__(self) -> None:
        self.next_ids = {model: next_free_id(model._meta.db_table) for model in BULK_MODELS}

    def take(self, model: type[models.Model]) -> int:
        pk = self.next_ids[model]
        self.next_ids[model] = pk + 1
        return pk


class LocalSink(Sink):
    """The writer in this process."""

    def __init__(self) -> None:
        super().__init__()
        self.writer = Writer()

    def insert(self, model: type[models.Model], **row: Any) -> int:
        pk = self.take(model)
        self.writer.insert(model, pk, row)
        return pk

    def update(self, model: type[models.Model], pk: int, **values: Any) -> None:
        self.writer.update(model, pk, values)

    def audit(self, content: dict[str, Any]) -> None:
        self.writer.audit(content)

    def checkpoint(self, heads: Heads) -> None:
        if self.writer.buffered >= FLUSH_ROWS:
            self.writer.write(heads)

    def finish(self, heads: Heads) -> float:
        self.writer.finish(heads)
        return self.writer.seconds


class PipeSink(Sink):
    """The writer in a forked process with its own connection, fed batches of messages:
    hashing the audit chain and writing overlap with the simulation. ``loopback`` sends the
    same messages, pickled, to a writer in this process (for the tests: the in-memory test
    database is not shared with another process)."""

    def __init__(self, loopback: bool = False) -> None:
        super().__init__()
        self.messages: list[tuple[Any, ...]] = []
        self.loopback = Writer() if loopback else None
        if self.loopback is None:
            connections.close_all()  # the child must not share this process's connection
            context = multiprocessing.get_context("fork")
            self.conn, child = context.Pipe()
            self.process = context.Process(target=_write_from, args=(child,), daemon=True)
            self.process.start()
            child.close()

    def insert(self, model: type[models.Model], **row: Any) -> int:
        pk = self.take(model)
        self.messages.append(("i", model, pk, row))
        return pk

    def update(self, model: type[models.Model], pk: int, **values: Any) -> None:
        self.messages.append(("u", model, pk, values))

    def audit(self, content: dict[str, Any]) -> None:
        self.messages.append(("a", content))

    def checkpoint(self, heads: Heads) -> None:
        if len(self.messages) >= SEND_MESSAGES:
            self.send(("batch", self.messages, heads))
            self.messages = []

    def finish(self, heads: Heads) -> float:
        self.send(("finish", self.messages, heads))
        self.messages = []
        if self.loopback is not None:
            return self.loopback.seconds
        reply = self.conn.recv()
        self.process.join()
        if reply[0] != "done":
            raise SynthError(f"The writer process failed:\n{reply[1]}")
        return float(reply[1])

    def send(self, message: tuple[Any, ...]) -> None:
        if self.loopback is not None:
            _serve(self.loopback, pickle.loads(pickle.dumps(message)))  # noqa: S301
            return
        try:
            self.conn.send(message)
        except OSError:
            reply = self.conn.recv() if self.conn.poll(5) else ("error", "no reply")
            raise SynthError(f"The writer process failed:\n{reply[1]}") from None


def _serve(writer: Writer, message: tuple[Any, ...]) -> bool:
    """Apply one batch; True when it was the last."""
    kind, messages, heads = message
    writer.apply(messages)
    if kind == "finish":
        writer.finish(heads)
        return True
    if writer.buffered >= FLUSH_ROWS:
        writer.write(heads)
    return False


def _write_from(conn: Any) -> None:
    """The writer process: batches in, written in order, until the last."""
    try:
        writer = Writer()
        while not _serve(writer, conn.recv()):
            pass
        conn.send(("done", writer.seconds))
    except BaseException:
        conn.send(("error", traceback.format_exc()))
    finally:
        connections.close_all()


def sink_for(writer: str) -> LocalSink | PipeSink:
    """The sink the ``writer`` argument of ``synthesize`` names (see there)."""
    if writer == "auto":
        # Another process can neither see an in-memory database nor join the caller's
        # transaction (a test's, say): then the writer stays in this process.
        shared = not (
            connection.vendor == "sqlite" and connection.is_in_memory_db()  # type: ignore[attr-defined]  # SQLite's wrapper only
        )
        can_fork = "fork" in multiprocessing.get_all_start_methods()
        outside = not connection.in_atomic_block
        writer = "process" if shared and can_fork and outside else "local"
    if writer == "local":
        return LocalSink()
    if writer in ("process", "loopback"):
        return PipeSink(loopback=writer == "loopback")
    raise SynthError(f"Unknown writer {writer!r}.")
