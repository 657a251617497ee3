"""Transactional offset commits that carry the consumer group's generation (KIP-447).

aiokafka sends ``TxnOffsetCommit`` at version 0: the group coordinator checks the producer
but not the group member, so one producer may only commit offsets for partitions no other
producer can write: one transactional id per task (``exactly_once``). With one producer per
worker (``exactly_once_v2``, as Kafka Streams' ``exactly_once_v2``) a worker that lost a
partition in a rebalance it has not seen yet (a zombie: paused, cut off) must have its commit
refused. Version 3 of the request carries the member id and the generation the worker's
consumer has; the coordinator refuses a stale one (``ILLEGAL_GENERATION``,
``UNKNOWN_MEMBER_ID``, ``FENCED_INSTANCE_ID``) and the transaction is aborted.

:func:`install` swaps the request aiokafka's sender builds for the producer's offset commits;
everything else in aiokafka (retries, coordinator lookup, the transaction's state) is
unchanged. The request and response layouts are Kafka's ``TxnOffsetCommitRequest.json`` and
``TxnOffsetCommitResponse.json`` at version 3 (flexible).
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable
from typing import Any

from aiokafka import AIOKafkaProducer
from aiokafka import errors as Errors
from aiokafka.client import CoordinationType
from aiokafka.protocol.api import Request, RequestStruct, Response
from aiokafka.protocol.types import (
    CompactArray,
    CompactString,
    Int16,
    Int32,
    Int64,
    Schema,
    TaggedFields,
)
from aiokafka.structs import TopicPartition

log = logging.getLogger("windvane.runtime")

GroupMetadata = tuple[int, str]
"""(generation id, member id) of the consumer whose offsets a transaction commits."""


class MemberFenced(Errors.CommitFailedError):
    """The group moved on: this worker's generation or member id is no longer current."""


class TxnOffsetCommitResponse_v3(Response):
    API_KEY = 28
    API_VERSION = 3
    SCHEMA = Schema(
        ("throttle_time_ms", Int32),
        (
            "errors",
            CompactArray(
                ("topic", CompactString("utf-8")),
                (
                    "partition_errors",
                    CompactArray(
                        ("partition", Int32),
                        ("error_code", Int16),
                        ("tags", TaggedFields),
                    ),
                ),
                ("tags", TaggedFields),
            ),
        ),
        ("tags", TaggedFields),
    )


class TxnOffsetCommitRequest_v3(RequestStruct):
    FLEXIBLE_VERSION = True
    API_KEY = 28
    API_VERSION = 3
    RESPONSE_TYPE = TxnOffsetCommitResponse_v3
    SCHEMA = Schema(
        ("transactional_id", CompactString("utf-8")),
        ("group_id", CompactString("utf-8")),
        ("producer_id", Int64),
        ("producer_epoch", Int16),
        ("generation_id", Int32),
        ("member_id", CompactString("utf-8")),
        ("group_instance_id", CompactString("utf-8")),
        (
            "topics",
            CompactArray(
                ("topic", CompactString("utf-8")),
                (
                    "partitions",
                    CompactArray(
                        ("partition", Int32),
                        ("offset", Int64),
                        ("leader_epoch", Int32),
                        ("metadata", CompactString("utf-8")),
                        ("tags", TaggedFields),
                    ),
                ),
                ("tags", TaggedFields),
            ),
        ),
        ("tags", TaggedFields),
    )


class TxnOffsetCommitRequest(Request[TxnOffsetCommitRequest_v3]):
    API_KEY = 28

    def __init__(
        self,
        transactional_id: str,
        group_id: str,
        producer_id: int,
        producer_epoch: int,
        member: GroupMetadata,
        topics: list[tuple[str, list[tuple[int, int, str]]]],
    ) -> None:
        self._args = (transactional_id, group_id, producer_id, producer_epoch, member, topics)

    def build(self, request_struct_class: type[TxnOffsetCommitRequest_v3]) -> Any:
        transactional_id, group_id, producer_id, epoch, (generation, member_id), topics = self._args
        return request_struct_class(
            transactional_id,
            group_id,
            producer_id,
            epoch,
            generation,
            member_id,
            None,  # no static membership
            [(t, [(p, o, -1, m, {}) for p, o, m in ps], {}) for t, ps in topics],
            {},
        )


_STALE = {
    Errors.IllegalGenerationError,
    Errors.UnknownMemberIdError,
    getattr(Errors, "FencedInstanceIdError", Errors.IllegalGenerationError),
    Errors.RebalanceInProgressError,
}


def install(producer: AIOKafkaProducer, member: Callable[[], GroupMetadata]) -> None:
    """Make ``producer`` commit transactional offsets with version 3 and the group metadata
    ``member()`` gives at the moment the request is built."""
    from aiokafka.producer.sender import TxnOffsetCommitHandler

    sender = producer._sender

    class Handler(TxnOffsetCommitHandler):
        def create_request(self) -> TxnOffsetCommitRequest:
            txn = self._sender._txn_manager
            topics: dict[str, list[tuple[int, int, str]]] = defaultdict(list)
            for tp, offset in sorted(self._offsets.items()):
                topics[tp.topic].append((tp.partition, offset.offset, offset.metadata))
            return TxnOffsetCommitRequest(
                txn.transactional_id,
                self._group_id,
                txn.producer_id,
                txn.producer_epoch,
                member(),
                list(topics.items()),
            )

        def handle_response(self, resp: Any) -> float | None:
            for topic, partitions, _tags in resp.errors:
                for partition, error_code, _ptags in partitions:
                    error = Errors.for_code(error_code)
                    if error in _STALE:
                        tp = TopicPartition(topic, partition)
                        log.warning("offsets of %s refused: %s (a newer generation)", tp, error)
                        self._sender._txn_manager.error_transaction(MemberFenced(str(error)))
                        return None
            # everything else as aiokafka handles it (its loop unpacks two fields a partition)
            resp.errors = [(t, [(p, e) for p, e, _ in ps]) for t, ps, _tags in resp.errors]
            result: float | None = super().handle_response(resp)
            return result

    async def commit(offsets: Any, group_id: str) -> None:
        if not offsets:
            return
        try:
            node_id = await sender._find_coordinator(CoordinationType.GROUP, group_id)
        except Errors.GroupAuthorizationFailedError as exc:
            sender._txn_manager.error_transaction(exc)
            return
        await Handler(sender, offsets, group_id).do(node_id)

    sender._do_txn_offset_commit = commit
