"""The SSRF guard: hostile webhook URLs are refused with a reason; public and allowlisted ones pass."""

from __future__ import annotations

import ipaddress
import socket

import pytest

from apps.alerts.urlsafety import UnsafeWebhookURL, address_problem, webhook_target_resolve

HOSTILE = [
    ("https://10.0.0.1/hook", "private"),
    ("https://192.168.1.20/hook", "private"),
    ("https://172.16.5.4/hook", "private"),
    ("https://169.254.169.254/latest/meta-data/", "metadata"),
    ("https://100.100.100.200/latest/meta-data/", "metadata"),
    ("https://metadata.google.internal/computeMetadata/v1/", "metadata"),
    ("https://localhost/hook", "loopback"),
    ("https://LOCALHOST./hook", "loopback"),
    ("https://127.0.0.1:8443/hook", "loopback"),
    ("https://[::1]/hook", "loopback"),
    ("https://[::ffff:127.0.0.1]/hook", "loopback"),
    ("https://[::ffff:a9fe:a9fe]/hook", "metadata"),
    ("https://[fd00:ec2::254]/hook", "metadata"),
    ("https://[fe80::1]/hook", "link-local"),
    ("https://2130706433/hook", "non-canonical"),
    ("https://0x7f000001/hook", "non-canonical"),
    ("https://0177.0.0.1/hook", "non-canonical"),
    ("https://0x7f.0.0.1/hook", "non-canonical"),
    ("https://127.1/hook", "non-canonical"),
    ("https://0.0.0.0/hook", "unspecified"),
    ("https://224.0.0.1/hook", "multicast"),
    ("https://100.64.0.1/hook", "not a public"),
    ("https://user:pass@example.com/hook", "credentials"),
    ("ftp://example.com/hook", "scheme"),
    ("file:///etc/passwd", "scheme"),
    ("javascript:alert(1)", "scheme"),
    ("https:///nohost", "no host"),
    ("https://exa mple.com/", "whitespace"),
    ("https://example.com:99999/", "valid URL"),
    ("http://93.184.216.34/hook", "https"),
]


@pytest.mark.parametrize(("url", "reason"), HOSTILE)
def test_hostile_urls_are_rejected_with_a_reason(settings, url, reason):
    settings.ALERTS_WEBHOOK_REQUIRE_HTTPS = True
    settings.ALERTS_WEBHOOK_ALLOWLIST = []
    with pytest.raises(UnsafeWebhookURL) as caught:
        webhook_target_resolve(url=url)
    assert reason in str(caught.value), str(caught.value)
    assert str(caught.value).startswith("webhook_url: ")


def test_a_dns_name_resolving_to_a_private_address_is_rejected(settings):
    """Names from the resolver (here /etc/hosts), not literals: the check is on what they resolve to."""
    settings.ALERTS_WEBHOOK_ALLOWLIST = []
    hostname = socket.gethostname()
    names = ["localhost", hostname]
    for name in names:
        addresses = {info[4][0] for info in socket.getaddrinfo(name, 443, type=socket.SOCK_STREAM)}
        assert all(address_problem(ipaddress.ip_address(a.split("%")[0])) for a in addresses), (name, addresses)
        with pytest.raises(UnsafeWebhookURL, match=r"→"):
            webhook_target_resolve(url=f"https://{name}/hook")


def test_an_unresolvable_name_is_rejected(settings):
    with pytest.raises(UnsafeWebhookURL, match="does not resolve"):
        webhook_target_resolve(url="https://no-such-host.invalid/hook")


def test_public_addresses_pass_and_are_pinned(settings):
    settings.ALERTS_WEBHOOK_REQUIRE_HTTPS = True
    target = webhook_target_resolve(url="https://93.184.216.34:8443/hook?x=1")
    assert target.pinned == ipaddress.ip_address("93.184.216.34")
    assert (target.scheme, target.port) == ("https", 8443)
    v6 = webhook_target_resolve(url="https://[2606:4700:4700::1111]/hook")
    assert str(v6.pinned) == "2606:4700:4700::1111"


def test_http_is_allowed_only_when_https_is_not_required(settings):
    settings.ALERTS_WEBHOOK_REQUIRE_HTTPS = False
    assert webhook_target_resolve(url="http://93.184.216.34/hook").port == 80
    settings.ALERTS_WEBHOOK_REQUIRE_HTTPS = None  # follows DEBUG
    settings.DEBUG = False
    with pytest.raises(UnsafeWebhookURL, match="https"):
        webhook_target_resolve(url="http://93.184.216.34/hook")


def test_the_allowlist_admits_a_local_receiver_by_network_or_name(settings):
    settings.ALERTS_WEBHOOK_REQUIRE_HTTPS = False
    settings.ALERTS_WEBHOOK_ALLOWLIST = ["127.0.0.0/8"]
    assert str(webhook_target_resolve(url="http://127.0.0.1:9/hook").pinned) == "127.0.0.1"
    assert str(webhook_target_resolve(url="http://localhost:9/hook").pinned) == "127.0.0.1"
    # The allowlist does not open other private ranges, nor the non-canonical spellings.
    for url in ("http://10.0.0.1/hook", "http://169.254.169.254/", "http://2130706433/"):
        with pytest.raises(UnsafeWebhookURL):
            webhook_target_resolve(url=url)
    settings.ALERTS_WEBHOOK_ALLOWLIST = ["localhost"]
    assert webhook_target_resolve(url="http://localhost:9/hook").host == "localhost"
    with pytest.raises(UnsafeWebhookURL):
        webhook_target_resolve(url="http://127.0.0.1:9/hook")
