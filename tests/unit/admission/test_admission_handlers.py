"""Which requests the webhook reviews, and the message kubectl shows when it refuses."""

import kopf
from admission_support import changed, context, source, tenant

from greenshift.admission import WEBHOOK_PATHS, admission_problems, register_admission, review_document_source
from greenshift.admission.handlers import refusal
from greenshift.config import parse_platform_config
from greenshift.controllers.wiring import Runtime
from greenshift.validation import Problem

BAD = source(connector={"image": "docker.io/evil/connector:latest"})


def test_create_and_spec_changes_are_reviewed() -> None:
    ctx = context([tenant()])
    assert admission_problems(ctx, review_document_source, "CREATE", None, BAD)
    assert admission_problems(ctx, review_document_source, "UPDATE", source(), BAD)


def test_updates_leaving_the_spec_alone_pass() -> None:
    """The operator's finalizers, users' labels: always writable, even on a resource gone bad."""
    ctx = context()
    finalized = changed(BAD, finalizers=["greenshift.io/finalizer"], labels={"team": "a"})
    assert admission_problems(ctx, review_document_source, "UPDATE", BAD, finalized) == []


def test_resources_being_deleted_and_other_operations_pass() -> None:
    ctx = context()
    deleting = changed(BAD, deletionTimestamp="2026-01-01T00:00:00Z")
    assert admission_problems(ctx, review_document_source, "UPDATE", source(), deleting) == []
    assert admission_problems(ctx, review_document_source, "DELETE", BAD, None) == []
    assert admission_problems(ctx, review_document_source, "CONNECT", None, BAD) == []


def test_the_refusal_names_the_object_and_each_field() -> None:
    errors = [
        Problem("spec.connector.image", "image x is not pinned"),
        Problem("metadata.namespace", "namespace y belongs to no WalletTenant"),
    ]
    assert refusal(BAD, errors) == (
        "DocumentSource wallet-bosa/identity is refused: spec.connector.image: image x is not pinned; "
        "metadata.namespace: namespace y belongs to no WalletTenant"
    )
    assert refusal(tenant(), errors[:1]).startswith("WalletTenant bosa is refused: ")


def test_one_validating_handler_per_kind_under_its_webhook_path() -> None:
    registry = kopf.OperatorRegistry()
    runtime = Runtime(
        config=parse_platform_config({}), connection=kopf.ConnectionInfo(server="http://127.0.0.1:9")
    )
    register_admission(registry, runtime)
    handlers = registry._webhooks.get_all_handlers()
    assert sorted(h.id for h in handlers) == sorted(WEBHOOK_PATHS.values())
    assert all(set(h.operations or ()) == {"CREATE", "UPDATE"} for h in handlers)
    assert all(h.persistent and not h.ignore_failures for h in handlers)
