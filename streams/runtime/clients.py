"""Every Kafka client of the quote runtime, configured in one place."""

from __future__ import annotations

from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.coordinator.assignors.range import RangePartitionAssignor

from streams.config import Settings


class Clients:
    """Consumers and producers for the tasks of one app id (group ``<app>-quotes``)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.group_id = f"{settings.app_id}-quotes"

    def consumer(self) -> AIOKafkaConsumer:
        """The group member: manual commits, read_committed, range assignment (partition p of
        every co-partitioned input goes to the same worker)."""
        timeout = self.settings.session_timeout
        return AIOKafkaConsumer(
            **self.settings.client_kwargs(),
            group_id=self.group_id,
            client_id=f"{self.group_id}-consumer",
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            isolation_level="read_committed",
            partition_assignment_strategy=(RangePartitionAssignor,),
            session_timeout_ms=int(timeout * 1000),
            heartbeat_interval_ms=int(min(3.0, timeout / 4) * 1000),
            max_partition_fetch_bytes=4 * 1024 * 1024,
        )

    def restore_consumer(self) -> AIOKafkaConsumer:
        """Reads changelog partitions (assigned, no group) up to their committed end."""
        return AIOKafkaConsumer(
            **self.settings.client_kwargs(),
            group_id=None,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            isolation_level="read_committed",
            client_id=f"{self.group_id}-restore",
        )

    def uncommitted_consumer(self) -> AIOKafkaConsumer:
        """Reads ends (high watermarks) including open transactions: where they differ from
        the committed ends, a transaction is still open on the partition."""
        return AIOKafkaConsumer(
            **self.settings.client_kwargs(),
            group_id=None,
            enable_auto_commit=False,
            isolation_level="read_uncommitted",
            client_id=f"{self.group_id}-restore-probe",
        )

    def worker_producer(self, transactional_id: str) -> AIOKafkaProducer:
        """The worker's one transactional producer (``exactly_once_v2``): every task's
        outputs, changelog entries and input offsets go in one transaction per round. A
        short transaction timeout (Kafka Streams' 10 s under exactly-once): the open
        transaction of a worker that died holds the changelogs' stable offset back until
        the coordinator aborts it, and a new owner waits for that."""
        return AIOKafkaProducer(
            **self._producer_common(),
            client_id=f"{self.group_id}-producer",
            transactional_id=transactional_id,
            transaction_timeout_ms=10000,
            retry_backoff_ms=20,  # see producer()
        )

    def _producer_common(self) -> dict[str, Any]:
        return {
            **self.settings.client_kwargs(),
            "acks": "all",
            "enable_idempotence": True,
            "linger_ms": 0,  # the runtime hands over whole batches (send_batch): no waiting
            "max_batch_size": 512 * 1024,
        }

    def producer(self, partition: int | None) -> AIOKafkaProducer:
        """The transactional producer of task ``partition`` (exactly-once), or the worker's
        one idempotent producer (``None``: at-least-once)."""
        common = self._producer_common()
        if partition is None:
            return AIOKafkaProducer(client_id=f"{self.group_id}-producer", **common)
        return AIOKafkaProducer(
            client_id=f"{self.group_id}-{partition}",
            transactional_id=f"{self.settings.app_id}-quotes-{partition}",
            transaction_timeout_ms=60000,
            # a transaction right after the previous one's commit is refused with
            # CONCURRENT_TRANSACTIONS until its markers are written; retry soon, as the
            # Java client does (its 20 ms special case), not after the default 100 ms
            retry_backoff_ms=20,
            **common,
        )
