"""Expected devices (issue 25 point 3) through the admin API: /api/v1/expected imports an order list as
`provctl expect import` does (the same rows, the same JSON, the same problems), lists it in pages, answers one entry
with an ETag and removes it only with If-Match; a viewer reads only; and the daemon promotes a phone profile-cgi
served from an entry into a device with the history entry `onboarding`."""
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time

import pytest

from admind import ROOT, Daemon, profile_cgi

sys.path.insert(0, os.path.join(ROOT, "bench"))
import measure  # noqa: E402  (phone_env: the environment Apache gives the CGI)

MAC = "000e08ee0001"
MAC2 = "000e08ee0002"
ORDER = (f"mac,serial,model,group,var:ext,var:sip_password\n"
         f"{MAC},FCH0000E001,CP-8841-3PCC,sales,101,hunter2-secret\n"
         f"{MAC2},,CP-7841-3PCC,lobby,102,\n"
         f",FCH0000E003,CP-8851-3PCC,sales,103,\n")
# The entries as stored: rows of the name/value table (ConfigurationStore.expectedColumns), without who and when.
EXPECTED = ("SELECT substr(name, 10), json_extract(value, '$.serial'), json_extract(value, '$.model'), "
            "json_extract(value, '$.group'), json_extract(value, '$.variables') FROM server_keys "
            "WHERE name LIKE 'expected:%' ORDER BY name")


def rows(daemon, query):
    with sqlite3.connect(daemon.db) as db:
        return db.execute(query).fetchall()


def post_csv(client, text, query=""):
    return client.request("POST", "/api/v1/expected" + query, body=text.encode(), content_type="text/csv")


@pytest.fixture
def pair():
    """Two fresh databases with the group and models in use, one behind a daemon, one for provctl."""
    daemons = []
    for _ in range(2):
        d = Daemon()
        for group in ("sales", "lobby"):
            d.provctl("set", f"group:{group}", "Station_Name=onboarded")
        daemons.append(d)
    daemons[0].start()
    yield daemons
    for d in daemons:
        d.remove()


def test_import_is_provctl_expect_import(pair):
    api, twin = pair
    client = api.client(user="bob")
    dry = post_csv(client, ORDER, "?dry_run=true")
    assert dry.status == 200, dry
    assert dry.json["result"] == "dry_run" and dry.json["added"] == 3
    assert [(g["model"], g["group"], g["count"]) for g in dry.json["groups"]] == [
        ("CP-7841-3PCC", "lobby", 1), ("CP-8841-3PCC", "sales", 1), ("CP-8851-3PCC", "sales", 1)]
    assert rows(api, EXPECTED) == []
    answer = post_csv(client, ORDER)
    assert answer.status == 200, answer
    path = os.path.join(twin.folder, "order.csv")
    with open(path, "w") as f:
        f.write(ORDER)
    printed = json.loads(twin.provctl("expect", "import", path, json_output=True).stdout)
    for key in ("ok", "action", "result", "added", "changed", "unchanged", "groups", "history_entries"):
        assert answer.json[key] == printed[key], key
    assert rows(api, EXPECTED) == rows(twin, EXPECTED)
    assert len(rows(api, EXPECTED)) == 3
    # The history names the API's user; the secret variable is masked there.
    audit = rows(api, "SELECT who, action, new_value FROM audit WHERE action = 'expect add'")
    assert {who for who, _, _ in audit} == {"api:bob"} and len(audit) == 3
    assert not any("hunter2-secret" in new for _, _, new in audit)
    # The same list again: nothing changes.
    again = post_csv(client, ORDER)
    assert again.json["unchanged"] == 3 and again.json["added"] == 0
    # The import is one change set that provctl revert undoes, as any other.
    twin.provctl("revert", str(printed["change_set"]))
    assert rows(twin, EXPECTED) == []


def test_bad_rows_are_422_with_line_field_and_rule(pair):
    api, _ = pair
    client = api.client()
    answer = post_csv(client, f"mac,serial,model\nzz,,\n,FCH1,\n{MAC},,CP 8841\n")
    assert answer.status == 422, answer
    problems = {(p["line"], p["field"]) for p in answer.json["problems"]}
    assert problems == {(2, "mac"), (3, "model"), (4, "model")}, answer.json
    assert rows(api, EXPECTED) == []
    header = post_csv(client, "mac,colour\n000e08ee0009,red\n")
    assert header.status == 422 and header.json["field"] == "colour", header.json
    # An entry whose phone would get a 500 on its first fetch (an undefined {{variable}}) is refused.
    api.provctl("set", "group:needs", "Display_Name_1_=Desk {{ext}}")
    broken = post_csv(client, "mac,group\n000e08ee0010,needs\n")
    assert broken.status == 422, broken
    assert broken.json["problems"][0]["field"] == "variables" and "would not render" in broken.json["problems"][0]["rule"]
    assert post_csv(client, "mac,group,var:ext\n000e08ee0010,needs,5\n").status == 200
    # A MAC that is a device already is no expected device.
    api.provctl("device", "add", "000e08ee0009")
    taken = post_csv(client, "mac\n000e08ee0009\n")
    assert taken.status == 422 and taken.json["problems"][0]["field"] == "mac", taken.json


def test_list_pages_get_etag_and_delete_with_if_match(pair):
    api, _ = pair
    assert post_csv(api.client(), ORDER).status == 200
    viewer = api.client(role="viewer")
    first = viewer.get("/api/v1/expected?limit=2")
    assert first.status == 200, first
    assert [e["id"] for e in first.json["items"]] == [f"mac:{MAC}", f"mac:{MAC2}"]
    assert first.json["items"][0]["variables"] == {"ext": "101", "sip_password": "***"}
    rest = viewer.get("/api/v1/expected?limit=2&after=" + first.json["next_after"])
    assert [e["id"] for e in rest.json["items"]] == ["serial:FCH0000E003"] and rest.json["next_after"] is None
    # What provctl lists, the same.
    printed = json.loads(api.provctl("expect", "list", json_output=True).stdout)
    assert [e["id"] for e in printed] == [f"mac:{MAC}", f"mac:{MAC2}", "serial:FCH0000E003"]
    assert printed[0]["variables"] == first.json["items"][0]["variables"]
    one = viewer.get(f"/api/v1/expected/mac:{MAC}")
    assert one.status == 200 and one.json["serial"] == "FCH0000E001"
    etag = one.header("etag")
    assert etag.startswith('"')
    # A viewer reads only.
    assert viewer.delete(f"/api/v1/expected/mac:{MAC}", headers={"If-Match": etag}).status == 403
    assert post_csv(viewer, ORDER).status == 403
    admin = api.client()
    assert admin.delete(f"/api/v1/expected/mac:{MAC}").status == 428
    assert admin.delete(f"/api/v1/expected/mac:{MAC}", headers={"If-Match": '"stale"'}).status == 412
    dry = admin.delete(f"/api/v1/expected/mac:{MAC}?dry_run=true", headers={"If-Match": etag})
    assert dry.status == 200 and dry.json["result"] == "dry_run", dry
    assert len(rows(api, EXPECTED)) == 3
    gone = admin.delete(f"/api/v1/expected/mac:{MAC}", headers={"If-Match": etag})
    assert gone.status == 200 and gone.json["result"] == "changed", gone
    assert admin.get(f"/api/v1/expected/mac:{MAC}").status == 404
    assert [key for key, *_ in rows(api, EXPECTED)] == [f"mac:{MAC2}", "serial:FCH0000E003"]


def test_daemon_promotes_a_phone_served_from_an_entry(pair):
    api, _ = pair
    assert post_csv(api.client(), ORDER).status == 200
    # profile-cgi as Apache runs it, for the phone with a verified certificate of MAC and serial of line 2.
    env = measure.phone_env(api.db, MAC, "FCH0000E001", "CP-8841-3PCC", "xml", seen=True)
    served = subprocess.run([profile_cgi()], env=env, capture_output=True)
    assert served.stdout.startswith(b"Content-Type: text/xml"), served
    assert b"<Station_Name" in served.stdout and b"onboarded" in served.stdout
    # The daemon looks every 2 s.
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and not rows(api, f"SELECT 1 FROM devices WHERE mac = '{MAC}'"):
        time.sleep(0.25)
    assert rows(api, f"SELECT serial, model, group_name FROM devices WHERE mac = '{MAC}'") == [
        ("FCH0000E001", "CP-8841-3PCC", "sales")]
    assert rows(api, f"SELECT who, action FROM audit WHERE target = '{MAC}'") == [("api:onboarding", "onboarding")]
    assert rows(api, f"SELECT value FROM variables WHERE target = '{MAC}' AND name = 'sip_password'") == [("hunter2-secret",)]
    assert api.client().get(f"/api/v1/expected/mac:{MAC}").status == 404
    # A phone with the right MAC but another serial: not served, a claim with the reason.
    env = measure.phone_env(api.db, MAC2, "FCH0000E002", "CP-8841-3PCC", "xml", seen=True)
    refused = subprocess.run([profile_cgi()], env=env, capture_output=True)
    assert refused.stdout.startswith(b"Status: 404"), refused
    claims = api.client().get("/api/v1/claims").json
    assert [c.get("expected") for c in claims if c["mac"] == MAC2] == [
        "expected product CP-7841-3PCC, certificate says CP-8841-3PCC"]
