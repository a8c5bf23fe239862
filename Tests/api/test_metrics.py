"""/metrics (issue 25 point 2): Prometheus's exposition format, checked by promtool, counting what profile-cgi
really recorded; no label carries a MAC, an address or a user, whatever a hostile caller sends; counters only grow."""
import os
import re
import shutil
import subprocess
import sys

import pytest

from admind import ROOT, profile_cgi

sys.path.insert(0, os.path.join(ROOT, "bench"))
import measure  # noqa: E402  (phone_env: the environment Apache gives the CGI)

MAC = "00562b000001"


def fetch(db, env_changes=None, remove=()):
    env = measure.phone_env(db, MAC, "FCH00000001", "CP-8841-3PCC", "xml", seen=True)
    env["HTTP_USER_AGENT"] = f"Cisco-CP-8841-3PCC/sip88xx.14-2-1MPP0101-23 ({MAC})"
    env.update(env_changes or {})
    for name in remove:
        env.pop(name, None)
    result = subprocess.run([profile_cgi()], env=env, capture_output=True)
    return result.stdout.split(b"\r\n", 1)[0]


def samples(text):
    """(name, {label: value}, value) of every sample line."""
    out = []
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        match = re.match(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$', line)
        assert match, f"not an exposition line: {line!r}"
        labels = dict(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', match.group(2) or ""))
        out.append((match.group(1), labels, float(match.group(3))))
    return out


def fetch_count(text, **want):
    return sum(v for name, labels, v in samples(text)
               if name == "provisioner_fetches_total" and all(labels.get(k) == w for k, w in want.items()))


def test_metrics_promtool_and_hostile_labels(daemon):
    daemon.provctl("device", "add", MAC, "--serial", "FCH00000001", "--model", "CP-8841-3PCC")
    for _ in range(2):  # two proven fetches, answered (a CGI's 200 has no Status line)
        assert fetch(daemon.db).startswith(b"Content-Type: text/xml")
    # A stranger without a proven certificate, with a User-Agent made to plant labels: a MAC, an address, a
    # script, a terminal escape, a version that looks real.
    hostile = {"SSL_CLIENT_VERIFY": "NONE",
               "HTTP_USER_AGENT": 'Cisco-CP-8841-3PCC/sip88xx.99-9-9MPP (aabbccddeeff) 10.9.8.7 <script>"\x1b[31m'}
    assert fetch(daemon.db, hostile, remove=("SSL_CLIENT_S_DN_OU", "SSL_CLIENT_S_DN_L", "SSL_CLIENT_S_DN_ST")).startswith(b"Status: 4")
    answer = daemon.client(user="prometheus", role="viewer").get("/metrics")
    assert answer.status == 200, answer
    assert answer.header("content-type").startswith("text/plain; version=0.0.4")
    text = answer.body.decode()

    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.fail("promtool missing (Debian package prometheus; Tests/api/run installs it)")
    check = subprocess.run([promtool, "check", "metrics"], input=answer.body, capture_output=True)
    assert check.returncode == 0, check.stdout + check.stderr

    # What profile-cgi recorded, counted where it belongs.
    assert fetch_count(text, status="200", reason="ok", form="xml", model="CP-8841-3PCC",
                       firmware="sip88xx.14-2-1MPP0101-23") == 2
    assert fetch_count(text, model="unproven", firmware="unproven") == 1
    assert fetch_count(text) == 3
    # No label value is a MAC, an address, a user or anything the stranger wrote.
    for name, labels, _ in samples(text):
        for key, value in labels.items():
            assert not re.search(r"[0-9a-fA-F]{12}|\d+\.\d+\.\d+\.\d+|alice|prometheus|script|99-9-9|\\x1b|\x1b", value), (name, key, value)
    devices = [v for name, labels, v in samples(text) if name == "provisioner_devices" and labels.get("enabled") == "true"]
    assert devices == [1.0]
    assert any(name == "provisioner_pending_devices" for name, _, _ in samples(text))
    # Jobs by kind and state: every pair of the closed sets, 0 when none (campaign series: test_campaigns.py).
    jobs = {(labels["kind"], labels["state"]): v for name, labels, v in samples(text) if name == "provisioner_jobs"}
    assert len(jobs) == 4 * 6 and set(jobs.values()) == {0.0}, jobs

    # A counter only grows: one more fetch, one more count, nothing counted twice.
    assert fetch(daemon.db).startswith(b"Content-Type: text/xml")
    again = daemon.client(user="prometheus", role="viewer").get("/metrics").body.decode()
    assert fetch_count(again) == 4
    assert fetch_count(again, status="200", model="CP-8841-3PCC") == 3


def test_metrics_need_a_user(daemon):
    assert daemon.client(user=None).get("/metrics").status == 401


def test_alert_rules_check_and_fire_as_documented():
    """The documented alert rules load, and promtool's rule unit tests show each firing on the series that should
    fire it and staying quiet on the others (docs/prometheus/provisioner-alerts.test.yml)."""
    promtool = shutil.which("promtool") or pytest.fail("promtool missing")
    folder = os.path.join(ROOT, "docs", "prometheus")
    for args in (["check", "rules", "provisioner-alerts.yml"], ["test", "rules", "provisioner-alerts.test.yml"]):
        result = subprocess.run([promtool, *args], cwd=folder, capture_output=True, text=True)
        assert result.returncode == 0, result.stdout + result.stderr
        assert "SUCCESS" in result.stdout
