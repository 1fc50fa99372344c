"""Names shared by the CRDs, the renderers and the operator."""

from typing import Final

GROUP: Final = "greenshift.io"
VERSION: Final = "v1alpha1"
API_VERSION: Final = f"{GROUP}/{VERSION}"

FIELD_MANAGER: Final = "greenshift-operator"
MANAGED_BY_LABEL: Final = "app.kubernetes.io/managed-by"
MANAGED_BY_VALUE: Final = "greenshift-operator"
TENANT_LABEL: Final = "greenshift.io/tenant"
FINALIZER: Final = "greenshift.io/finalizer"

KIND_TENANT: Final = "WalletTenant"
KIND_SOURCE: Final = "DocumentSource"
KIND_ROUTE: Final = "GatewayRoute"
KINDS: Final = (KIND_TENANT, KIND_SOURCE, KIND_ROUTE)
PLURALS: Final = {
    KIND_TENANT: "wallettenants",
    KIND_SOURCE: "documentsources",
    KIND_ROUTE: "gatewayroutes",
}
