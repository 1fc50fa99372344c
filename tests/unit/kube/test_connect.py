"""What :func:`greenshift.kube.client.connect` takes from a kubeconfig besides the credentials
kopf's loader finds: ``tls-server-name``, ``proxy-url`` (else the environment's proxy), and the
user's ``tokenFile``. No server is contacted."""

import pathlib
import ssl
from typing import Any

import kopf
import pytest
import yaml

from greenshift.kube import KubeClient
from greenshift.kube.client import Connection, connect

PROXY_VARIABLES = ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "NO_PROXY", "no_proxy")


def kubeconfig(cluster: dict[str, Any], user: dict[str, Any]) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "c", "cluster": {"server": "https://kube.example:6443", **cluster}}],
        "users": [{"name": "u", "user": user}],
        "contexts": [{"name": "x", "context": {"cluster": "c", "user": "u"}}],
        "current-context": "x",
    }


@pytest.fixture
def load(tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    """Write a kubeconfig into tmp_path/kube/ and ``connect()`` with it (no in-cluster account)."""
    for name in (*PROXY_VARIABLES, "KUBERNETES_SERVICE_HOST", "KUBERNETES_SERVICE_PORT"):
        monkeypatch.delenv(name, raising=False)

    def load(config: dict[str, Any]) -> Connection:
        path = tmp_path / "kube" / "config"
        path.parent.mkdir(exist_ok=True)
        path.write_text(yaml.safe_dump(config))
        monkeypatch.setenv("KUBECONFIG", str(path))
        return connect()

    return load


def test_tls_server_name_and_proxy_url(load: Any) -> None:
    info = load(
        kubeconfig(
            {
                "tls-server-name": "api.internal",
                "proxy-url": "http://u:p@proxy.corp:3128",
                "insecure-skip-tls-verify": True,
            },
            {"token": "abc"},
        )
    )
    assert (info.server, info.token, info.scheme) == ("https://kube.example:6443", "abc", "Bearer")
    assert (info.tls_server_name, info.proxy, info.proxy_url) == (
        "api.internal",
        "http://u:p@proxy.corp:3128",
        "http://u:p@proxy.corp:3128",  # kopf's: its own credentials are kept
    )
    assert info.token_file is None


def test_without_proxy_url_the_environment_decides_and_kopf_gets_a_user_part(
    load: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = kubeconfig({"insecure-skip-tls-verify": True}, {"token": "abc"})
    monkeypatch.setenv("https_proxy", "proxy.corp:3128")
    info = load(config)
    assert info.proxy == "http://proxy.corp:3128"
    # aiohttp would send kopf's bearer token to a proxy whose URL has no credentials
    assert info.proxy_url == "http://anonymous@proxy.corp:3128"
    monkeypatch.setenv("no_proxy", ".example")
    assert load(config).proxy is None


@pytest.mark.parametrize(
    ("proxy", "words"), [("socks5://proxy:1080", "a SOCKS proxy"), ("https://proxy:3129", "over TLS")]
)
def test_an_unsupported_proxy_is_a_login_error(load: Any, proxy: str, words: str) -> None:
    with pytest.raises(kopf.LoginError, match=r"The proxy for https://kube\.example:6443") as raised:
        load(kubeconfig({"proxy-url": proxy}, {"token": "abc"}))
    assert words in str(raised.value)


def test_a_token_file_relative_to_the_kubeconfig(load: Any, tmp_path: pathlib.Path) -> None:
    (tmp_path / "kube" / "secrets").mkdir(parents=True)
    (tmp_path / "kube" / "secrets" / "token").write_text("from-file\n")
    info = load(kubeconfig({"insecure-skip-tls-verify": True}, {"tokenFile": "secrets/token"}))
    assert info.token_file == str(tmp_path / "kube" / "secrets" / "token")
    assert info.token == "from-file"  # without the newline the loader leaves


def test_no_kubeconfig_and_no_service_account(
    tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "absent"))
    with pytest.raises(kopf.LoginError, match="no usable kubeconfig"):
        connect()


async def test_the_token_file_wins_over_a_token_beside_it(tmp_path: pathlib.Path) -> None:
    """As client-go: a user with both ``token`` and ``tokenFile`` uses the file's."""
    token = tmp_path / "token"
    token.write_text("from-file")
    info = Connection(server="https://kube.example", token="inline", token_file=str(token))
    async with KubeClient(info) as client:
        assert client._headers["Authorization"] == "Bearer from-file"


def test_the_ssl_context_pins_the_server_name() -> None:
    info = Connection(server="https://10.0.0.1", insecure=True, tls_server_name="api.internal")
    context = info.as_ssl_context()  # what kopf's session uses
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    tls = context.wrap_bio(incoming, outgoing, server_hostname="10.0.0.1")  # what aiohttp passes
    assert tls.server_hostname == "api.internal"
    plain = Connection(server="https://10.0.0.1", insecure=True).as_ssl_context()
    assert plain.wrap_bio(incoming, outgoing, server_hostname="10.0.0.1").server_hostname == "10.0.0.1"
