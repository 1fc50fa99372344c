"""What a hostile agency cannot do in its own namespace, on a real API server (issue 16, items 2, 5,
6 and 7): the ValidatingAdmissionPolicies of deploy/admission-policies.yaml and the tenant quota and
LimitRange that ``render_tenant`` writes, judged by kube-apiserver v1.36 itself.

Each test builds a small world: an operator namespace holding the policies' parameters (from
``install_manifests``, retargeted there, as ``greenshift install -n`` ships them) and the operator's
ServiceAccount; a tenant namespace with the Namespace, ResourceQuota and LimitRange that
``render_tenant`` makes; an agency ServiceAccount bound there to ``greenshift-tenant-admin`` (the
owners' role); a namespace that is no tenant's, where the same agency has the same role (the
control: the policies hold in tenant namespaces only). The agency and the operator act with tokens
of their ServiceAccounts (TokenRequest), neither in ``system:masters``. Writes are dry runs where
the answer is enough (admission, quota and LimitRange all judge dry runs). The policies are
cluster-wide, so each test deletes them at its end.
"""

import asyncio
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import kopf
import pytest

from greenshift.commands.install import install_manifests
from greenshift.config import PlatformConfig, parse_platform_config
from greenshift.envtest import ADMIN, ControlPlane
from greenshift.kube import ApiError, KubeClient
from greenshift.render import render_document_source, render_tenant

Manifest = dict[str, Any]
APPLY = "application/apply-patch+yaml"
DRY_RUN = {"dryRun": "All"}
CERTIFIED = "registry.greenshift.local/certified/"
GOOD_IMAGE = f"{CERTIFIED}identity:1.2.0"
POLICY_KINDS = ("ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding")
ADMISSION = "/apis/admissionregistration.k8s.io/v1"
PLATFORM = parse_platform_config(
    {
        "kind": "PlatformConfig",
        # small allowances, so that the object counts are reached in a few writes
        "tiers": {"standard": {"configMaps": 3, "secrets": 1, "services": 1}},
    }
)


@dataclass
class World:
    admin: KubeClient
    agency: KubeClient
    operator: KubeClient
    system: str  # the operator's namespace
    tenant: str  # the tenant's namespace
    plain: str  # a namespace that is no tenant's, where the agency has the same role


def _path(obj: Manifest) -> str:
    api_version, kind, meta = obj["apiVersion"], obj["kind"], obj["metadata"]
    base = f"/api/{api_version}" if "/" not in api_version else f"/apis/{api_version}"
    plural = {
        "Namespace": "namespaces",
        "ConfigMap": "configmaps",
        "ResourceQuota": "resourcequotas",
        "LimitRange": "limitranges",
        "ServiceAccount": "serviceaccounts",
        "ClusterRole": "clusterroles",
        "RoleBinding": "rolebindings",
        "ValidatingAdmissionPolicy": "validatingadmissionpolicies",
        "ValidatingAdmissionPolicyBinding": "validatingadmissionpolicybindings",
        "Service": "services",
        "Secret": "secrets",
        "Pod": "pods",
        "Deployment": "deployments",
        "StatefulSet": "statefulsets",
        "DaemonSet": "daemonsets",
        "ReplicaSet": "replicasets",
        "Job": "jobs",
        "CronJob": "cronjobs",
    }[kind]
    namespace = meta.get("namespace")
    scope = f"/namespaces/{namespace}" if namespace else ""
    return f"{base}{scope}/{plural}"


async def _apply(client: KubeClient, obj: Manifest) -> None:
    params = {"fieldManager": "admission-policy-test", "force": "true"}
    await client.request(
        "PATCH", f"{_path(obj)}/{obj['metadata']['name']}", params=params, body=obj, content_type=APPLY
    )


async def create(client: KubeClient, obj: Manifest, *, dry_run: bool = True) -> Manifest | None:
    return await client.request("POST", _path(obj), params=DRY_RUN if dry_run else None, body=obj)


async def refused(call: Awaitable[Any]) -> str:
    """The message of the refusal of ``call``, which must be refused."""
    try:
        await call
    except ApiError as exc:
        return str(exc)
    raise AssertionError("the request was admitted")


async def _eventually(check: Callable[[], Awaitable[bool]], what: Any) -> None:
    """Policies, bindings and RBAC reach the API server's informers a moment after they are written."""
    for _ in range(150):
        if await check():
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"not in force after 15 s: {what() if callable(what) else what}")


def config_map(
    namespace: str, name: str, labels: dict[str, str] | None = None, annotations: dict[str, str] | None = None
) -> Manifest:
    meta: Manifest = {"name": name, "namespace": namespace, "labels": labels or {}}
    if annotations:
        meta["annotations"] = annotations
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta, "data": {"a": "b"}}


RESTRICTED_CONTAINER = {
    "securityContext": {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}}
}
"""What Pod Security ``restricted`` (enforced in every tenant namespace) asks of a container."""


def container(name: str, image: str, **resources: Any) -> Manifest:
    body: Manifest = {"name": name, "image": image, **RESTRICTED_CONTAINER}
    if resources:
        body["resources"] = resources
    return body


def pod_spec(image: str = GOOD_IMAGE, **resources: Any) -> Manifest:
    """A pod Pod Security ``restricted`` admits: only the policy or quota under test may refuse it."""
    return {
        "securityContext": {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}},
        "containers": [container("app", image, **resources)],
    }


def workload(kind: str, namespace: str, name: str, spec: Manifest) -> Manifest:
    """A Pod, or a workload of ``kind`` whose pod template has ``spec``."""
    labels = {"app": name}
    template = {"metadata": {"labels": labels}, "spec": spec}
    group = {"Pod": "v1", "Job": "batch/v1", "CronJob": "batch/v1"}.get(kind, "apps/v1")
    body: Manifest
    if kind == "Pod":
        body = spec
    elif kind == "Job":
        body = {"template": {**template, "spec": {**spec, "restartPolicy": "Never"}}}
    elif kind == "CronJob":
        job = {"template": {**template, "spec": {**spec, "restartPolicy": "Never"}}}
        body = {"schedule": "0 * * * *", "jobTemplate": {"spec": job}}
    elif kind == "StatefulSet":
        body = {"serviceName": name, "selector": {"matchLabels": labels}, "template": template}
    else:
        body = {"selector": {"matchLabels": labels}, "template": template}
    return {
        "apiVersion": group,
        "kind": kind,
        "metadata": {"name": name, "namespace": namespace},
        "spec": body,
    }


def tenant_body(name: str, namespace: str) -> Manifest:
    return {
        "apiVersion": "greenshift.io/v1alpha1",
        "kind": "WalletTenant",
        "metadata": {"name": name},
        "spec": {
            "displayName": "Hostile agency",
            "agency": "EVIL",
            "namespace": namespace,
            "owners": [{"kind": "User", "name": "mallory"}],
            "quota": {"documentSources": 1, "gatewayRoutes": 1, "cpu": "4", "memory": "8Gi"},
        },
    }


async def _token(admin: KubeClient, plane: ControlPlane, namespace: str, account: str) -> KubeClient:
    request = {
        "apiVersion": "authentication.k8s.io/v1",
        "kind": "TokenRequest",
        "spec": {"expirationSeconds": 900},
    }
    answer = await admin.request(
        "POST", f"/api/v1/namespaces/{namespace}/serviceaccounts/{account}/token", body=request
    )
    assert answer is not None
    token = answer["status"]["token"]
    return KubeClient(kopf.ConnectionInfo(server=plane.url, ca_path=str(plane.ca_path), token=token))


def _binding(namespace: str, name: str, role: str, account: str, account_namespace: str) -> Manifest:
    return {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "RoleBinding",
        "metadata": {"name": name, "namespace": namespace},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": role},
        "subjects": [{"kind": "ServiceAccount", "name": account, "namespace": account_namespace}],
    }


SYSTEM = "greenshift-policy-test"
"""The operator's namespace of every world: kept for the session, so that a binding the API server
still caches a moment after a test deleted it never points at parameters that are gone."""


async def _create_once(client: KubeClient, obj: Manifest) -> None:
    try:
        await create(client, obj, dry_run=False)
    except ApiError as exc:
        if exc.status != 409:  # it exists (the controller manager makes "default")
            raise


async def _delete(client: KubeClient, path: str) -> None:
    try:
        await client.request("DELETE", path)
    except ApiError as exc:
        if exc.status != 404:
            raise


@asynccontextmanager
async def world(plane: ControlPlane, config: PlatformConfig = PLATFORM) -> AsyncIterator[World]:
    suffix = secrets.token_hex(3)
    tenant, plain = f"wallet-evil-{suffix}", f"plain-{suffix}"
    shipped = install_manifests(namespace=SYSTEM, crds=False)
    policies = [o for o in shipped if o["kind"] in POLICY_KINDS]
    params = next(o for o in shipped if o["metadata"]["name"] == "greenshift-admission-policy")
    tenant_admin = next(o for o in shipped if o["metadata"]["name"] == "greenshift-tenant-admin")
    children = {c["kind"]: c for c in render_tenant(tenant_body(f"evil-{suffix}", tenant), config)}

    def namespace(name: str) -> Manifest:
        return {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}

    def account(namespace: str, name: str) -> Manifest:
        return {
            "apiVersion": "v1",
            "kind": "ServiceAccount",
            "metadata": {"name": name, "namespace": namespace},
        }

    async with KubeClient(plane.connection(ADMIN)) as admin:
        await _create_once(admin, namespace(SYSTEM))
        await _create_once(admin, account(SYSTEM, "greenshift-operator"))
        for obj in (namespace(plain), children["Namespace"]):
            await create(admin, obj, dry_run=False)
        clients: list[KubeClient] = []
        try:
            for obj in (tenant_admin, params, children["ResourceQuota"], children["LimitRange"]):
                await _apply(admin, obj)
            for name in ("agency", "default"):
                await _create_once(admin, account(tenant, name))
            for where in (tenant, plain):
                await _apply(admin, _binding(where, "owners", "greenshift-tenant-admin", "agency", tenant))
            await _apply(admin, _binding(tenant, "operator", "cluster-admin", "greenshift-operator", SYSTEM))
            for obj in policies:
                await _apply(admin, obj)
            agency = await _token(admin, plane, tenant, "agency")
            operator = await _token(admin, plane, SYSTEM, "greenshift-operator")
            clients += [agency, operator]
            w = World(admin, agency, operator, SYSTEM, tenant, plain)
            await _in_force(w)
            yield w
        finally:
            for obj in policies:
                await _delete(admin, f"{_path(obj)}/{obj['metadata']['name']}")
            if clients:  # until the API server forgot them: the next tests of the session must not see them
                probe = config_map(tenant, "probe", annotations={"greenshift.io/owner": "x"})

                async def forgotten() -> bool:
                    try:
                        await create(clients[0], probe)
                    except ApiError as exc:
                        return "ValidatingAdmissionPolicy" not in str(exc)
                    return True

                await _eventually(forgotten, "the policies still hold after their deletion")
            for client in clients:
                await client.close()
            for name in (tenant, plain):
                await _delete(admin, f"/api/v1/namespaces/{name}")


async def _in_force(w: World) -> None:
    """Wait until RBAC, each policy and the quota are in force (the quota controller must have
    counted the namespace: until then quota admission refuses every object it counts)."""

    last: list[str] = []

    async def denied_by(policy: str, call: Callable[[], Awaitable[Any]]) -> bool:
        try:
            await call()
        except ApiError as exc:
            last[:] = [str(exc)]
            return policy in str(exc)
        last[:] = ["admitted"]
        return False

    labelled = config_map(w.tenant, "probe", annotations={"greenshift.io/owner": "x"})
    await _eventually(
        lambda: denied_by("greenshift-operator-labels", lambda: create(w.agency, labelled)),
        lambda: ("labels", last),
    )
    bad = workload("Deployment", w.tenant, "probe", pod_spec("docker.io/library/nginx:1.27"))
    await _eventually(
        lambda: denied_by("greenshift-certified-images", lambda: create(w.agency, bad)),
        lambda: ("images", last),
    )
    exposed = service(w.tenant, "probe", externalIPs=["203.0.113.7"])
    await _eventually(
        lambda: denied_by("greenshift-service-exposure", lambda: create(w.agency, exposed)),
        lambda: ("services", last),
    )

    async def counted() -> bool:
        quota = await w.admin.request("GET", f"/api/v1/namespaces/{w.tenant}/resourcequotas/greenshift-quota")
        status = (quota or {}).get("status") or {}
        return set(status.get("hard") or {}) == set(quota["spec"]["hard"]) and "used" in status  # type: ignore[index]

    await _eventually(counted, "the quota")


def service(namespace: str, name: str, **spec: Any) -> Manifest:
    body = {"selector": {"app": name}, "ports": [{"port": 80, "targetPort": 8080}], **spec}
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name, "namespace": namespace},
        "spec": body,
    }


# --- item 2: the operator's labels and annotations ---------------------------------------------


@pytest.mark.parametrize(
    "labels_and_annotations",
    [
        ({"app.kubernetes.io/managed-by": "greenshift-operator"}, {}),
        ({"greenshift.io/tenant": "victim"}, {}),
        ({}, {"greenshift.io/owner": "DocumentSource/wallet-victim/identity"}),
        ({}, {"greenshift.io/applied-hash": "0"}),
        ({"validate.greenshift.io/x": "y"}, {}),
    ],
    ids=["managed-by", "tenant-label", "owner-annotation", "hash-annotation", "subdomain"],
)
async def test_the_agency_cannot_set_the_operators_labels(
    control_plane: ControlPlane, labels_and_annotations: tuple[dict[str, str], dict[str, str]]
) -> None:
    labels, annotations = labels_and_annotations
    async with world(control_plane) as w:
        for kind_body in (
            config_map(w.tenant, "spoof", labels),
            service(w.tenant, "spoof"),
            workload("Deployment", w.tenant, "spoof", pod_spec()),
        ):
            kind_body["metadata"]["labels"] = labels
            kind_body["metadata"]["annotations"] = annotations
            message = await refused(create(w.agency, kind_body))
            assert "ValidatingAdmissionPolicy 'greenshift-operator-labels'" in message, message
            assert "only the operator sets, changes or removes them" in message
            # the operator may, and so may the agency where the namespace is no tenant's
            await create(w.operator, kind_body)
            elsewhere = {**kind_body, "metadata": {**kind_body["metadata"], "namespace": w.plain}}
            await create(w.agency, elsewhere)


async def test_the_agency_may_change_the_operators_objects_but_not_their_labels(
    control_plane: ControlPlane,
) -> None:
    async with world(control_plane) as w:
        owned = config_map(
            w.tenant,
            "identity-config",
            {"app.kubernetes.io/managed-by": "greenshift-operator", "greenshift.io/tenant": "evil"},
            {"greenshift.io/owner": "DocumentSource/x/identity"},
        )
        await create(w.operator, owned, dry_run=False)
        path = f"/api/v1/namespaces/{w.tenant}/configmaps/identity-config"
        merge = "application/merge-patch+json"
        # other fields and labels of its own: allowed (the operator reverts drift anyway)
        await w.agency.request("PATCH", path, params=DRY_RUN, body={"data": {"a": "c"}}, content_type=merge)
        await w.agency.request(
            "PATCH", path, params=DRY_RUN, body={"metadata": {"labels": {"team": "a"}}}, content_type=merge
        )
        for change in (
            {
                "metadata": {"labels": {"app.kubernetes.io/managed-by": None}}
            },  # removed: the operator loses it
            {"metadata": {"labels": {"app.kubernetes.io/managed-by": "helm"}}},
            {"metadata": {"labels": {"greenshift.io/tenant": "victim"}}},
            {"metadata": {"annotations": {"greenshift.io/owner": "DocumentSource/wallet-victim/identity"}}},
            {"metadata": {"annotations": {"greenshift.io/owner": None}}},
        ):
            message = await refused(
                w.agency.request("PATCH", path, params=DRY_RUN, body=change, content_type=merge)
            )
            assert "greenshift-operator-labels" in message, (change, message)
        # a label value of its own that is not the operator's: allowed
        plain = config_map(w.tenant, "mine", {"app.kubernetes.io/managed-by": "helm"})
        await create(w.agency, plain)


# --- item 5: certified, pinned images on every pod ---------------------------------------------


@pytest.mark.parametrize(
    ("image", "reason"),
    [
        ("docker.io/library/nginx:1.27", "is not from a certified registry"),
        (f"{CERTIFIED}identity:LATEST", "is not pinned"),
        (f"{CERTIFIED}identity:latest", "is not pinned"),
        (f"{CERTIFIED}identity", "is not pinned"),
        (f"{CERTIFIED}identity@sha256:abc", "is not pinned"),
        ("registry.greenshift.local/certified.evil.com/x:1.0", "is not from a certified registry"),
    ],
)
async def test_every_pod_template_needs_a_certified_pinned_image(
    control_plane: ControlPlane, image: str, reason: str
) -> None:
    async with world(control_plane) as w:
        # what the agency may create, and what only the operator's rights allow (bare Pods,
        # DaemonSets, ReplicaSets): the policy exempts nobody
        for kind, client in (
            ("Deployment", w.agency),
            ("StatefulSet", w.agency),
            ("Job", w.agency),
            ("CronJob", w.agency),
            ("Pod", w.operator),
            ("DaemonSet", w.operator),
            ("ReplicaSet", w.operator),
            ("Pod", w.admin),
        ):
            message = await refused(create(client, workload(kind, w.tenant, "app", pod_spec(image))))
            assert "ValidatingAdmissionPolicy 'greenshift-certified-images'" in message, (kind, message)
            assert f"image {image} {reason}" in message, (kind, message)
        # init containers too
        spec = pod_spec()
        spec["initContainers"] = [container("init", image)]
        message = await refused(create(w.agency, workload("Deployment", w.tenant, "init", spec)))
        assert reason in message
        # the control: elsewhere the same Deployment is admitted
        await create(w.agency, workload("Deployment", w.plain, "app", pod_spec(image)))


async def test_certified_pinned_images_and_the_operators_connectors_are_admitted(
    control_plane: ControlPlane,
) -> None:
    async with world(control_plane) as w:
        for image in (
            GOOD_IMAGE,
            f"{CERTIFIED}identity@sha256:{'a' * 64}",
            f"{CERTIFIED}identity:1.2.0@sha256:{'b' * 64}",
        ):
            for kind in ("Deployment", "StatefulSet", "Job", "CronJob"):
                await create(w.agency, workload(kind, w.tenant, "app", pod_spec(image)))
        # a connector as the operator renders it: its labels, its certified image, no resources
        # stated (the LimitRange fills them in, and the quota counts them)
        tenant = tenant_body("evil", w.tenant)
        source = {
            "apiVersion": "greenshift.io/v1alpha1",
            "kind": "DocumentSource",
            "metadata": {"name": "identity", "namespace": w.tenant},
            "spec": {
                "documentType": "identity",
                "displayName": "Identity",
                "upstream": {"url": "https://rrn.example.be/api"},
                "connector": {"image": GOOD_IMAGE},
            },
        }
        for child in render_document_source(source, tenant, PLATFORM):
            if child["kind"] in ("Deployment", "ConfigMap", "Service"):
                await create(w.operator, child)
        deployment = next(
            c for c in render_document_source(source, tenant, PLATFORM) if c["kind"] == "Deployment"
        )
        pod = {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {
                "name": "connector",
                "namespace": w.tenant,
                "labels": deployment["spec"]["template"]["metadata"]["labels"],
            },
            "spec": deployment["spec"]["template"]["spec"],
        }
        admitted = await create(w.operator, pod)
        assert admitted is not None
        resources = admitted["spec"]["containers"][0]["resources"]
        assert resources["limits"]["ephemeral-storage"] == "1Gi"


# --- item 6: publishing around the gateway -----------------------------------------------------


async def test_services_cannot_publish_around_the_gateway(control_plane: ControlPlane) -> None:
    async with world(control_plane) as w:
        message = await refused(create(w.agency, service(w.tenant, "mitm", externalIPs=["203.0.113.7"])))
        assert "ValidatingAdmissionPolicy 'greenshift-service-exposure'" in message
        assert "CVE-2020-8554" in message
        message = await refused(create(w.agency, service(w.tenant, "lb", type="LoadBalancer")))
        assert "exceeded quota: greenshift-quota" in message, message
        assert "services.loadbalancers" in message, message
        message = await refused(create(w.agency, service(w.tenant, "np", type="NodePort")))
        assert "exceeded quota: greenshift-quota" in message, message
        assert "services.nodeports" in message, message
        await create(w.agency, service(w.tenant, "internal"))  # ClusterIP: fine
        await create(w.agency, service(w.plain, "mitm", externalIPs=["203.0.113.7"]))  # the control


# --- items 2 and 7: the quota and the LimitRange -----------------------------------------------


async def test_the_quota_counts_configmaps_secrets_and_services(control_plane: ControlPlane) -> None:
    async with world(control_plane) as w:
        quota = await w.admin.request("GET", f"/api/v1/namespaces/{w.tenant}/resourcequotas/greenshift-quota")
        assert quota is not None
        hard = quota["status"]["hard"]
        # documentSources 1 + configMaps 3, gatewayRoutes 1 + secrets 1, documentSources 1 + services 1
        assert (hard["configmaps"], hard["secrets"], hard["services"]) == ("4", "2", "2")
        for kind, make in (
            ("configmaps", lambda i: config_map(w.tenant, f"cm-{i}")),
            (
                "secrets",
                lambda i: {
                    "apiVersion": "v1",
                    "kind": "Secret",
                    "metadata": {"name": f"s-{i}", "namespace": w.tenant},
                },
            ),
            ("services", lambda i: service(w.tenant, f"svc-{i}")),
        ):
            made, refusal = 0, ""
            for index in range(int(hard[kind]) + 1):
                try:
                    await create(w.agency, make(index), dry_run=False)
                except ApiError as exc:
                    refusal = str(exc)
                    break
                made += 1
            assert refusal, f"{kind}: {made} made, the quota allows {hard[kind]}"
            assert "exceeded quota: greenshift-quota" in refusal
            assert kind in refusal
            assert made <= int(hard[kind])


@pytest.mark.parametrize(
    ("resources", "refusal"),
    [
        ({"requests": {"nvidia.com/gpu": "1"}, "limits": {"nvidia.com/gpu": "1"}}, "requests.nvidia.com/gpu"),
        (
            {
                "requests": {"hugepages-2Mi": "2Mi", "memory": "64Mi"},
                "limits": {"hugepages-2Mi": "2Mi", "memory": "64Mi"},
            },
            "requests.hugepages-2Mi",
        ),
        ({"limits": {"cpu": "3"}}, "maximum cpu usage per Container is 2"),
        ({"limits": {"memory": "5Gi"}}, "maximum memory usage per Container is 4Gi"),
        (
            {"requests": {"ephemeral-storage": "30Gi"}, "limits": {"ephemeral-storage": "30Gi"}},
            "requests.ephemeral-storage",
        ),
    ],
    ids=["gpu", "hugepages", "cpu-max", "memory-max", "ephemeral-storage"],
)
async def test_the_quota_and_limits_refuse_what_the_tier_does_not_allow(
    control_plane: ControlPlane, resources: Manifest, refusal: str
) -> None:
    async with world(control_plane) as w:
        message = await refused(
            create(w.operator, workload("Pod", w.tenant, "greedy", pod_spec(**resources)))
        )
        assert refusal in message, message
        await create(w.operator, workload("Pod", w.tenant, "modest", pod_spec()))  # defaults: admitted


async def test_limits_cpu_is_capped_by_the_quota(control_plane: ControlPlane) -> None:
    """limits.cpu is 10 x quota.cpu: 40 for 4 CPUs; 21 containers at the 2-CPU maximum need 42."""
    async with world(control_plane) as w:
        spec = pod_spec()
        limits = {"limits": {"cpu": "2"}, "requests": {"cpu": "10m"}}
        spec["containers"] = [container(f"c{i}", GOOD_IMAGE, **limits) for i in range(21)]
        message = await refused(create(w.operator, workload("Pod", w.tenant, "many", spec)))
        assert "exceeded quota: greenshift-quota" in message, message
        assert "limits.cpu" in message, message


async def test_the_policies_type_check_cleanly(control_plane: ControlPlane) -> None:
    """The API server type-checks each expression against every kind the policy matches."""
    async with world(control_plane) as w:
        for name in (
            "greenshift-operator-labels",
            "greenshift-certified-images",
            "greenshift-service-exposure",
        ):
            policy = await w.admin.request("GET", f"{ADMISSION}/validatingadmissionpolicies/{name}")
            assert policy is not None
            assert not policy["status"].get("typeChecking", {}).get("expressionWarnings"), policy["status"]


async def test_an_ephemeral_debug_container_needs_a_certified_image_too(control_plane: ControlPlane) -> None:
    """``kubectl debug`` adds an ephemeral container through the ``pods/ephemeralcontainers``
    subresource: the policy judges that write too (the agency has no right to it; an admin has)."""
    async with world(control_plane) as w:
        pod = workload("Pod", w.tenant, "target", pod_spec())
        await create(w.operator, pod, dry_run=False)
        path = f"/api/v1/namespaces/{w.tenant}/pods/target/ephemeralcontainers"
        for image, allowed in (("docker.io/library/busybox:1.36", False), (GOOD_IMAGE, True)):
            debugger = {**container("debugger", image), "targetContainerName": "app"}
            patch = {"spec": {"ephemeralContainers": [debugger]}}
            call = w.admin.request(
                "PATCH",
                path,
                params=DRY_RUN,
                body=patch,
                content_type="application/strategic-merge-patch+json",
            )
            if allowed:
                await call
            else:
                message = await refused(call)
                assert "ValidatingAdmissionPolicy 'greenshift-certified-images'" in message, message
                assert f"image {image} is not from a certified registry" in message
