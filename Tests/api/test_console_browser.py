"""The console in a real browser (issue 26 point 4): Debian's Chromium, headless, through the real Apache with the
demo admin certificate. A hostile phone puts `<script>`, `"><img onerror>`, a bidi override and a terminal escape
into its User-Agent, its certificate's serial and model fields and its syslog line; the pages show them as text, no
script runs (an alert would be pending, an injected element would exist), the policy forbids inline script, and
the bidi override does not reorder what follows. Screenshots of each page go to $PROVISIONER_SCREENSHOTS."""
import os
import shutil
import subprocess
import sys

import pytest

from admind import ROOT, profile_cgi

sys.path.insert(0, os.path.join(ROOT, "bench"))
import measure  # noqa: E402

HOSTILE = '<script>window.pwned=1</script>"><img src=x onerror="window.pwned=2">\u202egnp.exe\x1b[2J'
HOSTILE_MAC = "00562b00bad1"


@pytest.fixture
def browser(apache):
    if not (shutil.which("chromium") and shutil.which("chromedriver")):
        pytest.skip("no chromium / chromium-driver (Tests/api/run installs them)")
    from browser import Browser
    b = Browser(apache)
    yield b
    b.close()


def shoot(browser, name):
    folder = os.environ.get("PROVISIONER_SCREENSHOTS")
    if folder:
        os.makedirs(folder, exist_ok=True)
        browser.driver.save_screenshot(os.path.join(folder, name + ".png"))


def plant_hostile_claim(apache):
    """A stranger's fetch through the CGI as Apache runs it (as www-data, the user of the demo's Apache, so the
    journal's files keep their owner), its certificate fields and User-Agent chosen to attack the console."""
    env = measure.phone_env(os.path.join(apache.state, "provisioner.db"), HOSTILE_MAC, "FCH" + HOSTILE, "CP-8841" + HOSTILE,
                            "xml", seen=True)
    env["HTTP_USER_AGENT"] = "Cisco-CP-8841-3PCC/" + HOSTILE
    env["PROVISIONER_JOURNAL"] = os.path.join(apache.state, "journal.db")
    subprocess.run([profile_cgi()], env=env, capture_output=True, user="www-data", group="www-data", check=True)


def test_pages_render_and_nothing_executes(apache, browser):
    plant_hostile_claim(apache)
    from selenium.webdriver.common.by import By
    for path, name, heading in (("/console/", "fleet", "Fleet"), ("/console/devices", "devices", "Devices"),
                                ("/console/devices/000e08abcdef", "device", "Device 000e08abcdef"),
                                ("/console/claims", "claims", "Claims")):
        driver = browser.get(path)
        assert driver.find_element(By.TAG_NAME, "h1").text == heading, (path, driver.page_source[:500])
        # Nothing the phone wrote ran: no flag set, no injected element, no alert pending.
        assert driver.execute_script("return window.pwned === undefined"), path
        assert driver.find_elements(By.CSS_SELECTOR, "main img") == [], path
        assert driver.find_elements(By.CSS_SELECTOR, "main script") == [], path
        # The page's own stylesheet applied (one policy, the daemon's: a second one from Apache would block it)
        # and the browser reported nothing blocked or broken.
        assert "system-ui" in driver.execute_script("return getComputedStyle(document.body).fontFamily"), path
        assert browser.console_errors() == [], (path, browser.console_errors())
        shoot(browser, name)
    driver = browser.get("/console/claims")
    agent = [cell.text for cell in driver.find_elements(By.CSS_SELECTOR, "td.agent") if "window.pwned" in cell.text]
    assert agent, driver.page_source[-2000:]
    # Shown as text, and the override made visible instead of reversing what follows it.
    assert "<script>window.pwned=1</script>" in agent[0]
    assert "⟨U+202E⟩gnp.exe⟨U+001B⟩[2J" in agent[0]
    # The layout in the browser: the bidi override cannot flip the cell's direction.
    assert driver.execute_script("return getComputedStyle(document.querySelector('td.agent')).direction") == "ltr"


def test_viewer_sees_and_policy_blocks_inline_script(apache):
    if not (shutil.which("chromium") and shutil.which("chromedriver")):
        pytest.skip("no chromium")
    from browser import Browser
    b = Browser(apache, cert="viewer")
    try:
        driver = b.get("/console/")
        assert "viewer" in driver.find_element("css selector", ".who").text
        # The page's policy forbids inline script: one run from the page's context is refused and reported.
        driver.execute_script("""
            const s = document.createElement('script'); s.textContent = 'window.inlineRan = true';
            document.body.appendChild(s);""")
        assert driver.execute_script("return window.inlineRan === undefined")
        assert any("Content Security Policy" in e.get("message", "") for e in b.console_errors())
    finally:
        b.close()
