"""The web page in real headless Chromium (Debian's chromium + chromedriver, via Selenium)
against the running API (uvicorn), the real Elasticsearch and the real alerts topic.

Saves ``test-artifacts/web_page.png`` (git-ignored); the README picture ``docs/screenshot.png``
is refreshed on purpose, by copying that file, never by the test.
"""

from __future__ import annotations

import re
import shutil
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import uvicorn
from kafka import KafkaProducer

from feedback.api.app import create_app
from feedback.schema import Alert, ClassifiedFeedback
from feedback.services.process import free_port
from feedback.settings import Settings
from tests.feedback.api_keys import issue_key, with_api
from tests.sinks.search_corpus import indexed_corpus

CHROMIUM, CHROMEDRIVER = Path("/usr/bin/chromium"), Path("/usr/bin/chromedriver")
REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "test-artifacts"

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(not CHROMIUM.exists() or not CHROMEDRIVER.exists(),
                       reason="needs Debian's chromium and chromium-driver (apt-get install chromium chromium-driver)"),
]


@pytest.fixture
def served(settings: Settings, isolated_settings: Settings,
           tmp_path: Path) -> Iterator[tuple[str, list[ClassifiedFeedback], Alert, Settings]]:
    """The API on a free local port over the indexed corpus, with one open alert on the topic."""
    with indexed_corpus(settings) as (corpus_settings, _es, docs):
        s = with_api(corpus_settings.model_copy(update={"kafka": isolated_settings.kafka}), tmp_path / "keys.json")
        now = datetime.now(UTC)
        alert = Alert(topic="delivery_shipping", department="logistics", window_start=now - timedelta(minutes=5),
                      window_seconds=300, count=31, baseline=2.4, p_value=3e-9)
        producer = KafkaProducer(bootstrap_servers=s.kafka_bootstrap)
        producer.send(s.kafka.alerts_topic, alert.model_dump_json().encode())
        producer.flush()
        producer.close()
        port = free_port()
        server = uvicorn.Server(uvicorn.Config(create_app(s), host="127.0.0.1", port=port, log_level="warning"))
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        deadline = time.monotonic() + 20
        while not server.started:
            assert time.monotonic() < deadline, "uvicorn did not start"
            time.sleep(0.05)
        try:
            yield f"http://127.0.0.1:{port}", docs, alert, s
        finally:
            server.should_exit = True
            thread.join(10)


@pytest.fixture
def browser() -> Iterator[object]:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="chromium-profile-")
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for arg in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--disable-dev-shm-usage", f"--user-data-dir={profile}", "--window-size=1280,2200", "--lang=en-US"):
        options.add_argument(arg)
    driver = webdriver.Chrome(service=Service(executable_path=str(CHROMEDRIVER)), options=options)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def test_search_filter_chart_and_alerts_in_chromium(served, browser) -> None:  # type: ignore[no-untyped-def]
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select, WebDriverWait

    url, docs, alert, s = served
    wait = WebDriverWait(browser, 20)
    browser.get(url + "/")
    # No key yet: the page asks for one and shows nothing else; a wrong key is refused with the reason.
    gate = browser.find_element(By.ID, "key-gate")
    assert gate.is_displayed() and not browser.find_element(By.ID, "app").is_displayed()
    browser.find_element(By.ID, "api-key").send_keys("fbk_0123456789ab_" + "w" * 43)
    browser.find_element(By.ID, "key-button").click()
    wait.until(lambda d: "refused" in d.find_element(By.ID, "key-status").text and gate.is_displayed())
    assert "unknown or revoked" in browser.find_element(By.ID, "key-status").text
    assert browser.execute_script("return sessionStorage.getItem('feedback-api-key')") is None
    browser.find_element(By.ID, "api-key").send_keys(issue_key(s, roles=["ops"]))
    browser.find_element(By.ID, "key-button").click()
    wait.until(lambda d: d.find_element(By.TAG_NAME, "body").get_attribute("data-searched") == "1")
    assert browser.execute_script("return sessionStorage.getItem('feedback-api-key')").startswith("fbk_")
    assert "300 result(s)" in browser.find_element(By.ID, "search-status").text

    # Search Persian with Arabic letter variants, then narrow with a filter.
    box = browser.find_element(By.ID, "q")
    box.send_keys("كيفيت")
    browser.find_element(By.ID, "search-button").click()
    wait.until(lambda d: d.find_element(By.TAG_NAME, "body").get_attribute("data-searched") == "2")
    # A word, or a part of one that a ZWNJ joins (بی‌کیفیت): the Persian analyzer splits there.
    expected = [d for d in docs if "کیفیت" in re.findall(r"\w+", d.redacted_text)]
    status = browser.find_element(By.ID, "search-status").text
    assert expected and status.startswith(f"{len(expected)} result(s)"), status
    first = browser.find_element(By.CSS_SELECTOR, "#results li .text")
    assert first.get_attribute("dir") == "auto"
    assert browser.execute_script("return getComputedStyle(arguments[0]).direction", first) == "rtl"
    assert first.find_element(By.TAG_NAME, "mark").text == "کیفیت"

    Select(browser.find_element(By.CSS_SELECTOR, '#search-form select[name="sentiment"]')).select_by_visible_text("negative")
    wait.until(lambda d: d.find_element(By.TAG_NAME, "body").get_attribute("data-searched") == "3")
    negative = browser.find_elements(By.CSS_SELECTOR, "#results li .tag.negative")
    rows = browser.find_elements(By.CSS_SELECTOR, "#results li.hit")
    assert rows and len(negative) == len(rows)
    ids = browser.execute_script("return [...document.querySelectorAll('#results li.hit')].map(li => li.dataset.id)")
    assert set(ids) == {d.event.id for d in expected if d.sentiment.label == "negative"}

    # The chart: one department, a fixed period, daily buckets split by sentiment.
    form = browser.find_element(By.ID, "trends-form")
    for name, value in (("since", "2026-03-01T00:00Z"), ("until", "2026-03-09T00:00Z")):
        field = form.find_element(By.NAME, name)
        field.clear()
        field.send_keys(value)
    Select(form.find_element(By.NAME, "interval")).select_by_visible_text("1d")
    charted = int(browser.find_element(By.TAG_NAME, "body").get_attribute("data-charted") or 0)
    Select(form.find_element(By.NAME, "department")).select_by_value("logistics")
    wait.until(lambda d: int(d.find_element(By.TAG_NAME, "body").get_attribute("data-charted") or 0) > charted)
    wait.until(lambda d: "from 2026-03-01" in d.find_element(By.ID, "trends-status").text)
    logistics = Counter(d.topic.label for d in docs if d.department == "logistics")
    charts = browser.find_elements(By.CSS_SELECTOR, "#chart svg.topic-chart")
    assert [c.get_attribute("data-topic") for c in charts] == [t for t, _ in logistics.most_common()]
    bars = browser.find_elements(By.CSS_SELECTOR, "#chart rect.bar")
    days = {(d.event.received_at.date(), d.sentiment.label) for d in docs if d.department == "logistics"}
    assert len(bars) == len(days)
    assert browser.find_elements(By.CSS_SELECTOR, "#chart rect.negative")
    assert f"{sum(logistics.values())} item(s)" in browser.find_element(By.ID, "trends-status").text

    # The open alert from the alerts topic.
    wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "#alert-list li.alert"))
    assert f"{alert.topic} ({alert.department}): {alert.count}" in browser.find_element(By.ID, "alert-list").text

    ARTIFACTS.mkdir(exist_ok=True)
    shot = ARTIFACTS / "web_page.png"
    browser.execute_script("window.scrollTo(0, 0)")
    assert browser.save_screenshot(str(shot))
    assert shot.stat().st_size > 10_000


def test_a_department_key_sees_its_department_only_in_chromium(served, browser) -> None:  # type: ignore[no-untyped-def]
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    url, docs, _alert, s = served
    wait = WebDriverWait(browser, 20)
    browser.get(url + "/")
    browser.find_element(By.ID, "api-key").send_keys(issue_key(s, departments=["logistics"]))
    browser.find_element(By.ID, "key-button").click()
    wait.until(lambda d: d.find_element(By.TAG_NAME, "body").get_attribute("data-searched") == "1")
    logistics = sum(d.department == "logistics" for d in docs)
    assert browser.find_element(By.ID, "search-status").text.startswith(f"{logistics} result(s)")
    options = browser.execute_script(
        "return [...document.querySelectorAll('#search-form select[name=department] option')].map(o => o.value)")
    assert options == ["", "logistics"]
    # Reload: the key is kept in this tab's sessionStorage, and the page starts at once.
    browser.refresh()
    wait.until(lambda d: d.find_element(By.TAG_NAME, "body").get_attribute("data-searched") == "1")
    assert not browser.find_element(By.ID, "key-gate").is_displayed()
