"""An embedded Kubernetes API server for development, the demo, integration tests and the benchmark.

See docs/devcluster.md for what it emulates and where it simplifies.
"""

from .cluster import DevCluster
from .faults import Fault, FaultHook, WriteRequest

__all__ = ["DevCluster", "Fault", "FaultHook", "WriteRequest"]
