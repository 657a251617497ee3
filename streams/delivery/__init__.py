"""Alert delivery beyond Kafka: signed webhooks (JSON or Slack format) and Prometheus
Alertmanager, with retries, backoff with jitter, and a dead letter for what fails for good."""
