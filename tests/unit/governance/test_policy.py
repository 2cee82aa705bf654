"""automate.policy.check_url: which outbound URLs are refused, and why (no network)."""

import pickle
import socket

import pytest
from django.test import override_settings

from automate.exceptions import AutomateError
from automate.policy import (
    HostResolutionError,
    ParsedTarget,
    PolicyViolation,
    blocked_address_reason,
    check_host,
    check_url,
    host_allowlisted,
    normalise_host,
)

# Names the fake resolver knows; everything else is NXDOMAIN. No test here touches DNS.
DNS = {
    "example.com": ["93.184.216.34"],
    "dual.example": ["93.184.216.34", "2606:2800:220:1:248:1893:25c8:1946"],
    "dupes.example": ["93.184.216.34", "93.184.216.34", "1.1.1.1"],
    "xn--bcher-kva.example": ["93.184.216.35"],
    "hooks.slack.com": ["54.192.0.10"],
    "api.stripe.com": ["10.1.2.3"],
    "stripe.com": ["10.1.2.4"],
    "internal.example": ["10.0.0.5"],
    "mixed.example": ["93.184.216.34", "127.0.0.1"],
    "mixed-v6.example": ["93.184.216.34", "fd00::1"],
    "mapped.example": ["::ffff:127.0.0.1"],
    "meta.example": ["169.254.169.254"],
    "cgnat.example": ["100.64.1.1"],
    "nat64.example": ["64:ff9b::a00:1"],
    "nip.example": ["192.168.0.10"],
    "onprem.corp": ["10.20.0.7"],
}


class FakeResolver:
    def __init__(self, table):
        self.table = table
        self.calls = []

    def __call__(self, host, port, family=0, type=0, proto=0, flags=0):
        self.calls.append({"host": host, "port": port, "family": family, "type": type})
        if host not in self.table:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        answers = []
        for address in self.table[host]:
            if ":" in address:
                answers.append((socket.AF_INET6, socket.SOCK_STREAM, 6, "", (address, port, 0, 0)))
            else:
                answers.append((socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port)))
        return answers


@pytest.fixture(autouse=True)
def dns(monkeypatch):
    resolver = FakeResolver(DNS)
    monkeypatch.setattr(socket, "getaddrinfo", resolver)
    return resolver


def blocked(url, **kwargs):
    with pytest.raises(PolicyViolation) as caught:
        check_url(url, **kwargs)
    return caught.value


# ---------------------------------------------------------------------------------------
# The table: URLs that are refused as SSRF, with the rule that refuses them
# ---------------------------------------------------------------------------------------

SSRF_BLOCKED = [
    # IPv4 loopback in every spelling a lenient resolver accepts
    ("http://127.0.0.1/", "loopback"),
    ("http://127.255.255.254/", "loopback"),
    ("http://2130706433/", "loopback"),
    ("http://0177.0.0.1/", "loopback"),
    ("http://0x7f.1/", "loopback"),
    ("http://0x7f000001/", "loopback"),
    ("http://0X7F.0.0.1/", "loopback"),
    ("http://127.1/", "loopback"),
    ("http://0177.1/", "loopback"),
    ("http://017700000001/", "loopback"),
    ("http://127.0.1/", "loopback"),
    ("http://%31%32%37.0.0.1/", "loopback"),
    ("http://\uff11\uff12\uff17.\uff10.\uff10.\uff11/", "loopback"),  # fullwidth digits
    ("http://127\u30020\u30020\u30021/", "loopback"),  # ideographic full stops
    ("http://127.0.0.1./", "loopback"),
    ("http://user:pass@127.0.0.1:8080/admin", "loopback"),
    ("https://127.0.0.1:443/", "loopback"),
    # this network / unspecified
    ("http://0.0.0.0/", "unspecified"),
    ("http://0/", "unspecified"),
    ("http://0.1.2.3/", "this_network"),
    # private
    ("http://10.0.0.1/", "private"),
    ("http://10.1/", "private"),
    ("http://012.0.0.1/", "private"),
    ("http://172.16.0.1/", "private"),
    ("http://172.31.255.255/", "private"),
    ("http://192.168.1.1/", "private"),
    ("http://0xc0.0xa8.1.1/", "private"),
    ("http://3232235777/", "private"),
    # shared (CGNAT), link-local, metadata
    ("http://100.64.0.1/", "shared"),
    ("http://100.127.255.254/", "shared"),
    ("http://169.254.0.1/", "link_local"),
    ("http://169.254.169.254/latest/meta-data/", "metadata"),
    ("http://2852039166/", "metadata"),
    ("http://0xa9fea9fe/", "metadata"),
    ("http://169.254.170.2/v2/credentials", "metadata"),
    ("http://100.100.100.200/", "metadata"),
    # reserved, documentation, benchmarking, multicast, broadcast
    ("http://192.0.0.1/", "reserved"),
    ("http://192.0.2.1/", "documentation"),
    ("http://198.51.100.7/", "documentation"),
    ("http://203.0.113.9/", "documentation"),
    ("http://192.88.99.1/", "reserved"),
    ("http://198.18.0.1/", "benchmarking"),
    ("http://198.19.255.255/", "benchmarking"),
    ("http://224.0.0.1/", "multicast"),
    ("http://239.255.255.250/", "multicast"),
    ("http://255.255.255.255/", "broadcast"),
    ("http://240.0.0.1/", "reserved"),
    # IPv6 literals
    ("http://[::1]/", "loopback"),
    ("http://[0:0:0:0:0:0:0:1]/", "loopback"),
    ("http://[::1]:8080/", "loopback"),
    ("http://[::]/", "unspecified"),
    ("http://[fc00::1]/", "private"),
    ("http://[fd12:3456::1]/", "private"),
    ("http://[fd00:ec2::254]/", "metadata"),
    ("http://[fe80::1]/", "link_local"),
    ("http://[fe80::1%25eth0]/", "link_local"),
    ("http://[fec0::1]/", "reserved"),
    ("http://[ff02::1]/", "multicast"),
    ("http://[2001:db8::1]/", "documentation"),
    ("http://[3fff::1]/", "documentation"),
    ("http://[2001:2::1]/", "benchmarking"),
    ("http://[100::1]/", "reserved"),
    ("http://[2001:10::1]/", "reserved"),
    ("http://[4000::1]/", "reserved"),
    # IPv6 that embeds IPv4: judged by the IPv4 address inside
    ("http://[::ffff:127.0.0.1]/", "loopback"),
    ("http://[::ffff:7f00:1]/", "loopback"),
    ("http://[::ffff:169.254.169.254]/", "metadata"),
    ("http://[::ffff:10.0.0.1]/", "private"),
    ("http://[::127.0.0.1]/", "loopback"),
    ("http://[::10.0.0.1]/", "private"),
    ("http://[::2]/", "this_network"),
    ("http://[::ffff:0:127.0.0.1]/", "loopback"),
    ("http://[64:ff9b::127.0.0.1]/", "loopback"),
    ("http://[64:ff9b::a9fe:a9fe]/", "metadata"),
    ("http://[64:ff9b:1::10.0.0.1]/", "private"),
    ("http://[64:ff9b:1::8.8.8.8]/", "reserved"),
    ("http://[2002:7f00:1::]/", "loopback"),
    ("http://[2002:a9fe:a9fe::1]/", "metadata"),
    ("http://[2002:c0a8:101::]/", "private"),
    ("http://[2001:0:4136:e378:8000:63bf:80ff:fffe]/", "loopback"),  # Teredo 127.0.0.1
    ("http://[2001:0:4136:e378:8000:63bf:f5ff:fffe]/", "private"),  # Teredo 10.0.0.1
    # names that are internal whatever DNS says
    ("http://localhost/", "loopback"),
    ("http://LOCALHOST:8000/", "loopback"),
    ("http://localhost./", "loopback"),
    ("http://api.localhost/", "loopback"),
    ("http://\uff2c\uff2f\uff23\uff21\uff2c\uff28\uff2f\uff33\uff34/", "loopback"),
    ("http://metadata.google.internal/computeMetadata/v1/", "metadata"),
    ("http://metadata.google.internal./", "metadata"),
    ("http://metadata/", "metadata"),
    # names whose DNS answers are internal (every answer counts)
    ("https://internal.example/", "private"),
    ("https://mixed.example/", "loopback"),
    ("https://mixed-v6.example/", "private"),
    ("https://mapped.example/", "loopback"),
    ("https://meta.example/", "metadata"),
    ("https://cgnat.example/", "shared"),
    ("https://nat64.example/", "private"),
    ("https://nip.example/", "private"),
]


@pytest.mark.parametrize(("url", "rule"), SSRF_BLOCKED)
def test_internal_targets_are_refused(url, rule):
    error = blocked(url)
    assert error.code == "ssrf_blocked"
    assert error.details["rule"] == rule


def test_the_table_is_broad():
    assert len(SSRF_BLOCKED) + len(ALLOWED) + len(NOT_URLS) >= 80


# ---------------------------------------------------------------------------------------
# URLs that are not http(s) URLs with a valid host
# ---------------------------------------------------------------------------------------

NOT_URLS = [
    "ftp://example.com/file",
    "file:///etc/passwd",
    "gopher://127.0.0.1:6379/_INFO",
    "dict://127.0.0.1:11211/",
    "javascript:alert(1)",
    "example.com/path",
    "//example.com/path",
    "http:///path",
    "http://",
    "http://user@/",
    "http://example.com:99999/",
    "http://example.com:0/",
    "http://example.com:abc/",
    "http://[::1/",
    "http://::1/",
    "http://[fe80::zz]/",
    "http://exa mple.com/",
    "http://example.com\t/",
    "http://exam\nple.com/",
    "http://127.0.0.1\\@example.com/",
    "http://%ff/",
    "http://%2531%2532%2537.0.0.1/",
    "http://999.0.0.1/",
    "http://1.2.3.4.5/",
    "http://08.0.0.1/",
    "http://0x7g.1/",
    "http://a..b/",
    "http://exa_mple!.com/",
]


@pytest.mark.parametrize("url", NOT_URLS)
def test_urls_that_are_not_http_urls_with_a_host_are_refused(url, dns):
    error = blocked(url)
    assert error.code == "url_not_allowed"
    assert dns.calls == []


def test_a_url_that_is_not_a_string_is_refused():
    assert blocked(None).code == "url_not_allowed"


def test_the_scheme_error_names_the_scheme():
    assert "'ftp'" in blocked("ftp://example.com/").message


# ---------------------------------------------------------------------------------------
# Allowed
# ---------------------------------------------------------------------------------------

ALLOWED = [
    ("https://example.com/", "example.com", ("93.184.216.34",)),
    ("http://EXAMPLE.com./path", "example.com", ("93.184.216.34",)),
    (
        "https://dual.example/",
        "dual.example",
        ("93.184.216.34", "2606:2800:220:1:248:1893:25c8:1946"),
    ),
    ("https://dupes.example/", "dupes.example", ("93.184.216.34", "1.1.1.1")),
    ("https://b\u00fccher.example/", "xn--bcher-kva.example", ("93.184.216.35",)),
    ("http://user:pass@example.com:8443/p?q=1#f", "example.com", ("93.184.216.34",)),
    ("http://8.8.8.8/", "8.8.8.8", ("8.8.8.8",)),
    ("http://134744072/", "8.8.8.8", ("8.8.8.8",)),
    ("http://0x08080808/", "8.8.8.8", ("8.8.8.8",)),
    ("http://172.32.0.1/", "172.32.0.1", ("172.32.0.1",)),
    ("http://100.128.0.1/", "100.128.0.1", ("100.128.0.1",)),
    ("http://198.20.0.1/", "198.20.0.1", ("198.20.0.1",)),
    ("http://169.255.0.1/", "169.255.0.1", ("169.255.0.1",)),
    ("http://11.0.0.1/", "11.0.0.1", ("11.0.0.1",)),
    ("http://[2606:4700:4700::1111]/", "2606:4700:4700::1111", ("2606:4700:4700::1111",)),
    ("http://[::ffff:8.8.8.8]/", "::ffff:808:808", ("::ffff:808:808",)),
    ("http://[64:ff9b::8.8.8.8]/", "64:ff9b::808:808", ("64:ff9b::808:808",)),
    ("http://[2002:808:808::1]/", "2002:808:808::1", ("2002:808:808::1",)),
    (
        "http://[2001:0:4136:e378:8000:63bf:f7f7:f7f7]/",  # Teredo, client 8.8.8.8
        "2001:0:4136:e378:8000:63bf:f7f7:f7f7",
        ("2001:0:4136:e378:8000:63bf:f7f7:f7f7",),
    ),
]


@pytest.mark.parametrize(("url", "host", "addresses"), ALLOWED)
def test_public_targets_are_allowed(url, host, addresses):
    target = check_url(url)
    assert target.host == host
    assert target.addresses == addresses
    assert target.allowed_by == "public"


def test_the_target_says_where_to_connect():
    assert check_url("https://example.com/x") == ParsedTarget(
        "https", "example.com", 443, ("93.184.216.34",), "public"
    )
    assert check_url("http://example.com/").port == 80
    assert check_url("http://example.com:8080/").port == 8080


def test_ip_literals_are_checked_without_dns(dns):
    check_url("http://8.8.8.8/")
    blocked("http://2130706433/")
    blocked("http://[::1]/")
    assert dns.calls == []


def test_names_are_resolved_for_every_address_family(dns):
    check_url("https://dual.example:8443/")
    [call] = dns.calls
    assert call["host"] == "dual.example"
    assert call["port"] == 8443
    assert call["family"] in (0, socket.AF_UNSPEC)
    assert call["type"] == socket.SOCK_STREAM


def test_localhost_is_refused_without_asking_dns(dns):
    blocked("http://localhost:8000/")
    assert dns.calls == []


# ---------------------------------------------------------------------------------------
# Messages and error shape
# ---------------------------------------------------------------------------------------


def test_the_message_names_the_host_and_the_reason():
    assert blocked("http://127.0.0.1/").message.startswith("127.0.0.1 is a loopback address")
    assert blocked("http://0x7f.1/").message.startswith("0x7f.1 (127.0.0.1) is a loopback")
    message = blocked("https://mixed.example/").message
    assert message.startswith("mixed.example resolves to 127.0.0.1, a loopback address")
    message = blocked("http://[::ffff:169.254.169.254]/").message
    assert "embedding the IPv4 address 169.254.169.254, a cloud metadata address" in message
    assert "metadata" in blocked("http://169.254.169.254/").message


def test_the_message_never_shows_credentials_path_or_query():
    url = "http://admin:hunter2@127.0.0.1:8080/reset?token=s3cr3t-value"
    error = blocked(url)
    text = f"{error.message} {error.details}"
    for secret in ("admin", "hunter2", "reset", "s3cr3t-value"):
        assert secret not in text


def test_the_details_say_what_was_blocked():
    assert blocked("https://mixed.example/").details == {
        "host": "mixed.example",
        "address": "127.0.0.1",
        "rule": "loopback",
    }
    assert blocked("http://[2002:7f00:1::]/").details["embedded_ipv4"] == "127.0.0.1"


def test_a_violation_is_a_non_retryable_403_automate_error():
    error = blocked("http://10.0.0.1/")
    assert isinstance(error, AutomateError)
    assert error.retryable is False
    assert error.http_status == 403
    assert error.as_dict()["code"] == "ssrf_blocked"


def test_a_violation_survives_pickling_for_process_workers():
    error = pickle.loads(pickle.dumps(blocked("http://10.0.0.1/")))
    assert (error.code, error.details["rule"]) == ("ssrf_blocked", "private")


# ---------------------------------------------------------------------------------------
# Resolution failures
# ---------------------------------------------------------------------------------------


def test_an_unknown_name_is_a_resolution_error_that_is_not_retried():
    with pytest.raises(HostResolutionError) as caught:
        check_url("https://no-such-host.example/")
    assert caught.value.code == "host_not_resolved"
    assert caught.value.retryable is False
    assert "no-such-host.example" in caught.value.message


def test_a_temporary_resolver_failure_is_retryable(monkeypatch):
    def failing(*args, **kwargs):
        raise socket.gaierror(socket.EAI_AGAIN, "Temporary failure in name resolution")

    monkeypatch.setattr(socket, "getaddrinfo", failing)
    with pytest.raises(HostResolutionError) as caught:
        check_url("https://example.com/")
    assert caught.value.retryable is True


def test_a_name_without_addresses_is_a_resolution_error(monkeypatch):
    monkeypatch.setattr(socket, "getaddrinfo", lambda *a, **k: [])
    with pytest.raises(HostResolutionError):
        check_url("https://example.com/")


# ---------------------------------------------------------------------------------------
# Settings: allow_ssrf and http_allowlist
# ---------------------------------------------------------------------------------------


@override_settings(DJANGO_AUTOMATE={"POLICY": {"allow_ssrf": True}})
def test_allow_ssrf_turns_the_address_checks_off():
    assert check_url("http://127.0.0.1:8000/").allowed_by == "allow_ssrf"
    assert check_url("https://internal.example/").addresses == ("10.0.0.5",)
    assert check_url("http://[::1]/").addresses == ("::1",)


@override_settings(DJANGO_AUTOMATE={"POLICY": {"allow_ssrf": True}})
def test_allow_ssrf_still_enforces_the_scheme():
    assert blocked("file:///etc/passwd").code == "url_not_allowed"
    assert blocked("gopher://127.0.0.1/").code == "url_not_allowed"


@override_settings(DJANGO_AUTOMATE={"POLICY": {"http_allowlist": ["127.0.0.1"]}})
def test_an_allowlisted_ip_is_allowed_in_any_spelling():
    for url in ("http://127.0.0.1:8000/", "http://127.1:8000/", "http://2130706433/"):
        target = check_url(url)
        assert target.allowed_by == "http_allowlist"
        assert target.addresses == ("127.0.0.1",)


@override_settings(DJANGO_AUTOMATE={"POLICY": {"http_allowlist": ["127.0.0.1"]}})
def test_allowlisting_an_ip_does_not_allow_names_that_resolve_to_it():
    assert blocked("http://localhost:8000/").code == "ssrf_blocked"
    assert blocked("https://mixed.example/").code == "ssrf_blocked"


@override_settings(DJANGO_AUTOMATE={"POLICY": {"http_allowlist": ["*.stripe.com", "ONPREM.corp"]}})
def test_allowlist_patterns_are_globs_over_host_names():
    assert check_url("https://api.stripe.com/v1").addresses == ("10.1.2.3",)
    assert check_url("https://onprem.corp/").allowed_by == "http_allowlist"
    assert blocked("https://stripe.com/").code == "ssrf_blocked"
    assert blocked("https://internal.example/").code == "ssrf_blocked"


@override_settings(DJANGO_AUTOMATE={"POLICY": {"http_allowlist": ["[::1]", "localhost"]}})
def test_allowlist_patterns_for_ipv6_and_localhost(monkeypatch):
    monkeypatch.setitem(DNS, "localhost", ["127.0.0.1", "::1"])
    assert check_url("http://[::1]:9000/").addresses == ("::1",)
    assert check_url("http://localhost:9000/").addresses == ("127.0.0.1", "::1")


@override_settings(DJANGO_AUTOMATE={"POLICY": {"http_allowlist": ["127.0.0.1"]}})
def test_the_allowlist_does_not_relax_the_scheme():
    assert blocked("ftp://127.0.0.1/").code == "url_not_allowed"


def test_arguments_override_the_settings():
    assert check_url("http://10.0.0.1/", allow_ssrf=True).allowed_by == "allow_ssrf"
    assert check_url("http://10.0.0.1/", allowlist=["10.0.0.*"]).allowed_by == "http_allowlist"
    with override_settings(DJANGO_AUTOMATE={"POLICY": {"allow_ssrf": True}}):
        assert blocked("http://10.0.0.1/", allow_ssrf=False).code == "ssrf_blocked"


def test_host_allowlisted_matches_without_case():
    assert host_allowlisted("hooks.slack.com", ["HOOKS.slack.com."])
    assert host_allowlisted("eu.api.stripe.com", ["*.stripe.com"])
    assert not host_allowlisted("stripe.com.evil.example", ["*.stripe.com"])
    assert not host_allowlisted("example.com", [])


# ---------------------------------------------------------------------------------------
# The building blocks
# ---------------------------------------------------------------------------------------


def test_check_host_takes_a_split_url():
    assert check_host("[::ffff:8.8.8.8]", scheme="http", port=81).port == 81
    assert check_host("EXAMPLE.com").port == 443
    with pytest.raises(PolicyViolation):
        check_host("0x7f.1", scheme="http")
    with pytest.raises(PolicyViolation):
        check_host("example.com", scheme="ws")


@pytest.mark.parametrize(
    ("host", "canonical"),
    [
        ("Example.COM.", "example.com"),
        ("b\u00fccher.example", "xn--bcher-kva.example"),
        ("0x7f.1", "127.0.0.1"),
        ("[::FFFF:127.0.0.1]", "::ffff:7f00:1"),
        ("fe80::1%25eth0", "fe80::1%eth0"),
    ],
)
def test_normalise_host(host, canonical):
    assert normalise_host(host)[0] == canonical


def test_blocked_address_reason():
    assert blocked_address_reason("8.8.8.8") is None
    assert blocked_address_reason("2606:4700:4700::1111") is None
    reason = blocked_address_reason("::ffff:10.0.0.1")
    assert (reason.rule, reason.embedded) == ("private", "10.0.0.1")
    assert blocked_address_reason("127.0.0.1").reason == "a loopback address"
    with pytest.raises(ValueError):
        blocked_address_reason("not-an-ip")
