"""Greenshift: the Kubernetes operator of the MyGov.be wallet platform."""

__version__ = "0.1.0"
