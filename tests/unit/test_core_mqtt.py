"""Broker URLs are read one way by every MQTT client of the platform."""

from __future__ import annotations

from core.mqtt import broker_address, mqtt_client


def test_plain_url_defaults_to_1883_without_credentials() -> None:
    address = broker_address("mqtt://127.0.0.1")
    assert (address.host, address.port, address.tls, address.username) == ("127.0.0.1", 1883, False, None)


def test_tls_url_defaults_to_8883_and_keeps_credentials_out_of_where() -> None:
    address = broker_address("mqtts://collector:s3cret@broker.example")
    assert (address.port, address.tls, address.username, address.password) == (8883, True, "collector", "s3cret")
    assert address.where == "broker.example:8883"


def test_client_carries_the_credentials() -> None:
    client, address = mqtt_client("mqtt://gw:pw@127.0.0.1:41883", "test-client", manual_ack=True)
    assert address.port == 41883
    assert client._username == b"gw"  # paho keeps them as bytes until CONNECT
    assert client._password == b"pw"
