"""Tools around the runtime, not part of it: the ``windvane`` command line (``cli``), the demo,
a local Kafka broker from Maven Central jars (``kafka_local``), input files as records
(``sources``) and the extraction scores (``evaluation``). The worker (``streams.app``,
``streams.runtime``) imports none of them."""
