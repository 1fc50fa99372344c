"""The install manifests (a kustomize base), shipped as package data `greenshift.deploy`."""
