"""The dashboard in a real headless Chromium (Debian's chromium + chromedriver): after a
replay of HSTECH the page shows the alert of 2025-10-17, logs no console error, and a
screenshot is saved to test-output/dashboard-hstech.png."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import WebDriverWait

from tests.e2e.test_article_path_e2e import wait_for
from tests.kafka_harness import REPO, Namespace, Worker
from tests.peers import require
from tests.reference import closes, shared_path

pytestmark = pytest.mark.e2e
OUTPUT = REPO / "test-output"


def chromium(tmp: Path) -> webdriver.Chrome:
    options = webdriver.ChromeOptions()
    options.binary_location = require("chromium", "chromium")
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--window-size=1600,900", f"--user-data-dir={tmp / 'chromium'}"):  # fmt: skip
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(
        options=options, service=Service(require("chromedriver", "chromium-driver"))
    )


def test_dashboard_shows_the_hstech_alert_without_console_errors(
    ns: Namespace, tmp_path: Path
) -> None:
    csv = shared_path("quotes", "HSTECH.csv")
    worker = Worker(ns, tmp_path / "worker").start()
    driver = None
    try:
        ns.windvane("replay", "quotes", str(csv), "--symbol", "HSTECH")
        wait_for(ns, "quotes.signals", len(closes(csv)))
        deadline = time.monotonic() + 30
        status, body = worker.get("/api/alerts?after=0&limit=5000")
        while b'"2025-10-17"' not in body and time.monotonic() < deadline:
            time.sleep(0.5)
            status, body = worker.get("/api/alerts?after=0&limit=5000")
        assert status == 200
        alert = next(a for a in json.loads(body)["alerts"] if a["trading_day"] == "2025-10-17")
        driver = chromium(tmp_path)
        driver.get(worker.url(f"/dashboard?symbol=HSTECH#alert-{alert['id']}"))
        item = WebDriverWait(driver, 30).until(
            ec.presence_of_element_located((By.ID, f"alert-{alert['id']}"))
        )
        assert "HSTECH closed 5760.38, below its 60-day SMA 5877.94" in item.text
        assert "focus" in item.get_attribute("class")
        WebDriverWait(driver, 30).until(
            lambda d: d.find_elements(By.CSS_SELECTOR, f"#chart [data-alert='{alert['id']}']")
        )
        assert driver.find_element(By.ID, "status").text == "live"
        assert "HSTECH 4,766.16" in driver.find_element(By.ID, "headline").text
        OUTPUT.mkdir(exist_ok=True)
        driver.save_screenshot(str(OUTPUT / "dashboard-hstech.png"))
        driver.save_screenshot(str(tmp_path / "dashboard-hstech.png"))
        errors = [e for e in driver.get_log("browser") if e["level"] == "SEVERE"]
    finally:
        if driver is not None:
            driver.quit()
        worker.stop()
    assert errors == []
    assert (OUTPUT / "dashboard-hstech.png").stat().st_size > 50_000
