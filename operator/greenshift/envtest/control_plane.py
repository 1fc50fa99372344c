"""A real Kubernetes control plane on loopback: etcd, kube-apiserver and kube-controller-manager.

This is controller-runtime's envtest for Python. The binaries come from ``KUBEBUILDER_ASSETS``
(the folder layout of ``setup-envtest``: ``etcd``, ``kube-apiserver``, ``kube-controller-manager``),
so a user with ``setup-envtest use 1.36 -p path`` runs the same tests. Each plane takes free
loopback ports and a temporary folder of its own, generates a CA, a serving certificate and a
service-account key pair, and authenticates users by static tokens (one per :class:`User`).

The API server alone is enough for schemas, CEL, admission and server-side apply. The controller
manager adds what needs controllers: the garbage collector, namespace finalization, ResourceQuota
usage (a quota admits no creation before its usage is computed), Deployments and ReplicaSets.
There is no kubelet: :mod:`greenshift.envtest.kubelet` plays one for Pods.

An audit log (``audit=True``) records every write with its user, which is how the benchmark
counts the operator's own writes on the server side.
"""

import contextlib
import datetime
import ipaddress
import json
import os
import pathlib
import secrets
import shutil
import signal
import ssl
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Self

import kopf
import orjson
import yaml
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from greenshift.child_process import die_with_parent
from greenshift.loopback import free_port

ASSETS_VARIABLE = "KUBEBUILDER_ASSETS"
BINARIES = ("etcd", "kube-apiserver", "kube-controller-manager")
START_TIMEOUT_SECONDS = 90.0
STOP_TIMEOUT_SECONDS = 15.0
CONTROLLERS = "*,-nodeipam,-nodelifecycle,-cloud-node-lifecycle,-service,-route"
"""Every controller but those that need a cloud or real nodes (nodelifecycle would mark the fake
kubelet's Pods not ready)."""
ADMISSION_PLUGINS = "NamespaceLifecycle,ServiceAccount,ResourceQuota,LimitRanger"
WRITE_VERBS = ("create", "update", "patch", "delete", "deletecollection")
AUDIT_POLICY: dict[str, Any] = {
    "apiVersion": "audit.k8s.io/v1",
    "kind": "Policy",
    "omitStages": ["RequestReceived"],
    "rules": [{"level": "Metadata", "verbs": list(WRITE_VERBS)}, {"level": "None"}],
}


class AssetsMissing(RuntimeError):
    """No folder of control-plane binaries: the reason a real-server test skips."""


def find_assets(folder: str | None = None) -> pathlib.Path:
    """The folder of the binaries (``KUBEBUILDER_ASSETS``); raises :class:`AssetsMissing` with why."""
    value = folder if folder is not None else os.environ.get(ASSETS_VARIABLE, "")
    if not value:
        raise AssetsMissing(
            f"{ASSETS_VARIABLE} is not set: point it at a folder with {', '.join(BINARIES)} "
            "(`../shared/kube/setup` prints one; so does `setup-envtest use -p path`)"
        )
    path = pathlib.Path(value)
    missing = [name for name in BINARIES if not os.access(path / name, os.X_OK)]
    if missing:
        raise AssetsMissing(f"{ASSETS_VARIABLE}={value} lacks the executables {', '.join(missing)}")
    return path


@dataclass(frozen=True)
class User:
    """A user of the API server, authenticated by a static token."""

    name: str
    groups: tuple[str, ...] = ()
    token: str = field(default_factory=lambda: secrets.token_urlsafe(24))


ADMIN = "admin"
OPERATOR = "greenshift-operator"
CONTROLLER_MANAGER = "system:kube-controller-manager"


class ControlPlane:
    """etcd, kube-apiserver and (optionally) kube-controller-manager, as child processes.

    ::

        with ControlPlane(find_assets()) as plane:
            plane.write_kubeconfig(path)          # admin
            plane.connection(OPERATOR)            # a kopf.ConnectionInfo for the operator's user

    :param users: extra users; ``admin`` and ``greenshift-operator`` (both ``system:masters``) always exist.
    :param crds: CustomResourceDefinitions to install (and wait for) before the controller manager
        starts: its quota and garbage-collection controllers discover resources at start and then
        only every 30 s, so a quota counting a custom resource installed later stays unenforced
        for up to that long.
    :param controller_manager: start kube-controller-manager too.
    :param controller_manager_args: more flags for it, e.g. ``--kube-api-qps=1000`` (its default of
        20 requests a second per controller paces every Deployment of a large fleet).
    :param audit: keep an audit log of every write (:meth:`writes_by`).
    """

    def __init__(
        self,
        assets: pathlib.Path,
        *,
        users: Sequence[User] = (),
        crds: Sequence[dict[str, Any]] = (),
        controller_manager: bool = True,
        controller_manager_args: Sequence[str] = (),
        audit: bool = False,
    ) -> None:
        self.assets = assets
        self.users = {
            u.name: u
            for u in (
                User(ADMIN, ("system:masters",)),
                User(OPERATOR, ("system:masters",)),
                User(CONTROLLER_MANAGER, ("system:masters",)),
                *users,
            )
        }
        self.crds = list(crds)
        self.with_controller_manager = controller_manager
        self.controller_manager_args = tuple(controller_manager_args)
        self.audit = audit
        self.folder = pathlib.Path(tempfile.mkdtemp(prefix="greenshift-envtest-", dir=_scratch()))
        self.port = 0
        self._processes: list[tuple[str, subprocess.Popen[bytes]]] = []

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    @property
    def ca_path(self) -> pathlib.Path:
        return self.folder / "ca.crt"

    @property
    def audit_path(self) -> pathlib.Path:
        return self.folder / "audit.log"

    def token(self, user: str = ADMIN) -> str:
        return self.users[user].token

    def connection(self, user: str = ADMIN) -> kopf.ConnectionInfo:
        return kopf.ConnectionInfo(server=self.url, ca_path=str(self.ca_path), token=self.token(user))

    def kubeconfig(self, user: str = ADMIN) -> dict[str, Any]:
        name = "envtest"
        return {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [
                {"name": name, "cluster": {"server": self.url, "certificate-authority": str(self.ca_path)}}
            ],
            "users": [{"name": user, "user": {"token": self.token(user)}}],
            "contexts": [{"name": name, "context": {"cluster": name, "user": user, "namespace": "default"}}],
            "current-context": name,
            "preferences": {},
        }

    def write_kubeconfig(self, path: str | pathlib.Path, user: str = ADMIN) -> pathlib.Path:
        path = pathlib.Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(yaml.safe_dump(self.kubeconfig(user), sort_keys=False))
        return path

    # -- life cycle ---------------------------------------------------------------------------

    def start(self) -> None:
        try:
            self._write_credentials()
            etcd_url = self._start_etcd()
            self._start_apiserver(etcd_url)
            self.install(self.crds)
            if self.with_controller_manager:
                self._start_controller_manager()
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        """Controller manager, API server, then etcd (an API server without etcd waits long to exit)."""
        for name, process in reversed(self._processes):
            with contextlib.suppress(ProcessLookupError):
                process.terminate()
            try:
                process.wait(STOP_TIMEOUT_SECONDS)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
            del name
        self._processes.clear()
        shutil.rmtree(self.folder, ignore_errors=True)

    @contextlib.contextmanager
    def paused(self, name: str) -> Iterator[None]:
        """Hold one component (SIGSTOP) for the block, then let it go on: a controller that lags,
        as the controller manager of a busy cluster does."""
        process = next(p for n, p in self._processes if n == name)
        process.send_signal(signal.SIGSTOP)
        try:
            yield
        finally:
            process.send_signal(signal.SIGCONT)

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def request(
        self, method: str, path: str, body: Any = None, *, content_type: str = "application/json"
    ) -> Any:
        """One synchronous request as ``admin``; raises ``urllib.error.HTTPError`` on a refusal."""
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.url + path, data=data, method=method)  # noqa: S310
        request.add_header("Authorization", f"Bearer {self.token()}")
        request.add_header("Content-Type", content_type)
        with urllib.request.urlopen(request, timeout=30, context=self._ssl()) as response:  # noqa: S310
            text = response.read()
        return json.loads(text) if text else None

    def install(self, crds: Sequence[dict[str, Any]]) -> None:
        """Server-side apply CRDs and wait until each is Established."""
        base = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions"
        for crd in crds:
            path = f"{base}/{crd['metadata']['name']}?fieldManager=envtest&force=true"
            try:
                self.request("PATCH", path, crd, content_type="application/apply-patch+yaml")
            except urllib.error.HTTPError as exc:
                detail = exc.read().decode(errors="replace")
                raise RuntimeError(f"CRD {crd['metadata']['name']} was refused: {detail}") from None
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        for crd in crds:
            while not _established(self.request("GET", f"{base}/{crd['metadata']['name']}")):
                if time.monotonic() > deadline:
                    raise RuntimeError(f"CRD {crd['metadata']['name']} was not Established")
                time.sleep(0.05)

    def _ssl(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=str(self.ca_path))

    # -- what the tests and the benchmark read ----------------------------------------------

    def audit_events(self) -> Iterator[dict[str, Any]]:
        """The audit log's events so far (``audit=True``)."""
        with contextlib.suppress(FileNotFoundError), self.audit_path.open("rb") as handle:
            for line in handle:
                if line.strip():
                    yield orjson.loads(line)

    def writes_by(self, user: str) -> list[dict[str, Any]]:
        """The writes ``user`` made that the API server answered, from the audit log."""
        return [
            event
            for event in self.audit_events()
            if event.get("stage") == "ResponseComplete"
            and event.get("verb") in WRITE_VERBS
            and (event.get("user") or {}).get("username") == user
        ]

    def log(self, name: str) -> str:
        """What a component (etcd, kube-apiserver, kube-controller-manager) printed."""
        path = self.folder / f"{name}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    # -- internals ----------------------------------------------------------------------------

    def _spawn(self, name: str, *args: str) -> subprocess.Popen[bytes]:
        log = (self.folder / f"{name}.log").open("wb")
        process = subprocess.Popen(  # the binaries come from the user's KUBEBUILDER_ASSETS
            [str(self.assets / name), *args],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            preexec_fn=die_with_parent,
        )
        log.close()
        self._processes.append((name, process))
        return process

    def _wait(self, name: str, process: subprocess.Popen[bytes], probe: Any) -> None:
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while not probe():
            if process.poll() is not None:
                raise RuntimeError(f"{name} exited with {process.returncode}:\n{self.log(name)[-3000:]}")
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"{name} was not ready after {START_TIMEOUT_SECONDS:.0f} s:\n{self.log(name)[-3000:]}"
                )
            time.sleep(0.1)

    def _start_etcd(self) -> str:
        client, peer = free_port(), free_port()
        url = f"http://127.0.0.1:{client}"
        process = self._spawn(
            "etcd",
            f"--data-dir={self.folder / 'etcd'}",
            f"--listen-client-urls={url}",
            f"--advertise-client-urls={url}",
            f"--listen-peer-urls=http://127.0.0.1:{peer}",
            f"--initial-advertise-peer-urls=http://127.0.0.1:{peer}",
            f"--initial-cluster=default=http://127.0.0.1:{peer}",
            "--name=default",
            "--quota-backend-bytes=4294967296",
        )
        self._wait("etcd", process, lambda: _get(f"{url}/health") is not None)
        return url

    def _start_apiserver(self, etcd_url: str) -> None:
        self.port = free_port()
        f = self.folder
        args = [
            f"--etcd-servers={etcd_url}",
            "--bind-address=127.0.0.1",
            "--advertise-address=127.0.0.1",
            f"--secure-port={self.port}",
            f"--tls-cert-file={f / 'server.crt'}",
            f"--tls-private-key-file={f / 'server.key'}",
            f"--client-ca-file={f / 'ca.crt'}",
            f"--service-account-key-file={f / 'sa.pub'}",
            f"--service-account-signing-key-file={f / 'sa.key'}",
            "--service-account-issuer=https://kubernetes.default.svc",
            f"--token-auth-file={f / 'tokens.csv'}",
            "--authorization-mode=RBAC",
            "--service-cluster-ip-range=10.96.0.0/16",
            f"--enable-admission-plugins={ADMISSION_PLUGINS}",
            f"--cert-dir={f / 'certs'}",
        ]
        if self.audit:
            (f / "audit-policy.yaml").write_text(yaml.safe_dump(AUDIT_POLICY))
            args += [
                f"--audit-policy-file={f / 'audit-policy.yaml'}",
                f"--audit-log-path={self.audit_path}",
                "--audit-log-format=json",
                "--audit-log-mode=blocking",
            ]
        process = self._spawn("kube-apiserver", *args)
        context = self._ssl()
        self._wait(
            "kube-apiserver",
            process,
            lambda: _get(f"{self.url}/readyz", context=context, token=self.token()) == b"ok",
        )

    def _start_controller_manager(self) -> None:
        kubeconfig = self.write_kubeconfig(self.folder / "kcm.kubeconfig", CONTROLLER_MANAGER)
        port = free_port()
        process = self._spawn(
            "kube-controller-manager",
            f"--kubeconfig={kubeconfig}",
            "--use-service-account-credentials=false",
            f"--service-account-private-key-file={self.folder / 'sa.key'}",
            f"--root-ca-file={self.ca_path}",
            "--leader-elect=false",
            f"--controllers={CONTROLLERS}",
            "--bind-address=127.0.0.1",
            f"--secure-port={port}",
            f"--cert-dir={self.folder / 'kcm-certs'}",
            "--concurrent-gc-syncs=5",
            "--concurrent-namespace-syncs=5",
            *self.controller_manager_args,
        )
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        self._wait(
            "kube-controller-manager",
            process,
            lambda: _get(f"https://127.0.0.1:{port}/healthz", context=context),
        )

    def _write_credentials(self) -> None:
        f = self.folder
        ca_key = _key()
        now = datetime.datetime.now(datetime.UTC)
        ca = _certificate("envtest-ca", ca_key, ca_key, None, now, ca=True)
        server_key = _key()
        server = _certificate("kube-apiserver", server_key, ca_key, ca, now, ca=False)
        _write_key(f / "ca.key", ca_key)
        (f / "ca.crt").write_bytes(ca.public_bytes(serialization.Encoding.PEM))
        _write_key(f / "server.key", server_key)
        (f / "server.crt").write_bytes(server.public_bytes(serialization.Encoding.PEM))
        sa_key = _key()
        _write_key(f / "sa.key", sa_key)
        (f / "sa.pub").write_bytes(
            sa_key.public_key().public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
        )
        rows = [f'{u.token},{u.name},{u.name},"{",".join(u.groups)}"' for u in self.users.values()]
        (f / "tokens.csv").write_text("\n".join(rows) + "\n")


def _scratch() -> str | None:
    """A memory-backed folder for etcd where there is one: an fsync to disk costs each write ~ms."""
    shm = pathlib.Path("/dev/shm")  # noqa: S108 - mkdtemp makes a private folder inside
    return str(shm) if shm.is_dir() and os.access(shm, os.W_OK) else None


def _established(crd: dict[str, Any]) -> bool:
    conditions = (crd.get("status") or {}).get("conditions") or []
    return any(c.get("type") == "Established" and c.get("status") == "True" for c in conditions)


def _get(url: str, *, context: ssl.SSLContext | None = None, token: str | None = None) -> bytes | None:
    request = urllib.request.Request(url)  # noqa: S310 - loopback URLs this module built
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=2, context=context) as response:  # noqa: S310
            body: bytes = response.read()
            return body
    except (OSError, urllib.error.URLError):
        return None


def _key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _write_key(path: pathlib.Path, key: rsa.RSAPrivateKey) -> None:
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.TraditionalOpenSSL,
            serialization.NoEncryption(),
        )
    )
    path.chmod(0o600)


def _certificate(
    name: str,
    key: rsa.RSAPrivateKey,
    signer: rsa.RSAPrivateKey,
    issuer: x509.Certificate | None,
    now: datetime.datetime,
    *,
    ca: bool,
) -> x509.Certificate:
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer.subject if issuer is not None else subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=2))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if ca:
        builder = builder.add_extension(
            x509.KeyUsage(
                digital_signature=True, content_commitment=False, key_encipherment=False,
                data_encipherment=False, key_agreement=False, key_cert_sign=True, crl_sign=True,
                encipher_only=False, decipher_only=False,
            ),
            critical=True,
        )  # fmt: skip
    else:
        builder = builder.add_extension(
            x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]
            ),
            critical=False,
        )
    return builder.sign(signer, hashes.SHA256())
