"""The pages in headless Chromium: the expression browser runs queries, errors show, targets list."""

from __future__ import annotations

import pytest

from tests.support import free_port, require_binary
from tests.web.conftest import run_server, scraping_config, wait_for

pytestmark = pytest.mark.browser

CHROMIUM_ARGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
END = "2024-05-01T10:00:00Z"  # T0: the test data ends here


@pytest.fixture(scope="module")
def site():
    """The real server scraping itself (up) and a dead port (down), each scraped at least once."""
    own, down = free_port(), free_port()
    with run_server(scraping_config(own, down), listen_address=f"127.0.0.1:{own}") as s:
        wait_for(lambda: all(t["health"] != "unknown" for t in s.api("targets")[1]["data"]["activeTargets"]))
        s.own_port, s.down_port = own, down
        yield s


@pytest.fixture(scope="module")
def browser():
    chromium = require_binary("chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()


@pytest.fixture(scope="module")
def page(browser):
    """One page for the module: every test starts by navigating, which resets what it shows."""
    context = browser.new_context()
    pg = context.new_page()
    yield pg
    context.close()


def test_root_redirects_to_the_expression_browser(site, page):
    page.goto(site.url + "/")
    assert page.url == site.url + "/graph"
    assert page.title().startswith("Prometheus")


def test_a_query_shows_one_table_row_per_series(site, page):
    page.goto(site.url + "/graph")
    page.fill("#expr", 'up{job="app"}')
    page.fill("#end", END)
    page.click("#execute")
    page.wait_for_selector("tr.result")
    rows = page.locator("tr.result").all_inner_texts()
    assert [r.split("\t") for r in rows] == [[f'up{{instance="{i}:9100", job="app"}}', "1"] for i in "abc"]


def test_the_graph_tab_draws_one_line_per_series(site, page):
    page.goto(site.url + "/graph")
    page.fill("#expr", 'http_requests_total{job="app"}')
    page.fill("#end", END)
    page.click("#tab-graph")
    page.fill("#range", "10m")
    page.click("#execute")
    page.wait_for_selector("#graph-svg polyline.series")
    lines = page.locator("#graph-svg polyline.series")
    assert lines.count() == 3
    points = lines.first.get_attribute("points").split()
    assert len(points) == 301  # 10 minutes at the page's automatic 2 s step (600 s / 250 points)
    assert "a:9100" in page.inner_text("#legend")


def test_a_bad_query_shows_the_error_with_its_position(site, page):
    page.goto(site.url + "/graph")
    page.fill("#expr", "sum(rate(x[5m])")
    page.press("#expr", "Enter")
    page.wait_for_selector("#error:not([hidden])")
    text = page.inner_text("#error")
    assert "bad_data" in text and "1:16: parse error: unclosed left parenthesis" in text
    assert text.splitlines()[-2:] == ["sum(rate(x[5m])", " " * 15 + "^"]
    assert page.locator("tr.result").count() == 0


def test_targets_page_lists_each_target_with_state_and_error(site, page):
    page.goto(site.url + "/targets")
    page.wait_for_selector("tr.target")
    rows = page.locator("tr.target").all_inner_texts()
    assert len(rows) == 2
    assert f"http://127.0.0.1:{site.own_port}/metrics" in rows[0] and "UP" in rows[0]
    assert f"http://127.0.0.1:{site.down_port}/metrics" in rows[1] and "DOWN" in rows[1]
    error = site.api("targets")[1]["data"]["activeTargets"][1]["lastError"]
    assert error and error in rows[1]
    content = page.inner_text("#content")
    assert "prometheus (1/1 up)" in content and "toy (0/1 up)" in content


def test_rules_and_alerts_pages_say_when_there_are_none_and_status_shows_the_version(site, page):
    page.goto(site.url + "/rules")
    page.wait_for_function("document.getElementById('content').innerText !== 'Loading…'")
    assert page.inner_text("#content") == "No rules."
    page.goto(site.url + "/alerts")
    page.wait_for_function("document.getElementById('content').innerText !== 'Loading…'")
    assert page.inner_text("#content") == "No alerting rules."
    page.goto(site.url + "/status")
    page.wait_for_selector("#content table")
    assert "3.5.0-workshop" in page.inner_text("#content")
