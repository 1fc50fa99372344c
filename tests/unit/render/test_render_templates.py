"""The template machinery: JSON-only output, one object per template, YAML-safe encoding."""

import importlib.resources
import re

import pytest
import yaml
from hypothesis import example, given
from hypothesis import strategies as st

from greenshift.render import common
from greenshift.render.common import RenderError, environment, render_template, to_json

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(), children, max_size=4),
    max_leaves=20,
)


def template_names() -> list[str]:
    root = importlib.resources.files("greenshift.templates")
    return sorted(
        f"{folder.name}/{entry.name}"
        for folder in root.iterdir()
        if folder.is_dir() and not folder.name.startswith("__")
        for entry in folder.iterdir()
        if entry.name.endswith(".yaml.j2")  # the manifests; catalog/ holds the HTML page
    )


@given(JSON)
def test_to_json_round_trips_through_yaml(value: object) -> None:
    assert yaml.safe_load(to_json(value)) == value
    assert yaml.safe_load(f"key: {to_json(value)}\nnext: 1\n") == {"key": value, "next": 1}


def test_one_template_per_child() -> None:
    assert template_names() == [
        "analytics/dashboard.yaml.j2",
        "analytics/prometheusrule.yaml.j2",
        "documentsource/configmap.yaml.j2",
        "documentsource/deployment.yaml.j2",
        "documentsource/horizontalpodautoscaler.yaml.j2",
        "documentsource/persistentvolumeclaim.yaml.j2",
        "documentsource/poddisruptionbudget.yaml.j2",
        "documentsource/service.yaml.j2",
        "documentsource/servicemonitor.yaml.j2",
        "gatewayroute/certificate.yaml.j2",
        "gatewayroute/httproute.yaml.j2",
        "gatewayroute/ingress.yaml.j2",
        "gatewayroute/route.yaml.j2",
        "logging/clusterlogforwarder.yaml.j2",
        "logging/configmap.yaml.j2",
        "tenant/limitrange.yaml.j2",
        "tenant/namespace.yaml.j2",
        "tenant/networkpolicy-allow-dns.yaml.j2",
        "tenant/networkpolicy-allow-egress-upstreams.yaml.j2",
        "tenant/networkpolicy-allow-from-gateway.yaml.j2",
        "tenant/networkpolicy-allow-from-monitoring.yaml.j2",
        "tenant/networkpolicy-allow-same-namespace.yaml.j2",
        "tenant/networkpolicy-default-deny.yaml.j2",
        "tenant/resourcequota.yaml.j2",
        "tenant/rolebinding.yaml.j2",
    ]


@pytest.mark.parametrize("name", template_names())
def test_every_printed_value_is_json_encoded(name: str) -> None:
    text = importlib.resources.files("greenshift.templates").joinpath(*name.split("/")).read_text()
    expressions = re.findall(r"{{(.*?)}}", text)
    assert expressions
    assert all(expr.strip().endswith("| tojson") for expr in expressions), expressions


def test_printing_a_raw_value_is_refused() -> None:
    with pytest.raises(RenderError, match="without the tojson filter"):
        environment().from_string("name: {{ value }}").render(value="x\n---\nkind: Secret")


def test_undefined_values_are_errors() -> None:
    with pytest.raises(Exception, match="undefined"):
        render_template(
            "tenant/resourcequota.yaml.j2", api_version="v1", kind="ResourceQuota", metadata={"name": "n"}
        )


def test_output_must_be_the_expected_object() -> None:
    meta = {"name": "n", "labels": {}}
    assert render_template("tenant/namespace.yaml.j2", api_version="v1", kind="Namespace", metadata=meta)
    with pytest.raises(RenderError, match="expected"):
        render_template("tenant/namespace.yaml.j2", api_version="v1", kind="ConfigMap", metadata=meta)


@given(JSON | st.lists(st.floats(allow_nan=False, allow_infinity=False) | st.none(), max_size=4))
@example(-9223372036854775809)  # beyond 64 bits: orjson would read it as a float
@example([2**70, {"k": -(2**65)}])
@example([1.5, None, {"k": None, "\x7f": "\u2028"}])  # a null orjson wrote is written by json again
@example([1e-05, 1e20, -2.5e-300])  # JSON's exponent without a dot: YAML 1.1 alone would read a string
def test_a_slotted_value_reads_back_as_yaml_reads_it(value: object) -> None:
    text = "apiVersion: v1\nkind: ConfigMap\nmetadata: {{ meta | tojson }}\ndata: {x: {{ value | tojson }}}\n"
    template = environment().from_string(text)
    context = {"meta": {"name": "n"}, "value": value}
    plain = yaml.load(template.render(**context), Loader=common._SAFE_LOADER)  # noqa: S506 - a safe loader
    assert common._render_fast(template, f"test-{text}", context) == plain


@pytest.mark.parametrize("value", [float("nan"), [1, float("inf")], {"k": [float("-inf")]}])
def test_non_finite_numbers_are_refused_wherever_they_are(value: object) -> None:
    """orjson would write null for them; json refuses them, and so does the render."""
    with pytest.raises(ValueError, match="JSON compliant"):
        to_json(value)


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("kind: K\nname: prefix-{{ value | tojson }}\n", "a slot inside a longer scalar"),
        ("kind: K\n{{ number | tojson }}: 1\n", "a key that is not a string"),
        ("kind: K\nwhen: 2026-11-28\nname: {{ value | tojson }}\n", "a YAML date"),
    ],
)
def test_what_json_cannot_say_takes_the_yaml_path(text: str, why: str) -> None:
    template = environment().from_string(text)
    assert common._render_fast(template, f"test-{why}", {"value": "v", "number": 7}) is None, why
