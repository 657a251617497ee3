"""Settings from the environment: Kafka security, and secrets kept out of reprs."""

from __future__ import annotations

import pytest

from streams.config import ConfigError, KafkaSecurity, Settings

pytestmark = pytest.mark.unit


def test_sasl_ssl_settings_reach_every_client_and_the_password_stays_out_of_reprs(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("KAFKA_SECURITY_PROTOCOL", "sasl_ssl")
    monkeypatch.setenv("KAFKA_SASL_USERNAME", "windvane")
    monkeypatch.setenv("KAFKA_SASL_PASSWORD", "s3cr3t-Pa55")
    settings = Settings.from_env()
    kwargs = settings.client_kwargs()
    assert kwargs["security_protocol"] == "SASL_SSL"
    assert kwargs["sasl_mechanism"] == "SCRAM-SHA-512"
    assert kwargs["sasl_plain_username"] == "windvane"
    assert kwargs["sasl_plain_password"] == "s3cr3t-Pa55"
    assert kwargs["ssl_context"] is not None
    assert "s3cr3t-Pa55" not in repr(settings)
    assert "s3cr3t-Pa55" not in repr(settings.security.faust_credentials())


def test_plaintext_adds_nothing_and_unknown_protocols_are_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("KAFKA_SECURITY_PROTOCOL", raising=False)
    assert KafkaSecurity.from_env().aiokafka_kwargs() == {}
    monkeypatch.setenv("KAFKA_SECURITY_PROTOCOL", "SASL_TLS")
    with pytest.raises(ValueError, match="SASL_TLS"):
        KafkaSecurity.from_env()


def test_state_format_is_2_unless_a_rolling_upgrade_asks_for_1(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("WINDVANE_STATE_FORMAT", raising=False)
    assert Settings.from_env().state_format == 2
    monkeypatch.setenv("WINDVANE_STATE_FORMAT", "1")
    assert Settings.from_env().state_format == 1
    monkeypatch.setenv("WINDVANE_STATE_FORMAT", "3")
    with pytest.raises(ConfigError, match="WINDVANE_STATE_FORMAT"):
        Settings.from_env()
