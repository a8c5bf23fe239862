"""Devices through the API (issue 24): list pages and filters, one device with its ETag, create/patch/delete/
replace with If-Match, dry runs, secrets masked, the history's user, and parity with provctl on a twin database."""
from devices_support import provctl_json, twin  # noqa: F401 (twin: a fixture)

MAC = "000e08aabb01"
KEY = "a long passphrase 42"
PASSWORD = "s3cret-pw!"


def add(client, mac=MAC, **fields):
    return client.post("/api/v1/devices", body={"mac": mac, **fields})


def etag(client, mac=MAC):
    answer = client.get(f"/api/v1/devices/{mac}")
    assert answer.status == 200, answer
    assert answer.header("etag"), answer.headers
    return answer.header("etag")


def test_create_answers_201_with_location_and_etag_then_409(daemon):
    client = daemon.client()
    answer = add(client, serial="88012BA01234", model="CP-8841-3PCC", group="sales")
    assert answer.status == 201, answer
    assert answer.header("location") == f"/api/v1/devices/{MAC}"
    assert answer.json["result"] == "changed"
    assert answer.json["action"] == "device add"
    assert answer.header("etag") == etag(client)
    again = add(client)
    assert again.status == 409
    assert again.header("content-type") == "application/problem+json"
    assert again.json["code"] == "conflict"
    assert len(provctl_json(daemon, "device", "list")) == 1


def test_create_dry_run_writes_nothing(daemon):
    answer = daemon.client().post("/api/v1/devices?dry_run=true", body={"mac": MAC})
    assert answer.status == 200, answer
    assert answer.json["result"] == "dry_run"
    assert answer.json["dry_run"] is True
    assert provctl_json(daemon, "device", "list") == []


def test_bad_mac_is_400_naming_the_field(daemon):
    answer = daemon.client().post("/api/v1/devices", body={"mac": "00:0e:08:zz:bb:01"})
    assert answer.status == 400
    assert answer.json["field"] == "mac"
    assert answer.json["rule"] == "mac_format"


def test_get_device_is_provctl_device_show(daemon):
    client = daemon.client()
    assert add(client, serial="SN1", group="sales").status == 201
    daemon.provctl("set", f"device:{MAC}", "Display_Name_1_=Front desk")
    answer = client.get(f"/api/v1/devices/{MAC}")
    assert answer.status == 200
    assert answer.json == provctl_json(daemon, "device", "show", MAC)
    assert client.get("/api/v1/devices/000e08aabb99").status == 404


def test_list_pages_by_mac_and_filters(daemon):
    client = daemon.client()
    macs = [f"000e08aabb{i:02x}" for i in range(1, 8)]
    for index, mac in enumerate(macs):
        group = "sales" if index % 2 == 0 else "support"
        assert add(client, mac, group=group, serial=f"SN{index}", model="CP-8841-3PCC" if index < 3 else "CP-7841-3PCC").status == 201
    seen, after = [], None
    while True:
        answer = client.get("/api/v1/devices?limit=3" + (f"&after={after}" if after else ""))
        assert answer.status == 200, answer
        seen += [item["mac"] for item in answer.json["items"]]
        assert len(answer.json["items"]) <= 3
        after = answer.json["next_after"]
        if after is None:
            break
    assert seen == macs
    assert [d["mac"] for d in client.get("/api/v1/devices?group=support").json["items"]] == macs[1::2]
    assert [d["mac"] for d in client.get("/api/v1/devices?model=CP-8841-3PCC").json["items"]] == macs[:3]
    assert [d["mac"] for d in client.get("/api/v1/devices?q=sn4").json["items"]] == [macs[4]]
    assert [d["mac"] for d in client.get("/api/v1/devices?q=aa:bb:03").json["items"]] == [macs[2]]
    assert [d["mac"] for d in client.get("/api/v1/devices?q=SUPP").json["items"]] == macs[1::2]
    daemon.provctl("device", "disable", macs[5])
    assert [d["mac"] for d in client.get("/api/v1/devices?state=disabled").json["items"]] == [macs[5]]
    assert len(client.get("/api/v1/devices?state=enabled").json["items"]) == 6
    # Never fetched: all enabled devices are pending as "never seen".
    assert [d["mac"] for d in client.get("/api/v1/devices?state=never_seen&limit=2").json["items"]] == macs[:2]
    assert client.get("/api/v1/devices?firmware=sip88xx.12-0-1").json["items"] == []
    assert client.get("/api/v1/devices?limit=1001").status == 400
    assert client.get("/api/v1/devices?after=nonsense").status == 400
    # The list is provctl device list's rows.
    assert client.get("/api/v1/devices?limit=1000").json["items"] == provctl_json(daemon, "device", "list")


def test_patch_needs_if_match_and_a_stale_one_is_412(daemon):
    alice, bob = daemon.client("alice"), daemon.client("bob")
    assert add(alice, group="sales").status == 201
    first = etag(alice)
    missing = alice.patch(f"/api/v1/devices/{MAC}", body={"group": "support"})
    assert missing.status == 428
    assert missing.json["field"] == "If-Match"
    # Two admins read the same version; alice writes first, bob's write with the old ETag is refused.
    done = alice.patch(f"/api/v1/devices/{MAC}", body={"group": "support"}, headers={"If-Match": first})
    assert done.status == 200, done
    assert done.json["result"] == "changed"
    assert done.header("etag") and done.header("etag") != first
    assert done.header("etag") == etag(alice)
    stale = bob.patch(f"/api/v1/devices/{MAC}", body={"group": "billing"}, headers={"If-Match": first})
    assert stale.status == 412
    assert stale.json["rule"] == "etag_mismatch"
    assert provctl_json(daemon, "device", "show", MAC)["group"] == "support"
    # The history names the API's user.
    history = provctl_json(daemon, "history")
    assert any(entry["who"] == "api:alice" and entry["action"] == "device edit" for entry in history), history
    assert not any(entry["who"] == "api:bob" for entry in history)


def test_patch_dry_run_and_enable_disable_parity_with_provctl(daemon, twin):
    client = daemon.client()
    assert add(client, group="sales").status == 201
    twin.provctl("device", "add", MAC, "--group", "sales")
    dry = client.patch(f"/api/v1/devices/{MAC}?dry_run=true", body={"enabled": False}, headers={"If-Match": etag(client)})
    assert dry.status == 200, dry
    assert dry.json["result"] == "dry_run"
    assert provctl_json(daemon, "device", "show", MAC)["enabled"] is True
    api = client.patch(f"/api/v1/devices/{MAC}", body={"enabled": False}, headers={"If-Match": etag(client)})
    assert api.status == 200, api
    cli = provctl_json(twin, "device", "disable", MAC)
    for member in ("ok", "action", "count", "message", "macs"):
        assert api.json[member] == cli[member], member
    assert provctl_json(daemon, "device", "list") == provctl_json(twin, "device", "list")
    api = client.patch(f"/api/v1/devices/{MAC}", body={"serial": "SN9", "group": ""}, headers={"If-Match": etag(client)})
    assert api.status == 200, api
    cli = provctl_json(twin, "device", "edit", MAC, "--serial", "SN9", "--group", "")
    for member in ("ok", "action", "count", "message", "mac"):
        assert api.json[member] == cli[member], member
    assert provctl_json(daemon, "device", "list") == provctl_json(twin, "device", "list")


def test_secrets_are_masked_in_every_answer(daemon):
    client = daemon.client()
    created = add(client, encryption="aes-256-cbc", key=KEY,
                  account={"user": "phone-0001", "realm": "provisioner", "password": PASSWORD})
    assert created.status == 201, created
    daemon.provctl("set", f"device:{MAC}", "Password_1_=line-secret-77", "Display_Name_1_=Desk")
    daemon.provctl("var", f"device:{MAC}", "sip_password=var-secret-88")
    ha1 = provctl_json(daemon, "device", "show", MAC, "--show-secrets")["account"]["ha1"]
    answers = [client.get(path) for path in (f"/api/v1/devices/{MAC}", "/api/v1/devices", f"/api/v1/devices/{MAC}/settings",
                                             f"/api/v1/devices/{MAC}/variables", f"/api/v1/devices/{MAC}/profile",
                                             f"/api/v1/scopes/device:{MAC}/settings", f"/api/v1/scopes/device:{MAC}/variables")]
    answers.append(client.patch(f"/api/v1/devices/{MAC}?dry_run=true", body={"key": "another phrase 99"},
                                headers={"If-Match": etag(client)}))
    for answer in answers:
        assert answer.status == 200, answer
        for secret in (KEY, PASSWORD, ha1, "line-secret-77", "var-secret-88", "another phrase 99"):
            assert secret.encode() not in answer.body, (secret, answer)
    device = answers[0].json
    assert device["key"] == "***" and device["account"]["ha1"] == "***"
    profile = answers[4].json
    assert profile["masked"] >= 1
    assert "<Display_Name_1_" in profile["profile"] and "Desk" in profile["profile"]
    # The hash is of the profile as served (with its secrets): what provctl render prints.
    assert profile["sha256"] == provctl_json(daemon, "render", MAC)["sha256"]


def test_settings_and_variables_are_provctl_explain(daemon):
    client = daemon.client()
    assert add(client, group="sales").status == 201
    daemon.provctl("set", "default", "Resync_Periodic=3600")
    daemon.provctl("var", "default", "who=Reception")
    daemon.provctl("set", "group:sales", "Resync_Periodic=600", "Display_Name_1_={{who}}")
    settings = client.get(f"/api/v1/devices/{MAC}/settings")
    assert settings.status == 200, settings
    by_name = {entry["name"]: entry for entry in settings.json}
    assert by_name["Resync_Periodic"] == provctl_json(daemon, "explain", MAC, "Resync_Periodic")
    assert by_name["Resync_Periodic"]["scope"] == "group:sales"
    assert by_name["Display_Name_1_"]["value"] == "Reception"
    variables = client.get(f"/api/v1/devices/{MAC}/variables")
    assert variables.status == 200, variables
    assert variables.json == [provctl_json(daemon, "explain", MAC, "{{who}}")]


def test_delete_and_replace_need_if_match(daemon, twin):
    client = daemon.client()
    new = "000e08aabb02"
    assert add(client, serial="OLD1").status == 201
    twin.provctl("device", "add", MAC, "--serial", "OLD1")
    assert client.post(f"/api/v1/devices/{MAC}/replace", body={"new_mac": new}).status == 428
    api = client.post(f"/api/v1/devices/{MAC}/replace", body={"new_mac": new, "serial": "NEW1"},
                      headers={"If-Match": etag(client)})
    assert api.status == 200, api
    cli = provctl_json(twin, "device", "replace", MAC, new, "--serial", "NEW1")
    for member in ("ok", "action", "count", "message", "old", "new"):
        assert api.json[member] == cli[member], member
    assert provctl_json(daemon, "device", "list") == provctl_json(twin, "device", "list")
    assert client.delete(f"/api/v1/devices/{new}", headers={"If-Match": '"stale"'}).status == 412
    dry = client.delete(f"/api/v1/devices/{new}?dry_run=true", headers={"If-Match": etag(client, new)})
    assert dry.status == 200 and dry.json["result"] == "dry_run"
    gone = client.delete(f"/api/v1/devices/{new}", headers={"If-Match": etag(client, new)})
    assert gone.status == 200, gone
    assert gone.json["action"] == "device remove"
    assert client.get(f"/api/v1/devices/{new}").status == 404
    assert client.delete(f"/api/v1/devices/{new}", headers={"If-Match": "*"}).status == 404


def test_viewer_reads_but_may_not_write(daemon):
    assert add(daemon.client()).status == 201
    viewer = daemon.client("vera", role="viewer")
    assert viewer.get(f"/api/v1/devices/{MAC}").status == 200
    assert viewer.patch(f"/api/v1/devices/{MAC}", body={"enabled": False}, headers={"If-Match": "*"}).status == 403
    assert provctl_json(daemon, "device", "show", MAC)["enabled"] is True


def test_fetches_are_provctl_fetches_and_page_by_time(daemon):
    client = daemon.client()
    assert add(client).status == 201
    assert client.get(f"/api/v1/devices/{MAC}/fetches").json == {"items": [], "next_after": None}
    log = "".join(f"2026-12-01T10:00:0{i}.000123+00:00 192.0.2.10 CP-8841-3PCC 00:0e:08:aa:bb:01 -- "
                  f"{'Requesting resync' if i % 2 == 0 else 'Resync failed: decrypt error'} https://prov.example.com/x\n"
                  for i in range(3))
    path = f"{daemon.folder}/phones.log"
    with open(path, "w") as f:
        f.write(log)
    daemon.provctl("syslog", "--all", "--relay", "192.0.2.10", path)
    expected = provctl_json(daemon, "fetches", MAC)
    assert len(expected) == 3
    first = client.get(f"/api/v1/devices/{MAC}/fetches?limit=2")
    assert first.status == 200, first
    assert first.json["items"] == expected[:2]
    assert first.json["next_after"] == str(expected[1]["time_us"])
    rest = client.get(f"/api/v1/devices/{MAC}/fetches?limit=2&after={first.json['next_after']}")
    assert rest.json == {"items": expected[2:], "next_after": None}
    assert client.get(f"/api/v1/devices/{MAC}/fetches?after=yesterday").status == 400
    assert client.get("/api/v1/devices/000e08aabb99/fetches").status == 404


def test_drift_before_any_report_and_unknown_device(daemon):
    client = daemon.client()
    assert add(client).status == 201
    answer = client.get(f"/api/v1/devices/{MAC}/drift")
    assert answer.status == 200, answer
    assert answer.json == {"mac": MAC, "report": None, "drift": []}
    assert client.get("/api/v1/devices/000e08aabb99/drift").status == 404


def test_profile_of_a_device_that_does_not_render_is_422(daemon):
    client = daemon.client()
    assert add(client).status == 201
    daemon.provctl("set", f"device:{MAC}", "Display_Name_1_={{nowhere}}", "--force")
    answer = client.get(f"/api/v1/devices/{MAC}/profile")
    assert answer.status == 422, answer
    assert answer.json["field"] == "mac" and answer.json["rule"] == "renders"
    assert client.get("/api/v1/devices/000e08aabb99/profile").status == 404


def test_list_group_none_is_the_devices_without_a_group(daemon):
    client = daemon.client()
    assert add(client, group="sales").status == 201
    assert add(client, "000e08aabb02").status == 201
    assert [d["mac"] for d in client.get("/api/v1/devices?group=none").json["items"]] == ["000e08aabb02"]
