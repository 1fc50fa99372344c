"""The CRD manifests, shipped as package data `greenshift.crds`."""
