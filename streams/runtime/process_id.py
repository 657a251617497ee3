"""A worker's stable identity under ``exactly_once_v2``: its transactional id survives a
restart, so a restarted worker's producer initialisation aborts the transaction its killed
predecessor left open at once, instead of every reader and every restore of those
partitions waiting for the coordinator's transaction timeout.

Kafka Streams keeps its process id in the state directory for the same reason. Here the id
lives in the data dir, as slots: a process takes the first slot whose lock file it can lock
(``flock``, released by the kernel when the process dies, however it dies), so two workers
started on one data dir get two ids (they would fence each other with one), and a worker
restarted on its data dir gets its old slot and id back."""

from __future__ import annotations

import fcntl
import os
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import IO

SLOTS = 64


@dataclass
class ProcessId:
    """The id and the open lock file that holds its slot (closed by :meth:`release`, or by
    the process's death)."""

    value: str
    lock: IO[bytes] | None

    def release(self) -> None:
        if self.lock is not None:
            self.lock.close()
            self.lock = None


def claim(directory: Path, prefix: str) -> ProcessId:
    """``<prefix>-<data dir id>-<slot>``, the data dir id made once (a random hex string in
    ``directory/process-id``) and the slot the first free one of :data:`SLOTS`."""
    directory.mkdir(parents=True, exist_ok=True)
    id_file = directory / "process-id"
    try:
        dir_id = id_file.read_text().strip()
    except FileNotFoundError:
        dir_id = ""
    if not dir_id:
        dir_id = uuid.uuid4().hex[:12]
        tmp = id_file.with_suffix(f".{os.getpid()}")
        tmp.write_text(dir_id + "\n")
        os.replace(tmp, id_file)  # two first starts at once: one id wins for both
        dir_id = id_file.read_text().strip()
    for slot in range(SLOTS):
        lock = (directory / f"slot-{slot}.lock").open("ab")
        try:
            fcntl.flock(lock.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            lock.close()
            continue
        return ProcessId(f"{prefix}-{dir_id}-{slot}", lock)
    # more than SLOTS live workers on one data dir: a fresh id, unstable across restarts
    return ProcessId(f"{prefix}-{uuid.uuid4().hex[:12]}", None)
