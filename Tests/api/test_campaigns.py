"""Firmware campaigns (issue 25 point 1) end to end: the daemon runs each campaign as a job, gives each wave its
Upgrade_Rule through the change engine, pushes it with SIP NOTIFY to sipp phones, and judges the phones by what
profile-cgi records of their proven fetches (the User-Agent names the firmware) and by their syslog lines
(`provctl syslog`). A campaign that completes, one that halts on a failure line and is rolled back, one that is
paused, survives a restart, is resumed, and one that halts without contact; the viewer reads only; provctl and
the API give the same answers. About 25 s in all (sipp and the CGI are real; windows of 1-2 s)."""
import datetime
import json
import os
import re
import shutil
import subprocess
import sys
import time

import pytest

from admind import ROOT, profile_cgi
from test_jobs import phones, wait_for  # noqa: F401  (phones: the sipp fixture)

sys.path.insert(0, os.path.join(ROOT, "bench"))
import measure  # noqa: E402

MODEL = "CP-8841-3PCC"
OLD = "sip88xx.14-2-1MPP0101-23"
NEW = "sip88xx.14-3-1MPP0101-23"
RULE = f"http://fw.example.com/{NEW}.loads"
MACS = ["00562b1000%02x" % n for n in range(1, 7)]


class Fleet:
    """Six phones of one model (the first in group lab, the rest in fleet), each having fetched once with the old
    firmware from 127.0.0.1 (their proven address); the SIP port of all of them is sipp's."""

    def __init__(self, daemon, phones):
        self.daemon = daemon
        self.sipp = phones(200)
        for n, mac in enumerate(MACS):
            daemon.provctl("device", "add", mac, "--serial", f"FCH1000{n:04d}", "--model", MODEL,
                           "--group", "lab" if n == 0 else "fleet")
            assert self.fetch(mac, OLD).startswith(b"Content-Type: text/xml")
        daemon.provctl("set", "default", f"SIP_Port_1_={self.sipp.port}")
        self.client = daemon.client()

    def fetch(self, mac, firmware):
        """A proven fetch of the phone's profile, its User-Agent naming `firmware`."""
        n = MACS.index(mac)
        env = measure.phone_env(self.daemon.db, mac, f"FCH1000{n:04d}", MODEL, "xml", seen=True)
        env["HTTP_USER_AGENT"] = f"Cisco-{MODEL}/{firmware} ({mac})"
        return subprocess.run([profile_cgi()], env=env, capture_output=True).stdout

    def log_failure(self, mac):
        """The phone's own syslog line about a failed upgrade, imported as an admin would (provctl syslog)."""
        now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f+00:00")
        path = os.path.join(self.daemon.folder, f"phones-{mac}.log")
        with open(path, "w") as f:
            f.write(f"{now} 127.0.0.1 {MODEL} {mac} -- Upgrade failed: image signature invalid\n")
        out = json.loads(self.daemon.provctl("syslog", path, json_output=True).stdout)
        assert out["attached"] == 1, out

    def campaign(self, location):
        answer = self.client.get(location)
        assert answer.status == 200, answer
        return answer.json

    def play(self, location, behaviour, until, timeout=30):
        """Plays the phones until `until(campaign)`: each device, once its wave started (outcome waiting), upgrades
        (a fetch with the new firmware), fails (a failure line), or stays silent, as `behaviour` says."""
        done = set()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            campaign = self.campaign(location)
            if until(campaign):
                return campaign
            for device in campaign["devices"]["items"]:
                mac = device["mac"]
                if device["outcome"] != "waiting" or mac in done or not device["pushed"]:
                    continue
                done.add(mac)
                what = behaviour.get(mac, "upgrade")
                if what == "upgrade":
                    assert self.fetch(mac, NEW).startswith(b"Content-Type: text/xml")
                elif what == "fail":
                    self.log_failure(mac)
            time.sleep(0.1)
        raise AssertionError(f"campaign never reached the state wanted: {self.campaign(location)}")


@pytest.fixture
def fleet(daemon, phones):
    return Fleet(daemon, phones)


def start(fleet, **options):
    body = {"selection": {"model": MODEL}, "upgrade_rule": RULE, "firmware": NEW, "rate": 50, "window": 20,
            "success_threshold": 100, "failure_threshold": 0, **options}
    answer = fleet.client.post("/api/v1/campaigns", body=body)
    assert answer.status == 202, answer
    assert answer.header("location") == f"/api/v1/campaigns/{answer.json['id']}"
    return answer.header("location"), answer.json


def upgrade_rules(daemon):
    """Upgrade_Rule at each device scope, as provctl lists the settings."""
    rules = {}
    for mac in MACS:
        rows = json.loads(daemon.provctl("settings", f"device:{mac}", json_output=True).stdout)
        rows = rows.get("settings", rows) if isinstance(rows, dict) else rows
        rules[mac] = next((r["value"] for r in rows if r["name"] == "Upgrade_Rule"), None)
    return rules


def history(daemon, who):
    """The change sets by `who`, newest first (provctl history --user)."""
    return json.loads(daemon.provctl("history", "--user", who, json_output=True).stdout)


def samples(text, name):
    out = {}
    for line in text.splitlines():
        m = re.match(r'^' + name + r'\{(.*)\} (\S+)$', line)
        if m:
            out[tuple(sorted(re.findall(r'(\w+)="([^"]*)"', m.group(1))))] = float(m.group(2))
    return out


def test_campaign_completes_canary_then_waves(daemon, fleet):
    location, started = start(fleet, canary={"group": "lab"}, waves=[50, 100])
    cid = started["id"]
    assert started["state"] == "running" and started["job"]["kind"] == "campaign" and started["started_by"] == "alice"
    assert [w["name"] for w in started["waves"]] == ["canary", "wave 1", "wave 2"]
    assert started["progress"] == {"devices": 6, "succeeded": 0, "failed": 0, "waiting": 0, "not_started": 6}
    # One campaign at a time.
    second = fleet.client.post("/api/v1/campaigns", body={"selection": {"model": MODEL}, "upgrade_rule": RULE, "firmware": NEW})
    assert second.status == 409 and second.json["rule"] == "one_job_per_kind", second
    # The canary's wave comes first, alone.
    first = fleet.play(location, {}, lambda c: c["waves"][0]["state"] != "waiting", timeout=10)
    assert first["waves"][1]["state"] == "waiting"
    ended = fleet.play(location, {}, lambda c: c["state"] in ("done", "halted"))
    assert ended["state"] == "done", ended
    assert ended["progress"] == {"devices": 6, "succeeded": 6, "failed": 0, "waiting": 0, "not_started": 0}
    assert [w["state"] for w in ended["waves"]] == ["passed"] * 3
    assert ended["waves"][0]["devices"] == 1
    assert all(d["outcome"] == "succeeded" and d["pushed"].startswith("ok: 200") for d in ended["devices"]["items"])
    # Each wave with devices is one change set by campaign:ID by the user.
    sets = [w["change_set"] for w in ended["waves"] if w["devices"]]
    assert len(sets) == len(set(sets)) and all(sets)
    by_campaign = history(daemon, f"campaign:{cid} by api:alice")
    assert sorted(s["id"] for s in by_campaign) == sorted(sets)
    assert set(upgrade_rules(daemon).values()) == {RULE}
    assert fleet.sipp.notifies() == 6
    # The job: done, its items the devices' outcomes.
    job = wait_for(lambda: (lambda j: j if j["state"] == "done" else None)(fleet.client.get(f"/api/v1/jobs/{cid}").json), 5, "job done")
    assert job["progress"]["ok"] == 6 and job["progress"]["total"] == 6
    assert [j["id"] for j in fleet.client.get("/api/v1/jobs?kind=campaign").json["items"]] == [cid]
    # provctl reads the same campaign (the same JSON as the API).
    twin = json.loads(daemon.provctl("campaign", "status", cid, "--state-dir", daemon.folder, json_output=True).stdout)
    assert twin == fleet.campaign(location)
    listed = json.loads(daemon.provctl("campaign", "status", "--state-dir", daemon.folder, json_output=True).stdout)
    assert listed == fleet.client.get("/api/v1/campaigns").json and listed["items"][0]["id"] == cid
    # /metrics: the campaign's progress and the job's state, checked by promtool.
    metrics = daemon.client(user="prometheus", role="viewer").get("/metrics").body
    promtool = shutil.which("promtool") or pytest.fail("promtool missing (Debian package prometheus)")
    check = subprocess.run([promtool, "check", "metrics"], input=metrics, capture_output=True)
    assert check.returncode == 0, check.stdout + check.stderr
    text = metrics.decode()
    devices = samples(text, "provisioner_campaign_devices")
    assert devices[(("campaign", cid), ("outcome", "succeeded"), ("wave", "canary"))] == 1
    assert sum(v for k, v in devices.items() if ("outcome", "succeeded") in k) == 6
    assert samples(text, "provisioner_campaign_state")[(("campaign", cid), ("state", "done"))] == 1
    assert samples(text, "provisioner_jobs")[(("kind", "campaign"), ("state", "done"))] == 1
    assert not re.search(r'provisioner_campaign[^\n]*(00562b|alice|127\.0\.0\.1)', text)


def test_campaign_halts_on_an_upgrade_failure_line_then_rolls_back(daemon, fleet):
    daemon.provctl("set", f"device:{MACS[5]}", "Upgrade_Rule=http://fw.example.com/old.loads")
    location, started = start(fleet, canary={"macs": [MACS[0]]}, waves=[100], failure_threshold=20)
    behaviour = {MACS[1]: "fail", MACS[2]: "fail"}
    halted = fleet.play(location, behaviour, lambda c: c["state"] in ("halted", "done"))
    assert halted["state"] == "halted", halted
    assert halted["reason"].startswith("halted in wave 1: ") and "failed, more than the failure threshold of 20%" in halted["reason"]
    assert halted["waves"][0]["state"] == "passed" and halted["waves"][1]["state"] == "halted"
    failed = {d["mac"]: d["detail"] for d in halted["devices"]["items"] if d["outcome"] == "failed"}
    assert set(failed) <= {MACS[1], MACS[2]} and failed
    assert all("Upgrade failed: image signature invalid" in why for why in failed.values())
    assert halted["job"]["state"] == "running"   # a halted campaign holds its job until an admin decides
    # The failed devices filter.
    only = fleet.client.get(location + "?outcome=failed").json["devices"]["items"]
    assert {d["mac"] for d in only} == set(failed)
    notifies = fleet.sipp.notifies()
    assert fleet.client.post(location + "/rollback").status == 202
    rolled = wait_for(lambda: (lambda c: c if c["state"] == "rolled_back" and c["job"]["state"] == "done" else None)(
        fleet.campaign(location)), 15, "rolled back")
    assert rolled["reason"].startswith("rolled back by api:alice: change set #")
    # The previous rules are back (none, and the one device that had its own), and the devices were pushed again.
    rules = upgrade_rules(daemon)
    assert rules[MACS[5]] == "http://fw.example.com/old.loads"
    assert all(rules[m] is None for m in MACS[:5]), rules
    assert fleet.sipp.notifies() == notifies + 6
    assert all("rollback ok: 200" in d["pushed"] for d in rolled["devices"]["items"])
    by_campaign = history(daemon, f"campaign:{started['id']} by api:alice")
    assert [s["action"] for s in by_campaign] == ["revert", "set", "set"], by_campaign
    # A rolled back campaign takes no more actions.
    again = fleet.client.post(location + "/resume")
    assert again.status == 409 and again.json["field"] == "state", again


def test_pause_survives_a_restart_then_resume_then_no_contact_halts_and_abort(daemon, fleet):
    # Started with provctl (the daemon runs it), paused as soon as the canary's wave is pushed.
    out = daemon.provctl("campaign", "start", "--model", MODEL, "--rule", RULE, "--firmware", NEW, "--canary", MACS[0],
                         "--waves", "100", "--window", "20", "--success-threshold", "100", "--failure-threshold", "0",
                         "--rate", "50", "--state-dir", daemon.folder, json_output=True)
    started = json.loads(out.stdout)
    cid, location = started["id"], f"/api/v1/campaigns/{started['id']}"
    assert started["started_by"] == "tester"
    wait_for(lambda: fleet.campaign(location)["devices"]["items"][0]["pushed"], 10, "the canary pushed")
    paused = json.loads(daemon.provctl("campaign", "pause", cid, "--state-dir", daemon.folder, json_output=True).stdout)
    assert paused["requested"] == "pause" and paused["requested_by"] == "tester"
    wait_for(lambda: fleet.campaign(location)["state"] == "paused", 5, "paused")
    # The canary upgrades while paused: recorded, but no wave starts.
    assert fleet.fetch(MACS[0], NEW).startswith(b"Content-Type: text/xml")
    time.sleep(1)
    assert fleet.campaign(location)["waves"][1]["state"] == "waiting"
    # A restart keeps the campaign as it stood.
    daemon.stop()
    daemon.start()
    after = fleet.campaign(location)
    assert after["state"] == "paused" and after["reason"] == "paused by tester"
    wait_for(lambda: fleet.client.get(f"/api/v1/jobs/{cid}").json["state"] == "running", 5, "the job running again")
    resumed = fleet.client.post(location + "/resume")
    assert resumed.status == 202 and resumed.json["requested"] == "resume"
    done = fleet.play(location, {}, lambda c: c["state"] in ("done", "halted"))
    assert done["state"] == "done" and done["progress"]["succeeded"] == 6, done
    # A second campaign whose phones never come back: halted at the end of its 1 s window, then aborted.
    location2, second = start(fleet, waves=[100], window=1, firmware="sip88xx.15-0-1MPP0001-1",
                              upgrade_rule="http://fw.example.com/sip88xx.15-0-1MPP0001-1.loads")
    halted = fleet.play(location2, {m: "silent" for m in MACS}, lambda c: c["state"] == "halted", timeout=15)
    failed = [d for d in halted["devices"]["items"] if d["outcome"] == "failed"]
    assert failed and all(d["detail"] == "no proven contact within 1 s" for d in failed), failed
    assert halted["reason"].startswith("halted in wave 1: ") and "more than the failure threshold of 0%" in halted["reason"]
    assert fleet.client.post(location2 + "/abort").status == 202
    aborted = wait_for(lambda: (lambda c: c if c["state"] == "aborted" and c["job"]["state"] == "cancelled" else None)(
        fleet.campaign(location2)), 5, "aborted")
    assert aborted["reason"] == "aborted by api:alice"
    assert set(upgrade_rules(daemon).values()) == {"http://fw.example.com/sip88xx.15-0-1MPP0001-1.loads"}


def test_viewer_reads_only_and_errors_name_field_and_rule(daemon, fleet):
    client, viewer = fleet.client, daemon.client(user="victor", role="viewer")
    body = {"selection": {"model": MODEL}, "upgrade_rule": RULE, "firmware": NEW, "canary": {"group": "lab"}, "waves": [10, 50, 100]}
    # A dry run: the waves it would make, the same as provctl's; nothing queued.
    preview = client.post("/api/v1/campaigns?dry_run=true", body=body)
    assert preview.status == 200 and preview.json["result"] == "dry_run" and preview.json["devices"] == 6, preview
    assert [w["name"] for w in preview.json["waves"]] == ["canary", "wave 1", "wave 2", "wave 3"]
    assert preview.json["waves"][0]["macs"] == [MACS[0]]
    twin = daemon.provctl("campaign", "start", "--model", MODEL, "--rule", RULE, "--firmware", NEW, "--canary-group", "lab",
                          "--dry-run", json_output=True)
    assert json.loads(twin.stdout) == preview.json
    assert client.get("/api/v1/campaigns").json == {"items": [], "next_after": None}
    for bad, field, rule in [({"waves": [50, 40]}, "waves", "increasing percentages ending at 100"),
                             ({"waves": [10, 50]}, "waves", "increasing percentages ending at 100"),
                             ({"canary": {"macs": ["000e08ffffff"]}}, "canary.macs", "within the selection"),
                             ({"canary": {"group": "nobody"}}, "canary.group", "within the selection"),
                             ({"window": 0}, "window", "1..604800"),
                             ({"failure_threshold": 101}, "failure_threshold", "0..100"),
                             ({"firmware": "has space"}, "firmware", "firmware_version"),
                             ({"upgrade_rule": "/no/server.loads"}, "upgrade_rule", None),
                             ({"selection": {"model": "CP-0000"}}, "selection", "at least one enabled device")]:
        answer = client.post("/api/v1/campaigns", body={**body, **bad})
        assert answer.status == 422 and answer.json["field"] == field, (bad, answer)
        if rule:
            assert answer.json["rule"] == rule, (bad, answer)
    assert client.post("/api/v1/campaigns", body={**body, "canary": {"macs": ["nonsense"]}}).json["field"] == "canary.macs"
    assert client.get("/api/v1/campaigns/99").status == 404
    assert client.post("/api/v1/campaigns/99/pause").status == 404
    # The viewer reads, and may not start or act.
    assert viewer.post("/api/v1/campaigns", body=body).status == 403
    location, _ = start(fleet, waves=[100], window=1)
    assert viewer.get(location).status == 200 and viewer.get("/api/v1/campaigns").status == 200
    for action in ("pause", "resume", "abort", "rollback"):
        assert viewer.post(f"{location}/{action}").status == 403
    # A running campaign cannot be resumed; two actions at once are refused.
    resume = client.post(location + "/resume")
    assert resume.status == 409 and resume.json["field"] == "state" and resume.json["rule"].startswith("resume:"), resume
    assert client.post(location + "/abort").status == 202
    twice = client.post(location + "/pause")
    assert twice.status == 409, twice
    wait_for(lambda: fleet.campaign(location)["state"] == "aborted", 5, "aborted")
