"""The webhook's HTTPS endpoint and its certificate: cert-manager's, or one the operator makes itself.

Two modes, chosen by the install (``docs/install.md``):

* ``cert_dir``: cert-manager issues the serving certificate into a Secret that the kubelet
  mounts (``tls.crt``, ``tls.key``, ``ca.crt``); cert-manager's CA injector writes the
  ``caBundle`` of the ValidatingWebhookConfiguration. kopf re-reads renewed files by itself.
  The operator never reads a Secret and needs no right on webhook configurations.
* ``configuration`` (self-managed): the operator makes a self-signed certificate at start
  (with ``openssl``, into ``/tmp``) and writes its ``caBundle`` into that one
  ValidatingWebhookConfiguration, so it needs ``get``/``patch`` on it by name.

The configuration object itself is always shipped by the install manifests, never created by
kopf (``settings.admission.managed`` stays unset): creating webhook configurations is a
cluster-wide right that would let the operator read any object sent to a webhook of its own.
"""

import argparse
import ipaddress
import logging
import subprocess
import tempfile
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import kopf

from greenshift.kube import ApiError, KubeClient, ResourceRef

logger = logging.getLogger("greenshift")

WEBHOOK_CONFIGURATIONS = ResourceRef(
    "admissionregistration.k8s.io",
    "v1",
    "validatingwebhookconfigurations",
    "ValidatingWebhookConfiguration",
    False,
)


@dataclass(frozen=True)
class WebhookOptions:
    port: int = 9443
    address: str = "0.0.0.0"  # noqa: S104 - a pod listens on its own interface
    # The DNS name the API server reaches the webhook by (the Service's); in the self-signed certificate.
    host: str | None = None
    # A directory with tls.crt and tls.key (and ca.crt), e.g. a mounted cert-manager Secret.
    cert_dir: str | None = None
    # Self-managed: the ValidatingWebhookConfiguration whose caBundle the operator keeps current.
    configuration: str | None = None
    # Plain HTTP: for local development and tests only; the API server only calls HTTPS.
    insecure: bool = False


class GreenshiftWebhookServer(kopf.WebhookServer):
    """kopf's aiohttp webhook server that, when self-managed, publishes its CA to the configuration."""

    def __init__(
        self, *, connection: kopf.ConnectionInfo, configuration: str | None = None, **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self.connection = connection
        self.configuration = configuration

    async def __call__(self, fn: kopf.WebhookFn) -> AsyncIterator[kopf.WebhookClientConfig]:
        async for client_config in super().__call__(fn):
            ca_bundle = client_config.get("caBundle")
            if self.configuration is not None and ca_bundle:
                async with KubeClient(self.connection) as client:
                    await publish_ca_bundle(client, self.configuration, ca_bundle)
            yield client_config


def webhook_server(options: WebhookOptions, connection: kopf.ConnectionInfo) -> GreenshiftWebhookServer:
    """The server for ``settings.admission.server``."""
    common: dict[str, Any] = {
        "connection": connection,
        "addr": options.address,
        "port": options.port,
        "host": options.host,
    }
    if options.insecure:
        return GreenshiftWebhookServer(insecure=True, **common)
    if options.cert_dir is not None:
        directory = Path(options.cert_dir)
        ca = directory / "ca.crt"
        return GreenshiftWebhookServer(
            certfile=directory / "tls.crt",
            pkeyfile=directory / "tls.key",
            cafile=ca if ca.exists() else None,
            **common,
        )
    names = [name for name in (options.host, "localhost", "127.0.0.1") if name]
    certfile, pkeyfile = self_signed_certificate(names, Path(tempfile.mkdtemp(prefix="greenshift-webhook-")))
    return GreenshiftWebhookServer(
        certfile=certfile, pkeyfile=pkeyfile, configuration=options.configuration, **common
    )


def self_signed_certificate(hostnames: Sequence[str], directory: Path) -> tuple[Path, Path]:
    """A self-signed P-256 certificate for ``hostnames`` (the first is the subject), valid for a year.

    Made by the ``openssl`` command (present in the image): the Python dependencies carry no
    certificate builder, and kopf's own needs the optional ``certbuilder`` package.
    """
    certfile, pkeyfile = directory / "tls.crt", directory / "tls.key"
    sans = ",".join(f"IP:{name}" if _is_ip(name) else f"DNS:{name}" for name in hostnames)
    command = [
        "openssl",
        "req",
        "-x509",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
        "-days",
        "365",
        "-subj",
        f"/CN={hostnames[0]}",
        "-addext",
        f"subjectAltName={sans}",
        "-keyout",
        str(pkeyfile),
        "-out",
        str(certfile),
    ]
    try:
        subprocess.run(command, check=True, capture_output=True, timeout=30)
    except (OSError, subprocess.SubprocessError) as exc:
        raise RuntimeError(
            f"Could not make the webhook's self-signed certificate with openssl: {exc}"
        ) from exc
    pkeyfile.chmod(0o600)
    return certfile, pkeyfile


def _is_ip(name: str) -> bool:
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True


async def publish_ca_bundle(client: KubeClient, name: str, ca_bundle: str, attempts: int = 3) -> bool:
    """Write ``ca_bundle`` into every webhook of the configuration ``name``; whether it is there now.

    Read-modify-write guarded by the resourceVersion, retried when someone else wrote in between.
    """
    for _ in range(attempts):
        try:
            current = await client.get(WEBHOOK_CONFIGURATIONS, None, name)
            if current is None:
                logger.error(
                    "Found no ValidatingWebhookConfiguration %s to publish the webhook's CA to.", name
                )
                return False
            webhooks = current.get("webhooks") or []
            if all((w.get("clientConfig") or {}).get("caBundle") == ca_bundle for w in webhooks):
                return True
            for webhook in webhooks:
                webhook.setdefault("clientConfig", {})["caBundle"] = ca_bundle
            patch = {
                "metadata": {"resourceVersion": current["metadata"]["resourceVersion"]},
                "webhooks": webhooks,
            }
            await client.merge_patch(WEBHOOK_CONFIGURATIONS, None, name, patch)
        except ApiError as exc:
            if exc.status == 409:
                continue
            logger.error("Could not publish the webhook's CA to %s: %s", name, exc)
            return False
        logger.info("Published the webhook's CA bundle to ValidatingWebhookConfiguration %s.", name)
        return True
    logger.error("Could not publish the webhook's CA to %s: it kept changing under the operator.", name)
    return False


def add_webhook_arguments(parser: argparse.ArgumentParser) -> None:
    """The ``greenshift run`` options of the webhook."""
    group = parser.add_argument_group("admission webhook (docs/install.md)")
    group.add_argument(
        "--webhook-port", type=int, metavar="PORT", help="serve the validating webhook on this port (HTTPS)"
    )
    group.add_argument(
        "--webhook-address",
        default="0.0.0.0",  # noqa: S104 - the pod's port, reached through its Service
        metavar="ADDR",
        help="the address to serve the webhook on (default 0.0.0.0)",
    )
    group.add_argument(
        "--webhook-host",
        metavar="DNS",
        help="the name the API server calls the webhook by, e.g. greenshift-operator.greenshift-system.svc",
    )
    certificates = group.add_mutually_exclusive_group()
    certificates.add_argument(
        "--webhook-cert-dir",
        metavar="DIR",
        help="serve with DIR/tls.crt and DIR/tls.key (a mounted cert-manager Secret)",
    )
    certificates.add_argument(
        "--webhook-configuration",
        metavar="NAME",
        help="self-managed: make a self-signed certificate and publish its CA to this "
        "ValidatingWebhookConfiguration",
    )


def webhook_options(args: argparse.Namespace) -> WebhookOptions | None:
    """The webhook options of parsed ``greenshift run`` arguments; None without ``--webhook-port``."""
    if args.webhook_port is None:
        return None
    return WebhookOptions(
        port=args.webhook_port,
        address=args.webhook_address,
        host=args.webhook_host,
        cert_dir=args.webhook_cert_dir,
        configuration=args.webhook_configuration,
    )
