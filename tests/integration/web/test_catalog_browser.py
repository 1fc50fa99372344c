"""The /catalog page in a real headless Chromium: grouping, protocol filter and text search."""

import shutil
from collections.abc import Iterator
from typing import Any

import pytest

from .conftest import Platform

webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is not installed (the test extra)")

CHROMIUM = shutil.which("chromium")
CHROMEDRIVER = shutil.which("chromedriver")
if CHROMIUM is None or CHROMEDRIVER is None:
    pytest.skip(
        "Debian's chromium and chromium-driver are not installed (make system-deps, as root)",
        allow_module_level=True,
    )

FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in FLAGS:
        options.add_argument(flag)
    driver = webdriver.Chrome(options=options, service=Service(CHROMEDRIVER))
    try:
        yield driver
    finally:
        driver.quit()


def _visible_titles(browser: Any) -> list[str]:
    rows = browser.find_elements("css selector", "tr.entry")
    return [
        row.find_element("css selector", ".title").text.split("\n")[0] for row in rows if row.is_displayed()
    ]


def _visible_agencies(browser: Any) -> list[str]:
    sections = browser.find_elements("css selector", "section.agency")
    return [s.get_attribute("data-agency") for s in sections if s.is_displayed()]


def _routes(platform: Platform) -> list[dict[str, Any]]:
    return [m for m in platform.manifests if m["kind"] == "GatewayRoute"]


def _title(route: dict[str, Any]) -> str:
    return str((route["spec"].get("api") or {}).get("title") or route["metadata"]["name"])


def test_grouped_by_agency_with_every_service(browser: Any, platform: Platform) -> None:
    browser.get(f"{platform.url}/catalog")
    assert browser.title == "Greenshift service catalog"
    tenants = {
        m["spec"].get("namespace") or f"wallet-{m['metadata']['name']}": m["spec"]["agency"]
        for m in platform.manifests
        if m["kind"] == "WalletTenant"
    }
    agencies = sorted({tenants[r["metadata"]["namespace"]] for r in _routes(platform)})
    assert _visible_agencies(browser) == agencies
    assert sorted(_visible_titles(browser)) == sorted(_title(r) for r in _routes(platform))
    riziv = browser.find_element("css selector", 'section[data-agency="RIZIV-INAMI"]')
    assert "European Health Insurance Card" in riziv.text
    assert "https://health.wallet.belgium.be/ehic/v1" in riziv.text
    assert "1200/min, burst 2400" in riziv.text
    assert browser.find_element("id", "count").text == f"{len(_routes(platform))} services"


def test_protocol_filter(browser: Any, platform: Platform) -> None:
    from selenium.webdriver.support.select import Select

    browser.get(f"{platform.url}/catalog")
    Select(browser.find_element("id", "protocol")).select_by_value("SOAP")
    soap = [r for r in _routes(platform) if r["spec"].get("protocol") == "SOAP"]
    assert soap, "the examples must have a SOAP route"
    assert sorted(_visible_titles(browser)) == sorted(_title(r) for r in soap)
    protocols = {
        row.find_element("css selector", ".protocol").text
        for row in browser.find_elements("css selector", "tr.entry")
        if row.is_displayed()
    }
    assert protocols == {"SOAP"}
    Select(browser.find_element("id", "protocol")).select_by_value("")
    assert len(_visible_titles(browser)) == len(_routes(platform))


def test_text_search_narrows_and_hides_empty_agencies(browser: Any, platform: Platform) -> None:
    browser.get(f"{platform.url}/catalog")
    search = browser.find_element("id", "search")
    search.send_keys("health insurance card")
    assert _visible_titles(browser) == ["European Health Insurance Card"]
    assert _visible_agencies(browser) == ["RIZIV-INAMI"]
    assert browser.find_element("id", "count").text == "1 service"
    search.clear()
    search.send_keys("no-such-service")
    assert _visible_titles(browser) == []
    assert browser.find_element("id", "empty").is_displayed()


def _analytics(platform: Platform) -> Any:
    if platform.prometheus is None:
        pytest.skip("prometheus is not installed (Debian's prometheus package: make system-deps, as root)")
    analytics = platform.runtime.metrics.analytics
    assert analytics is not None
    return analytics


def _row(browser: Any, name: str) -> Any:
    return browser.find_element("css selector", f'tr.entry[data-name="{name}"]')


def test_analytics_top_five_and_an_api_with_errors_highlighted(browser: Any, platform: Platform) -> None:
    """Figures by hand from greenshift.analytics.local.DEMO_TRAFFIC (constant rates over an hour)."""
    _analytics(platform)
    browser.get(f"{platform.url}/catalog")
    note = browser.find_element("id", "analytics-note")
    assert note.is_displayed()
    assert "Demo data" in note.text
    top = browser.find_elements("css selector", "#top-volume li")
    assert [li.get_attribute("data-name") for li in top] == [
        "identity-v1",
        "driving-licences-v1",
        "ehic-v1",
        "mybenefits-soap",
        "civil-status-certificates-v1",
    ]
    assert "12.00/s" in top[0].text
    errors = browser.find_elements("css selector", "#top-errors li")
    assert [li.get_attribute("data-name") for li in errors] == [
        "mybenefits-soap",
        "criminal-record-extracts-v1",
        "identity-v1",
    ]
    callers = browser.find_element("id", "top-callers").text
    assert "wallet-app-android 17.10/s" in callers  # 28.5 requests/s in all x 60%
    assert "partner-portal 2.28/s" in callers  # x 8%
    soap = _row(browser, "mybenefits-soap")
    assert "errors-high" in soap.get_attribute("class").split()
    assert soap.find_element("css selector", "td.errors").text == "4.00%"
    assert soap.find_element("css selector", "td.p95").text == "1750 ms"
    highlight = soap.find_element("css selector", "td").value_of_css_property("background-color")
    assert highlight == "rgba(253, 236, 234, 1)"  # #fdecea
    ehic = _row(browser, "ehic-v1").find_element("css selector", "td")
    assert ehic.value_of_css_property("background-color") != highlight
    identity = _row(browser, "identity-v1")
    assert "errors-high" not in identity.get_attribute("class").split()  # 0.05%: within the 0.1% budget
    assert identity.find_element("css selector", "td.rps").text == "12.00"
    assert identity.find_element("css selector", "td.p95").text == "375 ms"
    # the filters still work with the figures: SOAP leaves the one SOAP route
    Select = pytest.importorskip("selenium.webdriver.support.ui").Select
    Select(browser.find_element("id", "protocol")).select_by_value("SOAP")
    assert _visible_titles(browser) == [
        _title(r) for r in _routes(platform) if r["spec"].get("protocol") == "SOAP"
    ]


def test_the_page_works_with_prometheus_down(browser: Any, platform: Platform) -> None:
    analytics = _analytics(platform)
    assert platform.prometheus is not None
    before = _failures(platform)
    platform.prometheus.stop()
    try:
        analytics.expire()
        browser.get(f"{platform.url}/catalog")
        notice = browser.find_element("id", "analytics-unavailable")
        assert notice.is_displayed()
        assert "Prometheus did not answer" in notice.text
        assert sorted(_visible_titles(browser)) == sorted(_title(r) for r in _routes(platform))
        assert _row(browser, "identity-v1").find_element("css selector", "td.rps").text == "\u2013"
        search = browser.find_element("id", "search")
        search.send_keys("ehic")
        assert all("EHIC" in t or "Health" in t for t in _visible_titles(browser))
        assert _failures(platform) == before + 1
    finally:
        platform.prometheus.start(same_port=True)
        analytics.expire()
    browser.get(f"{platform.url}/catalog")
    assert browser.find_elements("id", "analytics-unavailable") == []


def _failures(platform: Platform) -> float:
    import urllib.request

    with urllib.request.urlopen(f"{platform.url}/metrics", timeout=5) as answer:  # noqa: S310 - loopback
        text = answer.read().decode()
    line = next(x for x in text.splitlines() if x.startswith("greenshift_prometheus_query_failures_total "))
    return float(line.split()[1])
