import Foundation
import Testing

/// Python's `jsonschema` (Debian's python3-jsonschema), installed when missing, as Tests/run installs packages.
func jsonschemaAvailable() throws {
    if try run("/usr/bin/python3", ["-c", "import jsonschema"]).status == 0 { return }
    let install = try run("/usr/bin/env", ["sh", "-c", "apt-get install -y -qq python3-jsonschema >/dev/null 2>&1 || (apt-get update -qq && apt-get install -y -qq python3-jsonschema)"],
                          environment: ["PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "DEBIAN_FRONTEND": "noninteractive"], timeout: 600)
    guard install.status == 0 else { throw TestFailure("python3-jsonschema could not be installed: \(install)") }
}

/// Issue 21, point 6: a JSON Schema for every shape provctl prints (docs/schemas), checked against what the
/// commands really print, by a validator nobody here wrote (python-jsonschema, Draft 2020-12).
@Suite("every --json shape matches its schema in docs/schemas")
struct JSONSchemaTests {
    @Test("real output of every command with --json validates; every schema file is used")
    func schemas() throws {
        try jsonschemaAvailable()
        let box = try Sandbox()
        let schemas = packageRoot + "/docs/schemas"
        var cases: [(schema: String, arguments: [String], statuses: Set<Int32>)] = []
        func add(_ schema: String, _ arguments: String..., statuses: Set<Int32> = [0]) { cases.append((schema, arguments, statuses)) }
        // A small fleet with a fetch, a claim, a report and a syslog line.
        try box.ok("device", "add", "000e08abcdef", "--serial", "88012BA01234", "--model", "CP-8841-3PCC", "--group", "sales",
                   "--encrypt", "aes-256-cbc", "--key", "schema-key")
        try box.ok("set", "default", "Resync_Periodic=600", "User_ID_1_=1001", "Password_1_=pw-1001")
        try box.ok("var", "default", "site=hq")
        try box.phone("/000e08abcdef.xml")
        try box.phone("/000e08ffffff.xml", mac: "000e08ffffff")
        #expect(try box.phone("/report/000e08abcdef.xml", method: "POST",
                              body: Data("<flat-profile><Resync_Periodic>30</Resync_Periodic></flat-profile>".utf8)).status == 200)
        let log = try box.write("phones.log", ISO8601DateFormatter().string(from: Date())
                                + " 192.0.2.10 CP-8841-3PCC 00:0e:08:ab:cd:ef -- Resync failed: decrypt error\n")
        let csv = try box.write("d.csv", "mac,group\n000e08000001,sales\n000e08000002,nosuch-group-x,\n")

        add("change-result", "set", "default", "Display_Name_1_=Desk", "--json")
        add("change-result", "init", "--json")
        add("change-result", "backup", box.path("b.db"), "--json")
        add("change-result", "import", csv, "--skip-invalid", "--json", statuses: [8])
        add("retention", "retention", "--max-age", "30", "--json")
        add("change-result", "render", "--all", "--out", box.path("out"), "--json")
        add("dry-run", "set", "default", "Display_Name_1_=Desk {{mac}}", "--dry-run", "--json", statuses: [2])
        add("dry-run", "set", "default", "Station_Name={{nosuch}}", "--dry-run", "--diff", "--json", statuses: [6])
        add("error", "device", "show", "000e08999999", "--json", statuses: [3])
        add("error", "set", "default", "Resync_Periodic=soon", "--json", statuses: [65])
        add("error", "import", try box.write("bad.csv", "mac\nnot-a-mac\n"), "--json", statuses: [65])
        add("device-list", "device", "list", "--json")
        add("device-show", "device", "show", "000e08abcdef", "--json")
        add("settings", "settings", "--json")
        add("variables", "variables", "--json")
        add("explain-parameter", "explain", "000e08abcdef", "Resync_Periodic", "--json")
        add("explain-variable", "explain", "000e08abcdef", "{{site}}", "--json")
        add("explain-variable", "explain", "000e08abcdef", "{{device.key}}", "--json")
        add("render", "render", "000e08abcdef", "--json")
        add("render", "render", "000e08abcdef", "--form", "cfg", "--json")
        add("check", "check", "--json", statuses: [0, 5])
        add("claims", "claims", "--json")
        add("export", "export", "--json")
        add("history", "history", "--json")
        add("history-set", "history", "--set", "1", "--json")
        add("names", "groups", "--json")
        add("names", "models", "--json")
        add("syslog", "syslog", log, "--json")
        add("fetches", "fetches", "--json")
        add("pending", "pending", "--json", statuses: [5])
        add("drift", "drift", "000e08abcdef", "--json", statuses: [5])
        add("drift-fleet", "drift", "--json", statuses: [5])
        add("resync", "resync", "--pending", "--address", "127.0.0.1:9", "--t1", "10", "--json", statuses: [7])
        add("retention", "retention", "--json")
        add("prune", "prune", "--json")

        var manifest: [[String]] = []
        for (index, item) in cases.enumerated() {
            let outcome = try box.provctl(arguments: item.arguments)
            #expect(item.statuses.contains(outcome.status), "\(item.arguments): \(outcome)")
            let file = box.path("output-\(index).json")
            try outcome.stdout.write(to: URL(fileURLWithPath: file))
            manifest.append([schemas + "/" + item.schema + ".json", file, item.arguments.joined(separator: " ")])
        }
        let manifestFile = box.path("manifest.json")
        try JSONSerialization.data(withJSONObject: manifest).write(to: URL(fileURLWithPath: manifestFile))
        let validator = """
            import json, sys
            from jsonschema import Draft202012Validator
            failed = 0
            for schema_file, output_file, command in json.load(open(sys.argv[1])):
                schema = json.load(open(schema_file))
                Draft202012Validator.check_schema(schema)
                try:
                    value = json.load(open(output_file))
                except ValueError as error:
                    print("NOT JSON:", command, error); failed += 1; continue
                for error in Draft202012Validator(schema).iter_errors(value):
                    print("INVALID:", command, "against", schema_file.rsplit("/", 1)[1], ":", error.message, list(error.absolute_path))
                    failed += 1
            print("validated", len(json.load(open(sys.argv[1]))), "failed", failed)
            """
        let checked = try run("/usr/bin/python3", ["-c", validator, manifestFile])
        #expect(checked.status == 0 && checked.text.contains("failed 0"), "\(checked.text)\(checked.stderr)")
        // Every schema shipped is checked against something real.
        let shipped = Set(try FileManager.default.contentsOfDirectory(atPath: schemas).filter { $0.hasSuffix(".json") }.map { String($0.dropLast(5)) })
        #expect(shipped == Set(cases.map(\.schema)), "schemas without a case: \(shipped.subtracting(cases.map(\.schema)))")
    }
}
