"""Webhook URLs the platform refuses to send to (SSRF, issue 15 D1), with production's default policy.

Every URL of the probe is refused at registration with a 422 naming `url`; the test-only loopback allowance is
off by default (`test_default_policy_refuses_loopback`). Delivery-time checks are in
tests/integration/test_api_webhook_security.py."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.egress import NOT_PUBLIC, EgressPolicy, EgressRefused, address_refusal, check_url, resolve_host
from tests.unit.test_api_support import START, Clock, FakeInflux, World, bearer, make_world

ZONE = {"hooks.bank-a.example": ["93.184.215.14"], "v6.bank-a.example": ["2606:4700::6810:84e5"],
        "internal.bank-a.example": ["10.1.2.3"], "mixed.bank-a.example": ["93.184.215.14", "127.0.0.1"],
        "meta.bank-a.example": ["169.254.169.254"], "mapped.bank-a.example": ["::ffff:127.0.0.1"]}
"""A bank's DNS zone as this machine's resolver would answer it (the machine has no outside DNS)."""
POLICY = EgressPolicy(resolve=lambda host, port: ZONE.get(host, []))


@pytest.fixture
def world(tmp_path: Path) -> World:
    return make_world(tmp_path)


def client(world: World, policy: EgressPolicy | None = POLICY) -> TestClient:
    return TestClient(create_app(registry_url=world.url, influx=FakeInflux(), clock=Clock(START),  # type: ignore[arg-type]
                                 webhook_policy=policy))


def register(world: World, url: str, policy: EgressPolicy | None = POLICY,
             api: TestClient | None = None) -> tuple[int, dict[str, object]]:
    response = (api or client(world, policy)).post("/v1/webhooks", json={"url": url, "events": ["shutdown"]},
                                                   headers=bearer(world.keys["a"]))
    return response.status_code, response.json()


PROBE = [
    "https://127.0.0.1:8086/query?q=CREATE%20DATABASE%20x", "https://169.254.169.254/latest/meta-data/",
    "https://[::1]/", "https://0x7f000001/", "https://2130706433/", "https://user:pw@10.0.0.1/",
    "https://127.1/", "https://0177.0.0.1/", "https://0x7f.0.0.1/", "https://10.0.0.1/", "https://192.168.1.1/",
    "https://172.16.0.1/", "https://100.64.0.1/", "https://[fd00::1]/", "https://[fe80::1]/",
    "https://[::ffff:127.0.0.1]/", "https://[::ffff:7f00:1]/", "https://[64:ff9b::a00:1]/", "https://[2002:a00:1::]/",
    "https://224.0.0.1/", "https://[ff02::1]/", "https://0.0.0.0/", "https://[::]/", "https://255.255.255.255/",
    "https://localhost/", "https://api.localhost/", "https://influxdb/", "https://grafana.internal/",
    "https://internal.bank-a.example/", "https://mixed.bank-a.example/", "https://meta.bank-a.example/",
    "https://mapped.bank-a.example/", "https://unknown.bank-a.example/",
    "https://hooks.bank-a.example@127.0.0.1/", "https://hooks.bank-a.example:@127.0.0.1/",
    "https://hooks.bank-a.example\\@127.0.0.1/", "https://%31%32%37.0.0.1/", "https://hooks.bank-a.example:0/",
    "https://hooks.bank-a.example/#frag", "http://hooks.bank-a.example/", "ftp://hooks.bank-a.example/",
    "https://hooks.bank-a.example /x",
]


def test_ssrf_probe_urls_are_refused_at_registration(world: World) -> None:
    api = client(world)
    answers = {url: register(world, url, api=api) for url in PROBE}
    accepted = [url for url, (status, _) in answers.items() if status != 422]
    assert accepted == []
    for _status, body in answers.values():
        message = str(body["detail"]).removeprefix("body parameter 'url': ")
        assert body["errors"] == [{"in": "body", "name": "url", "message": message}]
    assert api.get("/v1/webhooks", headers=bearer(world.keys["a"])).json() == []


def test_default_policy_refuses_loopback(world: World) -> None:
    """The loopback allowance tests use for a local receiver is off unless asked for, in the app's default too."""
    assert EgressPolicy().allow_loopback is False and EgressPolicy().allow_http is False
    assert register(world, "https://127.0.0.1:9/hook", None)[0] == 422
    assert register(world, "https://localhost.localdomain.example/", EgressPolicy(resolve=resolve_host))[0] == 422
    assert address_refusal("127.0.0.1", EgressPolicy()) == "loopback"
    assert address_refusal("127.0.0.1", EgressPolicy(allow_loopback=True)) is None
    assert address_refusal("10.0.0.1", EgressPolicy(allow_loopback=True)) == "private"  # loopback and nothing else
    assert address_refusal("::ffff:127.0.0.1", EgressPolicy(allow_loopback=True)) == "IPv4-mapped IPv6 address"


def test_public_urls_are_accepted(world: World) -> None:
    api = client(world)
    for url in ("https://hooks.bank-a.example/enerdiag?x=1", "https://hooks.bank-a.example:8443/h",
                "https://v6.bank-a.example/", "https://93.184.215.14/hook", "https://[2606:4700::6810:84e5]:8443/hook",
                "https://HOOKS.Bank-A.example./x"):
        status, body = register(world, url, api=api)
        assert (status, body["url"]) == (201, url), body


def test_unresolvable_and_private_names_get_the_same_answer() -> None:
    """Which internal names exist is not revealed: a name that does not resolve reads like a private one."""
    answers = set()
    for url in ("https://internal.bank-a.example/", "https://unknown.bank-a.example/"):
        with pytest.raises(EgressRefused) as refused:
            check_url(url, POLICY)
        answers.add(str(refused.value))
    assert answers == {NOT_PUBLIC}


def test_target_connects_to_the_checked_address_and_keeps_the_name() -> None:
    target = check_url("https://hooks.bank-a.example:8443/h?x=1", POLICY)
    assert (target.url, target.host_header, target.sni_hostname, target.address) == (
        "https://93.184.215.14:8443/h?x=1", "hooks.bank-a.example:8443", "hooks.bank-a.example", "93.184.215.14")
    v6 = check_url("https://v6.bank-a.example/", POLICY)
    assert v6.url == "https://[2606:4700::6810:84e5]/" and v6.host_header == "v6.bank-a.example"
