"""A real Kubernetes control plane for tests and the benchmark (controller-runtime's envtest, in Python)."""

from .control_plane import ADMIN, OPERATOR, AssetsMissing, ControlPlane, User, find_assets

__all__ = ["ADMIN", "OPERATOR", "AssetsMissing", "ControlPlane", "User", "find_assets"]
