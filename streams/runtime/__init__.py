"""The quote path's runtime: Kafka Streams' task model on aiokafka, one concern a module.

Partition ``p`` of every co-partitioned input (``quotes.raw``, ``claims.bysymbol``) is one
*task* (:mod:`~streams.runtime.task`). A task owns the live state of the symbols hashed to
``p`` in changelogged stores (:mod:`~streams.runtime.store`: explicit set/delete, deletes as
tombstones) backed by two compacted changelogs, partition ``p`` of each, from which a new
owner restores it (:mod:`~streams.runtime.restore`). The loop (:mod:`~streams.runtime.runner`)
keeps fetching and processing while the previous commit is in flight; a commit round every
``WINDVANE_COMMIT_INTERVAL_MS`` goes through one of three strategies
(:mod:`~streams.runtime.checkpoint`):

* **exactly_once**: one transactional producer per task (``<app>-quotes-<p>``: a
  new owner fences the old one and aborts its open transaction). The outputs, the changelog
  entries of the states the round touched and the input offsets go into one transaction.
* **exactly_once_v2** (default): one transactional producer per worker (Kafka Streams'
  ``exactly_once_v2``): a round is one transaction for every task; zombies are fenced by the
  group generation sent with the offsets (:mod:`~streams.runtime.group_offsets`), and a new
  owner restores only once no transaction is open on the task's changelog partitions.
* **at_least_once**: one idempotent producer; outputs and changelog are acknowledged, then
  the group's offsets committed. A crash replays at most the uncommitted records.

Outputs leave as whole batches per topic-partition (:mod:`~streams.runtime.sender`), keyed as
the Java client would partition them; every client is made in :mod:`~streams.runtime.clients`.

Why not Faust's agents for this path: faust-streaming 0.15.3's exactly-once loses and
duplicates outputs across SIGKILL restarts and crashes with ``ConsistencyError`` on a
rebalance (see the README's Reliability section). The article path stays on Faust agents;
this runtime runs inside the same Faust worker as a service.

A record that raises an unexpected error inside the domain (a bug) may have half-changed its
symbol's state; the task then discards its uncommitted work, restores its state from the
changelog and replays, dead-lettering that one record (Kafka Streams' "task corrupted").
"""

from streams.runtime.runner import QuoteTasks
from streams.runtime.task import Task, TaskCorrupted

__all__ = ["QuoteTasks", "Task", "TaskCorrupted"]
