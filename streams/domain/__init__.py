"""Pure domain code: no Kafka, no Faust. Unit-testable and benchmarkable by itself."""
