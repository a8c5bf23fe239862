"""Pending over a fleet of N devices (default 100000, devices never seen: all pending) through the admin API in pages
of 1000, beside `provctl pending --json`: time, and the peak memory of each (issue 24 point 6). Not a pytest file.
Usage: PROVISIONER_PROVCTL=.build/release/provctl PROVISIONER_ADMIND=.build/release/provisioner-admind \
       python3 Tests/api/bench_pending.py [N]   (the database is kept in /tmp/fleet-bench-N for the next run)"""
import os, subprocess, sys, time, json
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from admind import Daemon

N = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
folder = f"/tmp/fleet-bench-{N}"
db = os.path.join(folder, "provisioner.db")
if not os.path.exists(db):
    os.makedirs(folder, exist_ok=True)
    d = Daemon(folder=folder, db=db)
    d.provctl("init")
    csv = os.path.join(folder, "devices.csv")
    with open(csv, "w") as f:
        f.write("mac,model,group\n")
        for i in range(N):
            f.write(f"000e{i:08x},CP-8841-3PCC,g{i % 50}\n")
    t = time.monotonic()
    d.provctl("import", csv)
    print(f"import {N}: {time.monotonic() - t:.1f} s", flush=True)
d = Daemon(folder=folder, db=db)

def hwm(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(("VmHWM", "VmRSS")):
                print("  daemon", line.strip())

# provctl pending --json
t = time.monotonic()
r = subprocess.run(["/usr/bin/time", "-f", "maxrss_kb=%M", os.environ["PROVISIONER_PROVCTL"], "--db", db, "pending", "--json"],
                   capture_output=True, text=True)
print(f"provctl pending --json: {time.monotonic() - t:.2f} s, {len(json.loads(r.stdout))} devices, {r.stderr.strip().splitlines()[-1]}", flush=True)

d.start()
try:
    c = d.client(role="viewer")
    hwm(d.process.pid)
    t = time.monotonic(); first = c.get("/api/v1/pending?limit=1000"); print(f"first page: {1000*(time.monotonic()-t):.0f} ms, status {first.status}")
    t = time.monotonic()
    after, total, pages, worst = None, 0, 0, 0
    while True:
        p0 = time.monotonic()
        a = c.get("/api/v1/pending?limit=1000" + (f"&after={after}" if after else ""))
        worst = max(worst, time.monotonic() - p0)
        page = a.json
        total += len(page["items"]); pages += 1
        after = page.get("next_after")
        if after is None:
            break
    print(f"API pending, all pages: {time.monotonic() - t:.2f} s, {total} devices in {pages} pages, slowest page {1000*worst:.0f} ms")
    hwm(d.process.pid)
finally:
    d.stop()
