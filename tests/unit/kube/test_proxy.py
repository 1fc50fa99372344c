"""Which proxy the environment gives a server, as Go's ``golang.org/x/net/http/httpproxy`` decides
(client-go uses it when the kubeconfig names no ``proxy-url``), and how a proxy URL is read."""

import base64

import pytest

from greenshift.kube.http1 import parse_proxy, proxy_from_environment

# Go's own table (x/net/http/httpproxy/proxy_test.go, TestUseProxy): host -> proxied?
GO_NO_PROXY = (
    "foobar.com, .barbaz.net, *.wildcard.io, 192.168.1.1, 192.168.1.2:81, 192.168.1.3:80, "
    "10.0.0.0/30, 2001:db8::52:0:1, [2001:db8::52:0:2]:443, [2001:db8::52:0:3]:80, 2002:db8:a::45/64"
)
GO_CASES = [
    ("localhost", False),  # never proxied, whatever NO_PROXY says
    ("127.0.0.1", False),
    ("127.0.0.2", False),
    ("[::1]", False),
    ("[::2]", True),  # not a loopback address
    ("192.168.1.1", False),  # an exact IPv4
    ("192.168.1.2", True),  # the port does not match (81, the request's is 80)
    ("192.168.1.3", False),  # an exact IPv4:port
    ("192.168.1.4", True),
    ("10.0.0.2", False),  # in the CIDR range
    ("[2001:db8::52:0:1]", False),  # an exact IPv6
    ("[2001:db8::52:0:2]", True),  # its port is 443
    ("[2001:db8::52:0:3]", False),  # an exact [IPv6]:port
    ("[2002:db8:a::123]", False),  # in the IPv6 range
    ("[fe80::424b:c8be:1643:a1b6]", True),
    ("barbaz.net", True),  # .barbaz.net: the subdomains only
    ("www.barbaz.net", False),
    ("foobar.com", False),  # foobar.com: the domain itself and
    ("www.foobar.com", False),  # its subdomains
    ("foofoobar.com", True),  # not a mere suffix
    ("baz.com", True),
    ("localhost.net", True),
    ("local.localhost", True),
    ("barbarbaz.net", True),
    ("wildcard.io", True),  # *.wildcard.io: the subdomains only
    ("nested.wildcard.io", False),
    ("awildcard.io", True),
]


@pytest.mark.parametrize(("host", "proxied"), GO_CASES)
def test_no_proxy_as_go_reads_it(host: str, proxied: bool) -> None:
    env = {"HTTP_PROXY": "http://proxy.example.com", "NO_PROXY": GO_NO_PROXY}
    expected = "http://proxy.example.com" if proxied else None
    assert proxy_from_environment(f"http://{host}", env) == expected


def test_the_scheme_picks_the_variable_and_the_upper_case_name_wins_unless_empty() -> None:
    env = {"HTTPS_PROXY": "http://secure:3128", "HTTP_PROXY": "http://plain:3128"}
    assert proxy_from_environment("https://kube.example:6443", env) == "http://secure:3128"
    assert proxy_from_environment("http://kube.example:8080", env) == "http://plain:3128"
    assert proxy_from_environment("https://kube.example", {"HTTP_PROXY": "http://plain:3128"}) is None
    both = {"HTTPS_PROXY": "http://upper:1", "https_proxy": "http://lower:1"}
    assert proxy_from_environment("https://kube.example", both) == "http://upper:1"
    empty_upper = {
        "HTTPS_PROXY": "",
        "https_proxy": "http://lower:1",
        "NO_PROXY": "",
        "no_proxy": "kube.example",
    }
    assert proxy_from_environment("https://kube.example", empty_upper) is None
    assert proxy_from_environment("https://kube.example", {}) is None


@pytest.mark.parametrize(
    ("server", "no_proxy", "proxied"),
    [
        ("https://kube.example:6443", "*", False),
        ("https://kube.example:6443", "other.example, *", False),
        ("https://kube.example:6443", "kube.example:6443", False),
        ("https://kube.example:6443", "kube.example:443", True),
        ("https://kube.example", "kube.example:443", False),  # the scheme's default port
        ("https://KUBE.Example:6443", "Kube.EXAMPLE", False),  # case-insensitive
        ("https://10.96.0.1", "10.96.0.0/12", False),  # a service CIDR
        ("https://10.112.0.1", "10.96.0.0/12", True),
        ("https://[::ffff:10.0.0.1]", "10.0.0.1", False),  # an IPv4-mapped IPv6 address is the IPv4 one
        ("https://[::ffff:127.0.0.1]:6443", "", False),  # and loopback
        ("https://10.0.0.1", "0.0.1", False),  # Go matches any entry as a name suffix, even of an address
        ("https://kube.example", " , ,", True),
    ],
)
def test_more_no_proxy_entries(server: str, no_proxy: str, proxied: bool) -> None:
    env = {"HTTPS_PROXY": "http://proxy:3128", "NO_PROXY": no_proxy}
    assert (proxy_from_environment(server, env) is not None) is proxied


def test_a_proxy_url_as_go_reads_it() -> None:
    plain = parse_proxy("proxy.corp:3128")  # no scheme: http://
    assert (plain.url, plain.host, plain.port, plain.authorization) == (
        "http://proxy.corp:3128",
        "proxy.corp",
        3128,
        None,
    )
    assert parse_proxy("http://proxy.corp").port == 80
    with_user = parse_proxy("http://us%40er:p%3Ass@proxy.corp:8080")
    assert with_user.authorization == "Basic " + base64.b64encode(b"us@er:p:ss").decode()
    assert with_user.address == "http://proxy.corp:8080"  # messages show no credentials
    assert parse_proxy("http://[fd00::1]:3128").address == "http://[fd00::1]:3128"


@pytest.mark.parametrize(
    ("url", "words"),
    [
        ("socks5://user:secret@proxy:1080", "a SOCKS proxy"),
        ("socks5h://proxy:1080", "a SOCKS proxy"),
        ("https://proxy:3129", "reached over TLS"),
        ("http://:3128", "names no host"),
    ],
)
def test_proxies_other_than_http_are_refused_clearly(url: str, words: str) -> None:
    with pytest.raises(ValueError, match=r"only http:// \(CONNECT\) proxies|names no host") as raised:
        parse_proxy(url)
    assert words in str(raised.value)
    assert "secret" not in str(raised.value)
