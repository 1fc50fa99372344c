"""Offline validation of Greenshift resources: the CRD schema, the platform rules and whole input sets."""

from greenshift.validation.documents import Finding, Report, validate_documents
from greenshift.validation.problem import Problem, Severity
from greenshift.validation.schema import validate_schema

__all__ = ["Finding", "Problem", "Report", "Severity", "validate_documents", "validate_schema"]
