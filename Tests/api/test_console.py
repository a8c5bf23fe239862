"""The console (issue 26) over the daemon's socket: the pages answer with the security headers, and what a phone
sent (a User-Agent, a certificate's fields, a syslog line) reaches the HTML escaped, with controls and bidi
overrides shown as ⟨U+XXXX⟩. tests through a real browser are in test_console_browser.py."""
import html as html_module
import json
import os
import re
import socket
import subprocess
import sys
import threading
import time
import urllib.parse

from admind import ROOT, profile_cgi

sys.path.insert(0, os.path.join(ROOT, "bench"))
import measure  # noqa: E402

HOSTILE_UA = 'Cisco-CP-8841-3PCC/<script>alert(1)</script>"><img src=x onerror=alert(2)>\u202egnp.exe\x1b[31m'
MAC = "00562b000002"
UNKNOWN = "00562b0000ff"


def phone(db, mac, ua, cn_ou=None):
    env = measure.phone_env(db, mac, "FCH<b>1</b>", "CP-8841-3PCC", "xml", seen=True)
    env["HTTP_USER_AGENT"] = ua
    return subprocess.run([profile_cgi()], env=env, capture_output=True).stdout


def test_pages_escape_what_phones_send(daemon):
    daemon.provctl("device", "add", MAC, "--model", "CP-8841-3PCC", "--group", "sales")
    phone(daemon.db, MAC, HOSTILE_UA)       # refused (serial mismatch is not checked without a stored serial)
    phone(daemon.db, UNKNOWN, HOSTILE_UA)   # a claim carrying the hostile User-Agent and serial
    client = daemon.client(role="viewer")
    for path in ("/console/", "/console/devices", f"/console/devices/{MAC}", "/console/claims", "/console/devices?q=sal"):
        answer = client.get(path)
        assert answer.status == 200, (path, answer)
        assert answer.header("content-type") == "text/html; charset=utf-8"
        policy = answer.header("content-security-policy")
        assert "default-src 'none'" in policy and "frame-ancestors 'none'" in policy and "script-src" not in policy
        assert answer.header("x-frame-options") == "DENY"
        assert answer.header("x-content-type-options") == "nosniff"
        html = answer.body.decode()
        assert "<script" not in html.lower(), path
        assert not re.search(r"<img\b", html), path
        assert "\u202e" not in html and "\x1b" not in html, path
    claims = client.get("/console/claims").body.decode()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;&quot;&gt;&lt;img src=x onerror=alert(2)&gt;" in claims
    assert "⟨U+202E⟩gnp.exe⟨U+001B⟩[31m" in claims
    assert "FCH&lt;b&gt;1&lt;/b&gt;" in claims
    device = client.get(f"/console/devices/{MAC}").body.decode()
    assert "sales" in device
    search = client.get("/console/devices?q=%22%3E%3Cscript%3E").body.decode()
    assert 'value="&quot;&gt;&lt;script&gt;"' in search


def test_stylesheet_and_unknown_device(daemon):
    client = daemon.client(role="viewer")
    css = client.get("/console/style.css")
    assert css.status == 200 and css.header("content-type") == "text/css; charset=utf-8"
    assert client.get("/console/devices/00562b0000aa").status == 404
    assert daemon.client(user=None).get("/console/").status == 401


# --- The change pages (issue 26 points 1 and 2) -------------------------------------------------------------------

FORM = "application/x-www-form-urlencoded"
GROUP_MACS = ["000e08c00001", "000e08c00002", "000e08c00003"]


def token_of(client, path="/console/settings"):
    """The CSRF token the console put in its page's forms for this client's user."""
    html = client.get(path).body.decode()
    found = re.search(r'name="csrf" value="([0-9a-f]{32})"', html)
    assert found, html[-1500:]
    return html_module.unescape(found.group(1))


def post(client, path, fields, headers=None):
    return client.post(path, body=urllib.parse.urlencode(fields), content_type=FORM, headers=headers)


def hidden(html, name):
    found = re.search(rf'name="{name}" value="([^"]*)"', html)
    assert found, (name, html[-1500:])
    return html_module.unescape(found.group(1))


def add_group(daemon, group="sales"):
    for mac in GROUP_MACS:
        daemon.provctl("device", "add", mac, "--model", "CP-8841-3PCC", "--group", group)


def test_every_change_needs_the_token_and_the_same_origin(daemon):
    add_group(daemon)
    client = daemon.client()
    good = token_of(client)
    fields = {"scope": "group:sales", "name": "Resync_Periodic", "value": "600", "action": "set", "csrf": good}
    refusals = [
        ({**fields, "csrf": ""}, {}, "no token"),
        ({**fields, "csrf": "0" * 32}, {}, "not this user"),
        (fields, {"Sec-Fetch-Site": "cross-site"}, "Sec-Fetch-Site"),
        (fields, {"Origin": "https://evil.example", "X-Forwarded-Host": "admin.example:8443"}, "Origin"),
        (fields, {"Origin": "null"}, "Origin"),
    ]
    for sent, headers, why in refusals:
        for path in ("/console/settings/preview", "/console/settings/save", "/console/pending/push",
                     f"/console/claims/{UNKNOWN}/adopt", "/console/history/1/revert", "/console/jobs/1/cancel"):
            answer = post(client, path, sent, headers)
            assert answer.status == 403, (path, why, answer)
            assert why in answer.body.decode(), (path, why)
    # Another user's token is not this user's.
    bob = daemon.client(user="bob")
    assert post(bob, "/console/settings/preview", fields).status == 403
    # The same origin as Apache forwards it, and a token: accepted.
    same = post(client, "/console/settings/preview", fields,
                {"Origin": "https://admin.example:8443", "X-Forwarded-Host": "admin.example:8443", "Sec-Fetch-Site": "same-origin"})
    assert same.status == 200, same
    # Only the accepted preview ran, a dry run: nothing was written.
    assert json.loads(daemon.provctl("settings", "group:sales", json_output=True).stdout) == []
    assert [h["actions"] for h in json.loads(daemon.provctl("history", json_output=True).stdout)] == [["device add"]] * 3


def test_viewer_sees_no_change_form_and_any_post_is_403(daemon):
    add_group(daemon)
    daemon.provctl("set", "group:sales", "Resync_Periodic=600")
    viewer = daemon.client(user="vera", role="viewer")
    for path in ("/console/settings?scope=group:sales", "/console/claims", "/console/pending", "/console/history",
                 "/console/history/1", "/console/jobs", "/console/campaigns"):
        answer = viewer.get(path)
        assert answer.status == 200, (path, answer)
        assert 'method="post"' not in answer.body.decode(), path
    # A viewer's post is refused for the role, before the form is read.
    fields = {"scope": "group:sales", "name": "Resync_Periodic", "value": "60", "csrf": token_of(daemon.client(user="vera"))}
    for path in ("/console/settings/preview", "/console/settings/save", "/console/history/1/revert"):
        answer = post(viewer, path, fields)
        assert answer.status == 403 and "role viewer" in answer.json["detail"], (path, answer)
    assert json.loads(daemon.provctl("settings", "group:sales", json_output=True).stdout)[0]["value"] == "600"


def test_settings_preview_shows_the_blast_radius_then_save_and_revert(daemon):
    from admind import Daemon
    twin = Daemon()
    try:
        for d in (daemon, twin):
            add_group(d)
            d.provctl("device", "add", "000e08c000ff", "--model", "CP-8841-3PCC", "--group", "support")
        client = daemon.client()
        page = client.get("/console/settings?scope=group:sales").body.decode()
        fields = {"scope": "group:sales", "name": "Resync_Periodic", "value": "600", "action": "set", "csrf": hidden(page, "csrf")}
        preview = post(client, "/console/settings/preview", fields)
        assert preview.status == 200, preview
        html = preview.body.decode()
        # The three devices of the group, grouped under one change, and not the support device; nothing written.
        assert "3 of 3 reached device(s) would get a different profile" in html, html[-3000:]
        assert all(mac in html for mac in GROUP_MACS) and "000e08c000ff" not in html
        assert "Resync_Periodic" in html and "600" in html
        assert json.loads(daemon.provctl("settings", "group:sales", json_output=True).stdout) == []
        # Saved with the ETag the preview showed: written as provctl set writes it (the twin).
        saved = post(client, "/console/settings/save", {**fields, "etag": hidden(html, "etag")})
        assert saved.status == 303, saved
        location = saved.header("location")
        assert re.fullmatch(r"/console/history/\d+", location), location
        twin.provctl("set", "group:sales", "Resync_Periodic=600")
        assert daemon.provctl("settings", "group:sales", json_output=True).stdout == \
            twin.provctl("settings", "group:sales", json_output=True).stdout
        history = json.loads(daemon.provctl("history", json_output=True).stdout)
        assert history[0]["who"] == "api:alice", history
        # The same save again with the preview's (now stale) ETag: 412, nothing written twice.
        stale = post(client, "/console/settings/save", {**fields, "value": "60", "etag": hidden(html, "etag")})
        assert stale.status == 412, stale
        # The change set's page offers the revert; its preview shows the devices; the revert writes.
        entry = client.get(location).body.decode()
        assert "Resync_Periodic" in entry and "/revert/preview" in entry
        revert_preview = post(client, location + "/revert/preview", {"csrf": hidden(entry, "csrf")})
        assert revert_preview.status == 200, revert_preview
        assert "3 of 3 reached device(s)" in revert_preview.body.decode()
        reverted = post(client, location + "/revert", {"csrf": hidden(entry, "csrf")})
        assert reverted.status == 303, reverted
        assert json.loads(daemon.provctl("settings", "group:sales", json_output=True).stdout) == []
        # The scope's history: the change and its revert, nothing of the support device.
        scoped = client.get("/console/history?target=group:sales").body.decode()
        assert scoped.count('href="/console/history/') == 2, scoped[-2000:]
        assert client.get("/console/history?target=nonsense").status == 400
        twin.provctl("revert", str(json.loads(twin.provctl("history", json_output=True).stdout)[0]["id"]))
        assert daemon.provctl("settings", "group:sales", json_output=True).stdout == \
            twin.provctl("settings", "group:sales", json_output=True).stdout
    finally:
        twin.remove()


def test_a_breaking_save_is_refused_with_the_devices_and_the_reason(daemon):
    daemon.provctl("device", "add", MAC)
    client = daemon.client()
    scope = f"device:{MAC}"
    page = client.get(f"/console/settings?scope={scope}").body.decode()
    fields = {"scope": scope, "name": "Display_Name_1_", "value": "{{undefined_thing}}", "csrf": hidden(page, "csrf")}
    preview = post(client, "/console/settings/preview", fields)
    assert preview.status == 200, preview
    html = preview.body.decode()
    assert "1 device(s) would no longer render" in html and MAC in html and "undefined_thing" in html
    assert "Save this change" not in html
    refused = post(client, "/console/settings/save", {**fields, "etag": hidden(page, "etag") if 'name="etag"' in page else "*"})
    assert refused.status == 422, refused
    text = refused.body.decode()
    assert MAC in text and "undefined_thing" in text and "Nothing was changed" in text
    assert json.loads(daemon.provctl("settings", scope, json_output=True).stdout) == []


def test_adopt_a_claim(daemon):
    phone(daemon.db, UNKNOWN, "Cisco-CP-8841-3PCC/12.0.1")
    client = daemon.client()
    claims = client.get("/console/claims").body.decode()
    assert f'action="/console/claims/{UNKNOWN}/adopt"' in claims
    adopted = post(client, f"/console/claims/{UNKNOWN}/adopt",
                   {"group": "lobby", "model": "CP-8841-3PCC", "csrf": hidden(claims, "csrf")})
    assert adopted.status == 303 and adopted.header("location") == f"/console/devices/{UNKNOWN}", adopted
    shown = json.loads(daemon.provctl("device", "show", UNKNOWN, json_output=True).stdout)
    assert shown["group"] == "lobby" and shown["model"] == "CP-8841-3PCC"
    assert UNKNOWN not in client.get("/console/claims").body.decode()


class SipAnswerer:
    """Phones on one UDP port of 127.0.0.1 that answer every SIP request with 200 OK (what a pushed resync sends
    them); `count` requests seen. Closed by close()."""

    def __init__(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.count = 0
        threading.Thread(target=self._answer, daemon=True).start()

    def _answer(self):
        kept = ("via", "v", "from", "f", "to", "t", "call-id", "i", "cseq")
        while True:
            try:
                data, peer = self.sock.recvfrom(65535)
            except OSError:
                return
            lines = data.decode("latin-1").split("\r\n")
            if not lines or lines[0].startswith("SIP/2.0"):
                continue
            self.count += 1
            headers = [line for line in lines[1:] if line.split(":", 1)[0].strip().lower() in kept]
            reply = "SIP/2.0 200 OK\r\n" + "\r\n".join(headers) + "\r\nContent-Length: 0\r\n\r\n"
            self.sock.sendto(reply.encode("latin-1"), peer)

    def close(self):
        self.sock.close()


def test_push_the_pending_then_follow_and_cancel_the_job(daemon):
    phones = SipAnswerer()
    try:
        push_and_cancel(daemon, phones)
    finally:
        phones.close()


def push_and_cancel(daemon, phones):
    daemon.provctl("set", "default", f"SIP_Port_1_={phones.port}")
    add_group(daemon)
    for mac in GROUP_MACS:      # served once: their address (127.0.0.1) is known
        phone(daemon.db, mac, "Cisco-CP-8841-3PCC/12.0.1")
    client = daemon.client()
    assert "Nothing is pending" in client.get("/console/pending").body.decode()
    daemon.provctl("set", "group:sales", "Resync_Periodic=600")
    pending = client.get("/console/pending").body.decode()
    assert all(mac in pending for mac in GROUP_MACS) and "changed" in pending, pending[-2000:]
    # One phone per 2 seconds: the job runs long enough to be cancelled.
    pushed = post(client, "/console/pending/push", {"rate": "0.5", "csrf": hidden(pending, "csrf")})
    assert pushed.status == 303, pushed
    location = pushed.header("location")
    # Followed while it runs (the page reloads itself), until the first phone answered.
    for _ in range(50):
        page = client.get(location).body.decode()
        if "1 of 3 handled" in page:
            break
        time.sleep(0.1)
    assert '<meta http-equiv="refresh" content="2">' in page and "Cancel job" in page
    assert "1 of 3 handled: 1 ok" in page, page[-2000:]
    cancelled = post(client, location + "/cancel", {"csrf": hidden(page, "csrf")})
    assert cancelled.status == 303, cancelled
    for _ in range(120):
        page = client.get(location).body.decode()
        if 'content="2"' not in page:
            break
        time.sleep(0.1)
    assert "cancelled" in page and 'http-equiv="refresh"' not in page and "Cancel job" not in page, page[-2000:]
    assert re.search(r"[12] of 3 handled: [12] ok", page) and "(cancel asked)" in page, page[-2000:]
    assert 1 <= phones.count < 3
    assert f'href="{location}"' in client.get("/console/jobs").body.decode()


def test_change_pages_escape_a_hostile_user_and_phone(daemon):
    """A certificate CN with markup and a bidi override (the user Apache passes), a syslog line with markup and a
    terminal escape: every page shows them as text."""
    daemon.provctl("device", "add", MAC, "--model", "CP-8841-3PCC", "--group", "sales")
    phone(daemon.db, MAC, HOSTILE_UA)
    log = os.path.join(daemon.folder, "phones.log")
    with open(log, "w") as f:
        f.write(time.strftime("%Y-%m-%dT%H:%M:%S.000+00:00", time.gmtime()) +
                f" 192.0.2.10 CP-8841-3PCC 00:56:2b:00:00:02 -- Resync failed: <script>alert(3)</script>\x1b[2J\u202eexe\n")
    daemon.provctl("syslog", "--all", "--relay", "192.0.2.10", log)
    hostile = '<script>alert(4)</script>"><img src=x onerror=alert(5)>\u202eevil'
    client = daemon.client(user=hostile.encode("utf-8").decode("latin-1"))
    page = client.get("/console/settings?scope=group:sales").body.decode()
    fields = {"scope": "group:sales", "name": "Resync_Periodic", "value": '"><img src=x onerror=alert(6)>', "csrf": hidden(page, "csrf")}
    # A value breaking its rule: refused, and shown as text.
    refused = post(client, "/console/settings/preview", fields)
    assert refused.status == 422 and "&quot;&gt;&lt;img src=x onerror=alert(6)&gt;" in refused.body.decode(), refused
    preview = post(client, "/console/settings/preview", {**fields, "value": "600"})
    saved = post(client, "/console/settings/save", {**fields, "value": "600", "etag": hidden(preview.body.decode(), "etag")})
    assert saved.status == 303, saved
    for path in ("/console/settings?scope=group:sales", "/console/pending", "/console/history", saved.header("location"),
                 f"/console/devices/{MAC}", "/console/jobs"):
        html = client.get(path).body.decode()
        assert "<script" not in html.lower() and not re.search(r"<img\b", html), path
        assert "\u202e" not in html and "\x1b" not in html, path
    assert "&lt;script&gt;alert(4)&lt;/script&gt;&quot;&gt;&lt;img src=x onerror=alert(5)&gt;⟨U+202E⟩evil" in \
        client.get("/console/history").body.decode()
    device = client.get(f"/console/devices/{MAC}").body.decode()
    assert "&lt;script&gt;alert(3)&lt;/script&gt;⟨U+001B⟩[2J⟨U+202E⟩exe" in device, device[-3000:]


FIRMWARE = "sip88xx.14-3-1MPP0101-23"
CAMPAIGN = {"selection": {"group": "sales"}, "upgrade_rule": f"http://fw.example.com/{FIRMWARE}.loads",
            "firmware": FIRMWARE, "window": 60}


def test_campaign_pages_follow_and_halt(daemon):
    add_group(daemon)
    client = daemon.client()
    started = client.post("/api/v1/campaigns", body=CAMPAIGN)
    assert started.status == 202, started
    number = started.json["id"]
    location = f"/console/campaigns/{number}"
    assert f'href="{location}"' in client.get("/console/campaigns").body.decode()
    page = client.get(location).body.decode()
    assert FIRMWARE in page and "Waves" in page and "Halt (abort)" in page, page[-3000:]
    viewer = daemon.client(user="vera", role="viewer").get(location).body.decode()
    assert FIRMWARE in viewer and 'method="post"' not in viewer
    refused = post(client, location + "/abort", {"csrf": "0" * 32})
    assert refused.status == 403
    halted = post(client, location + "/abort", {"csrf": hidden(page, "csrf")})
    assert halted.status == 303 and halted.header("location") == location, halted
    for _ in range(100):
        state = client.get(f"/api/v1/campaigns/{number}").json["state"]
        if state == "aborted":
            break
        time.sleep(0.1)
    assert state == "aborted"
    page = client.get(location).body.decode()
    assert '<dd class="state">aborted</dd>' in page and "Halt (abort)" not in page, page[-3000:]
    assert 'http-equiv="refresh"' not in page
