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

    def producer(self, partition: int | None) -> AIOKafkaProducer:
        """The transactional producer of task ``partition`` (exactly-once), or the worker's
        one idempotent producer (``None``: at-least-once)."""
        common: dict[str, Any] = {
            **self.settings.client_kwargs(),
            "acks": "all",
            "enable_idempotence": True,
            "linger_ms": 0,  # the runtime hands over whole batches (send_batch): no waiting
            "max_batch_size": 512 * 1024,
        }
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
