"""A real Prometheus server (Debian's `prometheus`) scrapes /metrics through the admin virtual host with a
viewer's certificate, as docs/metrics.md shows, and what it stored is queried back (issue 25 point 2)."""
import json
import os
import shutil
import subprocess
import tempfile
import time
import urllib.parse
import urllib.request

import pytest

from conftest import _free_port as free_port


def query(port, expression):
    url = f"http://127.0.0.1:{port}/api/v1/query?" + urllib.parse.urlencode({"query": expression})
    with urllib.request.urlopen(url, timeout=5) as answer:
        body = json.load(answer)
    assert body["status"] == "success", body
    return body["data"]["result"]


def test_prometheus_scrapes_and_stores(apache):
    prometheus = shutil.which("prometheus") or pytest.fail("prometheus missing (Tests/api/run installs it)")
    # A phone fetches through the phones' host first, so there is a fetch to count.
    phone = apache.request("GET", "/cgi-bin/profile/000e08abcdef.xml", cert="demo-8841", port=apache.port)
    assert phone.status_code == 200, phone.text[:200]

    folder = tempfile.mkdtemp(prefix="prometheus-")
    port = free_port()
    viewer_pem, viewer_key = apache.cert("viewer")
    config = os.path.join(folder, "prometheus.yml")
    with open(config, "w") as f:
        f.write(f"""
global:
  scrape_interval: 1s
scrape_configs:
  - job_name: provisioner
    scheme: https
    tls_config:
      ca_file: {apache.pki}/ca.pem
      cert_file: {viewer_pem}
      key_file: {viewer_key}
      server_name: localhost
    static_configs:
      - targets: ['localhost:{apache.admin_port}']
""")
    check = subprocess.run([shutil.which("promtool") or "promtool", "check", "config", config], capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr
    log = open(os.path.join(folder, "prometheus.log"), "w")
    process = subprocess.Popen([prometheus, f"--config.file={config}", f"--storage.tsdb.path={folder}/data",
                                f"--web.listen-address=127.0.0.1:{port}"], stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        up = devices = fetches = None
        while time.monotonic() < deadline:
            time.sleep(1)
            try:
                up = query(port, 'up{job="provisioner"}')
                devices = query(port, "sum(provisioner_devices)")
                fetches = query(port, 'sum(provisioner_fetches_total{status="200",model!="unproven"})')
            except OSError:
                continue
            if up and up[0]["value"][1] == "1" and devices and fetches:
                break
        assert up and up[0]["value"][1] == "1", f"target not up: {up}; " + open(log.name).read()[-2000:]
        expected = len(json.loads(apache.provctl("device", "list", "--json")))
        assert float(devices[0]["value"][1]) == expected
        assert fetches and float(fetches[0]["value"][1]) >= 1
        # What it stored carries no MAC, address or user in any label.
        series = query(port, '{__name__=~"provisioner_.*"}')
        for sample in series:
            for key, value in sample["metric"].items():
                assert "000e08abcdef" not in value and "127.0.0.1" not in value and value != "viewer", (key, value)
    finally:
        process.terminate()
        process.wait(20)
        shutil.rmtree(folder, ignore_errors=True)
