"""The validating admission webhook: refuses at ``kubectl apply`` what the schema cannot express."""

from greenshift.admission.handlers import WEBHOOK_PATHS, admission_problems, register_admission
from greenshift.admission.review import review_document_source, review_gateway_route, review_wallet_tenant
from greenshift.admission.server import WebhookOptions, webhook_server

__all__ = [
    "WEBHOOK_PATHS",
    "WebhookOptions",
    "admission_problems",
    "register_admission",
    "review_document_source",
    "review_gateway_route",
    "review_wallet_tenant",
    "webhook_server",
]
