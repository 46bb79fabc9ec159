"""The web perimeter's settings (README, Hardening): each malformed entry stops start-up with a
message naming the setting, and the public host of COMPLAINTS_BASE_URL is always allowed."""

import pytest

from api.app import web_security_of
from api.web_security import host_name
from engine.settings import Settings


def test_the_allowed_hosts_are_the_loopback_names_the_public_host_and_those_listed():
    web = web_security_of(
        Settings(base_url="https://Complaints.Example.com/app", allowed_hosts="api, Intra.local")
    )
    assert web.allowed_hosts == {
        "localhost", "127.0.0.1", "complaints.example.com", "api", "intra.local"
    }  # fmt: skip
    assert web.trusted_proxies == () and web.session_lifetime.total_seconds() == 12 * 3600


@pytest.mark.parametrize("value", ["https://a.example", "a.example:8443", "a.example/x", "a b"])
def test_a_malformed_allowed_host_names_the_setting(value: str):
    with pytest.raises(ValueError, match=f"COMPLAINTS_ALLOWED_HOSTS: {value!r} is not a host"):
        web_security_of(Settings(allowed_hosts=value))


def test_trusted_proxies_are_addresses_or_networks():
    web = web_security_of(Settings(trusted_proxies="10.0.0.5, 10.1.0.0/16,::1"))
    assert web.trusted_proxies == ("10.0.0.5", "10.1.0.0/16", "::1")
    with pytest.raises(ValueError, match="COMPLAINTS_TRUSTED_PROXIES: 'proxy.local' is not an IP"):
        web_security_of(Settings(trusted_proxies="10.0.0.5,proxy.local"))


@pytest.mark.parametrize(
    ("header", "name"),
    [("127.0.0.1:8000", "127.0.0.1"), ("Example.COM", "example.com"), ("[::1]:8000", "::1"),
     ("[::1]", "::1"), ("", "")],
)  # fmt: skip
def test_the_host_name_of_a_host_header(header: str, name: str):
    assert host_name(header) == name
