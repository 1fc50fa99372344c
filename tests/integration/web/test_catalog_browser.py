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
