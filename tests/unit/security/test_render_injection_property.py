"""Property: whatever string any spec field holds, the renderer emits only the kinds, names and
namespaces the spec allows, and a string it carries over comes back as data, unchanged."""

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from security_support import INJECTIONS, STRING_FIELDS, harm, render, strings, with_field

from greenshift.render import RenderError

# Fields copied verbatim into a child: the injected string must come back as one string value.
CARRIED = {
    ("WalletTenant", "displayName"),
    ("WalletTenant", "owners.0.name"),
    ("WalletTenant", "viewers.0.name"),
    ("DocumentSource", "upstream.soapAction"),
    ("DocumentSource", "connector.image"),
    ("DocumentSource", "upstream.credentialsSecretRef.name"),
    ("DocumentSource", "cache.storageClassName"),
}

hostile = st.one_of(
    st.sampled_from(INJECTIONS), st.text(max_size=300), st.text(alphabet="\n-:{}%#&*!|>'\"", max_size=40)
)


@pytest.mark.parametrize("kind", sorted(STRING_FIELDS))
@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_any_string_in_any_field_renders_only_what_the_spec_allows(kind: str, data: st.DataObject) -> None:
    path = data.draw(st.sampled_from(STRING_FIELDS[kind]), label="field")
    value = data.draw(hostile, label="value")
    resource = with_field(kind, path, value)
    try:
        children = render(resource)
    except (RenderError, ValueError, KeyError, TypeError):
        return  # refusing to render is harmless: nothing is emitted
    assert harm(resource, children) == []
    if (kind, path) in CARRIED and value:
        assert value in {s for child in children for s in strings(child)}, f"{path} did not round-trip"
