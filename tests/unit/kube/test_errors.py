"""Which API errors the reconcile loop retries and which it reports."""

from greenshift.kube.errors import PermanentApiError, TemporaryApiError, api_error


def test_server_and_network_errors_are_temporary() -> None:
    for status in (0, 409, 429, 500, 503):
        assert isinstance(api_error(status, "x", "try again"), TemporaryApiError), status


def test_request_errors_are_permanent() -> None:
    for status in (400, 403, 404, 422):
        assert isinstance(api_error(status, "x", "no"), PermanentApiError), status


def test_an_apply_of_an_undeclared_field_is_permanent_although_the_server_says_500() -> None:
    # What kube-apiserver v1.36 answers a server-side apply of a field its schema lacks.
    message = (
        "PATCH /api/v1/namespaces/a/configmaps/b: failed to create typed patch object "
        "(/v1, Kind=ConfigMap): .spec: field not declared in schema"
    )
    assert isinstance(api_error(500, "InternalError", message), PermanentApiError)
