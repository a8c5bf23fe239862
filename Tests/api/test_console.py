"""The console (issue 26) over the daemon's socket: the pages answer with the security headers, and what a phone
sent (a User-Agent, a certificate's fields, a syslog line) reaches the HTML escaped, with controls and bidi
overrides shown as ⟨U+XXXX⟩. tests through a real browser are in test_console_browser.py."""
import os
import re
import subprocess
import sys

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
