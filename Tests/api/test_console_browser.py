"""The console in a real browser (issue 26 point 4): Debian's Chromium, headless, through the real Apache with the
demo admin certificate. A hostile phone puts `<script>`, `"><img onerror>`, a bidi override and a terminal escape
into its User-Agent, its certificate's serial and model fields and its syslog line; the pages show them as text, no
script runs (an alert would be pending, an injected element would exist), the policy forbids inline script, and
the bidi override does not reorder what follows. Screenshots of each page go to $PROVISIONER_SCREENSHOTS."""
import os
import shutil
import subprocess
import sys
import tempfile
import time

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


def plant_claim(apache, mac=HOSTILE_MAC, text=HOSTILE):
    """A stranger's fetch through the CGI as Apache runs it (as www-data, the user of the demo's Apache, so the
    journal's files keep their owner), its certificate fields and User-Agent chosen to attack the console."""
    env = measure.phone_env(os.path.join(apache.state, "provisioner.db"), mac, "FCH" + text, "CP-8841" + text,
                            "xml", seen=True)
    env["HTTP_USER_AGENT"] = "Cisco-CP-8841-3PCC/" + text
    env["PROVISIONER_JOURNAL"] = os.path.join(apache.state, "journal.db")
    subprocess.run([profile_cgi()], env=env, capture_output=True, user="www-data", group="www-data", check=True)


def plant_hostile_claim(apache):
    plant_claim(apache)


def test_pages_render_and_nothing_executes(apache, browser):
    plant_hostile_claim(apache)
    from selenium.webdriver.common.by import By
    for path, name, heading in (("/console/", "fleet", "Fleet"), ("/console/devices", "devices", "Devices"),
                                ("/console/devices/000e08abcdef", "device", "Device 000e08abcdef"),
                                ("/console/claims", "claims", "Claims"), ("/console/pending", None, "Pending"),
                                ("/console/settings?scope=default", None, "Settings at default"),
                                ("/console/history", None, "History"), ("/console/jobs", None, "Jobs"),
                                ("/console/campaigns", None, "Campaigns")):
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
        if name:
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


# --- The daily tasks (issue 26 point 4), keyboard and widths (point 3) --------------------------------------------

FRONTDESK = {"demo-8841": "000e08abcdef", "demo-8861": "2c3124c9f8e1"}
NEWCOMER = "00562b00c0de"


def press(driver, text):
    """Clicks the button whose text starts with `text` (as a user would find it) and waits for the page its form
    leads to."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions
    from selenium.webdriver.support.wait import WebDriverWait
    buttons = [b for b in driver.find_elements(By.TAG_NAME, "button") if b.text.strip().startswith(text)]
    assert buttons, (text, [b.text for b in driver.find_elements(By.TAG_NAME, "button")])
    page = driver.find_element(By.TAG_NAME, "html")
    buttons[0].click()
    WebDriverWait(driver, 10).until(expected_conditions.staleness_of(page))


def heading(driver):
    from selenium.webdriver.common.by import By
    return driver.find_element(By.TAG_NAME, "h1").text


def fill(driver, field_id, text):
    from selenium.webdriver.common.by import By
    field = driver.find_element(By.ID, field_id)
    field.clear()
    field.send_keys(text)


def wait_for(predicate, seconds, what):
    deadline = time.time() + seconds
    while time.time() < deadline:
        try:
            value = predicate()
        except Exception:  # noqa: BLE001 -- the page reloads itself: an element may go stale between two looks
            value = None
        if value:
            return value
        time.sleep(0.3)
    raise AssertionError("timed out waiting for " + what)


def test_daily_tasks_end_to_end(apache, browser):
    """Change a group's setting (its blast radius seen before the save), push the pending it made (a resync job,
    followed live and cancelled), revert the change, adopt a claim: each through the pages, with the admin's
    certificate, through Apache."""
    from selenium.webdriver.common.by import By
    from test_console import SipAnswerer
    phones = SipAnswerer()
    try:
        # The front desk's two phones fetch their profile through Apache: served, their address known.
        for cert, mac in FRONTDESK.items():
            fetched = apache.request("GET", f"/cgi-bin/profile/{mac}.xml", cert=cert, port=apache.port)
            assert fetched.status_code == 200, (mac, fetched.status_code, fetched.text[:300])
        driver = browser.get("/console/settings?scope=group:frontdesk")
        shoot(browser, "settings")
        fill(driver, "name", "SIP_Port_1_")
        fill(driver, "value", str(phones.port))
        press(driver, "Preview the change")
        assert heading(driver) == "Set SIP_Port_1_ at group:frontdesk: preview"
        summary = driver.find_element(By.CSS_SELECTOR, ".summary").text
        assert summary.startswith("2 of 2 reached device(s) would get a different profile"), summary
        assert sorted(a.text for a in driver.find_elements(By.CSS_SELECTOR, ".macs a")) == sorted(FRONTDESK.values())
        assert "SIP_Port_1_" not in apache.provctl("settings", "group:frontdesk")
        shoot(browser, "preview")
        press(driver, "Save this change")
        assert heading(driver).startswith("Change set #"), heading(driver)
        change_set = driver.current_url
        assert f"SIP_Port_1_={phones.port}" in apache.provctl("settings", "group:frontdesk").replace(" ", "=") or \
            str(phones.port) in apache.provctl("settings", "group:frontdesk")
        # The pending it made, pushed at one phone per 5 s; the job's page follows it and cancels it.
        driver = browser.get("/console/pending")
        rows = {row.find_element(By.TAG_NAME, "a").text: row.text for row in driver.find_elements(By.CSS_SELECTOR, "tbody tr")}
        assert all("changed" in rows.get(mac, "") for mac in FRONTDESK.values()), rows
        shoot(browser, "pending")
        fill(driver, "rate", "0.2")
        press(driver, "Push")
        assert heading(driver).startswith("Job "), heading(driver)
        assert driver.find_elements(By.CSS_SELECTOR, 'meta[http-equiv="refresh"]')
        # Live progress without script: the page reloads itself until the first phone has answered.
        wait_for(lambda: driver.find_element(By.CSS_SELECTOR, ".counts").text.startswith("1 of "), 10, "the first phone")
        shoot(browser, "job")
        press(driver, "Cancel job")
        wait_for(lambda: driver.find_element(By.CSS_SELECTOR, ".state").text.startswith("cancelled"), 15, "the job cancelled")
        assert driver.find_elements(By.CSS_SELECTOR, 'meta[http-equiv="refresh"]') == []
        assert 1 <= phones.count < len(FRONTDESK) + 1
        # The change reverted from its change set's page, after its preview.
        driver.get(change_set)
        press(driver, "Revert change set")
        assert driver.find_element(By.CSS_SELECTOR, ".summary").text.startswith("2 of 2 reached device(s)")
        press(driver, "Save this change")
        assert heading(driver).startswith("Change set #") and driver.current_url != change_set
        shoot(browser, "changeset")
        assert "SIP_Port_1_" not in apache.provctl("settings", "group:frontdesk")
        # A claim adopted.
        plant_claim(apache, NEWCOMER, "Z")
        driver = browser.get("/console/claims")
        fill(driver, f"group-{NEWCOMER}", "lobby")
        fill(driver, f"model-{NEWCOMER}", "CP-8841-3PCC")
        press(driver, f"Adopt {NEWCOMER}")
        assert heading(driver) == f"Device {NEWCOMER}", driver.page_source[-1500:]
        assert "lobby" in apache.provctl("device", "show", NEWCOMER)
        driver = browser.get("/console/history")
        shoot(browser, "history")
        browser.get("/console/jobs")
        shoot(browser, "jobs")
        assert browser.console_errors() == [], browser.console_errors()
    finally:
        phones.close()
        apache.provctl("device", "remove", NEWCOMER) if NEWCOMER in apache.provctl("device", "list") else None


def test_viewer_sees_no_change_and_a_post_is_refused(apache):
    if not (shutil.which("chromium") and shutil.which("chromedriver")):
        pytest.skip("no chromium")
    from selenium.webdriver.common.by import By

    from browser import Browser
    b = Browser(apache, cert="viewer")
    try:
        for path in ("/console/settings?scope=group:frontdesk", "/console/claims", "/console/pending", "/console/jobs",
                     "/console/history", "/console/campaigns"):
            driver = b.get(path)
            assert driver.find_elements(By.CSS_SELECTOR, "form[method=post]") == [], path
            assert driver.find_elements(By.CSS_SELECTOR, "main button") == [] or path == "/console/settings?scope=group:frontdesk", path
    finally:
        b.close()
    refused = apache.request("POST", "/console/settings/preview", cert="viewer",
                             body="scope=default&name=Resync_Periodic&value=1", headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert refused.status_code == 403, refused.text


PAGES = ("/console/", "/console/devices", "/console/devices/000e08abcdef", "/console/claims", "/console/pending",
         "/console/settings?scope=group:frontdesk", "/console/history", "/console/jobs", "/console/campaigns")

# Every control without an accessible name, landmarks missing, and the page's width beyond the window's.
AUDIT = """
const unnamed = [];
for (const el of document.querySelectorAll('a[href], button, input:not([type=hidden]), select, textarea')) {
  const named = el.tagName === 'INPUT' || el.tagName === 'SELECT' || el.tagName === 'TEXTAREA'
    ? (el.labels && el.labels.length > 0) || el.getAttribute('aria-label')
    : el.textContent.trim() || el.getAttribute('aria-label');
  if (!named) unnamed.push(el.outerHTML.slice(0, 120));
}
return {unnamed,
        landmarks: ['header', 'nav', 'main'].filter(tag => !document.querySelector(tag)),
        overflow: document.documentElement.scrollWidth - window.innerWidth};
"""

# Numbers every focusable control; Tab then walks them.
NUMBER = """
const all = [...document.querySelectorAll('a[href], button, input:not([type=hidden]), select, textarea')]
  .filter(el => el.getClientRects().length > 0 || el.classList.contains('skip'));
all.forEach((el, i) => el.dataset.k = String(i));
document.activeElement && document.activeElement.blur();
return all.length;
"""


def test_keyboard_labels_and_widths(apache, browser):
    """Every page at a laptop's (1366x768) and a tablet's (768x1024) width: no horizontal scroll, landmarks, a
    name for every control; at the laptop's, Tab reaches every control, and the focused one shows an outline."""
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.keys import Keys
    driver = browser.driver
    for width, height in ((1366, 768), (768, 1024)):
        driver.set_window_size(width, height)
        for path in PAGES:
            browser.get(path)
            audit = driver.execute_script(AUDIT)
            assert audit["unnamed"] == [] and audit["landmarks"] == [], (path, audit)
            assert audit["overflow"] <= 0, (path, width, audit["overflow"])
            if width == 1366:
                count = driver.execute_script(NUMBER)
                seen, outlines = set(), set()
                for _ in range(count + 1):
                    ActionChains(driver).send_keys(Keys.TAB).perform()
                    key, outline = driver.execute_script(
                        "const el = document.activeElement; return [el.dataset.k, getComputedStyle(el).outlineStyle]")
                    if key is not None:
                        seen.add(key)
                        outlines.add(outline)
                assert {str(i) for i in range(count)} <= seen, (path, count, sorted(seen, key=str))
                assert "none" not in outlines, (path, outlines)
        if width == 768:
            browser.get("/console/")
            shoot(browser, "fleet-tablet")
    driver.set_window_size(1280, 900)


def test_halt_a_campaign(apache, browser):
    """A firmware campaign (one phone that has not called yet: no push goes out), started through the API, followed
    on its page and halted there."""
    from selenium.webdriver.common.by import By
    firmware = "sip88xx.14-3-1MPP0101-23"
    started = apache.request("POST", "/api/v1/campaigns",
                             body={"selection": {"macs": ["00562b043615"]}, "upgrade_rule": f"http://fw.example.com/{firmware}.loads",
                                   "firmware": firmware, "window": 60})
    assert started.status_code == 202, started.text
    number = started.json()["id"]
    driver = browser.get("/console/campaigns")
    driver.find_element(By.LINK_TEXT, str(number)).click()
    wait_for(lambda: heading(driver) == f"Campaign {number}", 10, "the campaign's page")
    assert firmware in driver.page_source
    shoot(browser, "campaign")
    press(driver, "Halt (abort)")
    wait_for(lambda: driver.find_element(By.CSS_SELECTOR, ".state").text == "aborted", 15, "the campaign halted")
    assert [b.text for b in driver.find_elements(By.TAG_NAME, "button") if b.text.startswith("Halt")] == []
    assert browser.console_errors() == [], browser.console_errors()


HOSTILE_CN = '<script>window.pwned=3</script>"><img src=x onerror=alert(4)>\u202ee'


def hostile_admin(apache):
    """An admin certificate of the demo admin CA whose CN (the user Apache passes to the console) attacks it."""
    name = "hostile-admin"
    pem, key = apache.cert(name)
    if not os.path.exists(pem):
        ca = os.path.join(apache.pki, "admin-ca")
        escaped = HOSTILE_CN.replace("/", "\\/").replace("=", "\\=")
        work = tempfile.mkdtemp()
        ext = os.path.join(work, "ext.cnf")
        with open(ext, "w") as f:
            f.write("basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=clientAuth\n")
        run = lambda *args: subprocess.run(args, check=True, capture_output=True)  # noqa: E731
        run("openssl", "req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", key,
            "-out", os.path.join(work, "req.pem"), "-utf8", "-subj", f"/O=Provisioner Admin/OU=admin/CN={escaped}")
        run("openssl", "x509", "-req", "-in", os.path.join(work, "req.pem"), "-CA", os.path.join(ca, "ca.pem"),
            "-CAkey", os.path.join(ca, "ca.key"), "-set_serial", str(int(time.time())), "-days", "1", "-sha256",
            "-extfile", ext, "-out", pem)
        shutil.rmtree(work, ignore_errors=True)
    return name


def test_a_hostile_certificate_cn_is_shown_as_text(apache):
    """The admin's own certificate CN (what Apache passes as the user) carries markup and a bidi override: the
    pages and the history show it as text, nothing runs, and a change made with it works (its token is its own)."""
    if not (shutil.which("chromium") and shutil.which("chromedriver")):
        pytest.skip("no chromium")
    from selenium.webdriver.common.by import By

    from browser import Browser
    b = Browser(apache, cert=hostile_admin(apache))
    try:
        driver = b.get("/console/settings?scope=group:frontdesk")
        who = driver.find_element(By.CSS_SELECTOR, ".who").text
        assert who.startswith('<script>window.pwned=3</script>"><img src=x onerror=alert(4)>⟨U+202E⟩e'), who
        fill(driver, "name", "Speed_Dial_3_Name")
        fill(driver, "value", "Hostile")
        press(driver, "Preview the change")
        press(driver, "Save this change")
        assert heading(driver).startswith("Change set #"), driver.page_source[-1500:]
        change_set = driver.current_url
        cells = [td.text for td in driver.find_elements(By.CSS_SELECTOR, "tbody td")]
        assert any(cell.startswith("api:<script>window.pwned=3</script>") and "⟨U+202E⟩" in cell for cell in cells), cells
        for path in ("/console/history", "/console/"):
            b.get(path)
            assert driver.execute_script("return window.pwned === undefined"), path
            assert driver.find_elements(By.CSS_SELECTOR, "main img, header img, script") == [], path
            assert b.console_errors() == [], (path, b.console_errors())
        driver.get(change_set)
        press(driver, "Revert change set")
        press(driver, "Save this change")
        assert "Speed_Dial_3_Name" not in apache.provctl("settings", "group:frontdesk")
    finally:
        b.close()
