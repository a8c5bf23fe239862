import Provisioning
import ProvisioningAdmin
import Testing

/// `provctl check`'s work called as an API would call it: the library's `CheckEngine`, typed findings.
@Suite("check's findings from the library")
struct CheckEngineTests {
    @Test func findingsAreTypedAndInOrder() throws {
        let directory = try TemporaryDirectory()
        let absent = MACAddress("000e08fedcba")!
        let db = try LocalCaller.database(in: directory, settings: [
            Setting(scope: .device(absent), name: "Station_Name", value: "nobody"),
        ])
        let store = try ConfigurationEditor(path: db, mode: .readWrite)
        let journal = directory.path("no-journal-here.db")
        let engine = CheckEngine(store: store, databasePath: db, journalPath: journal)
        let report = try engine.run(webUser: "no-such-user-provisioner-test")

        #expect(report.devices == LocalCaller.devices.count)
        // The device whose GPP_A uses an undefined {{nosuch}}: its profile cannot be rendered.
        let unrenderable = LocalCaller.of(.unrenderable).stored!.mac
        let profile = report.findings.filter { $0.code == .deviceProfile }
        #expect(profile.map(\.subject) == ["device:\(unrenderable)"])
        #expect(profile.allSatisfy { $0.severity == .problem && $0.message.hasPrefix("cannot render:") })
        let strangers = report.findings.filter { $0.code == .notADevice }
        #expect(strangers.map(\.subject) == ["device:000e08fedcba Station_Name"])
        #expect(strangers.allSatisfy { $0.severity == .warning && $0.message == "\(absent) is not a device" })
        #expect(report.findings.contains { $0.code == .noWebUser && $0.subject == "--web-user" && $0.severity == .warning })
        #expect(report.findings.contains { $0.code == .noJournal && $0.subject == journal })
        #expect(report.problems == 1 && report.warnings == report.findings.count - 1)
        #expect(report.lost.total == 0 && report.lost.finding == nil)
        // Devices first, then settings, then access and journal: the order provctl prints.
        let codes = report.findings.map(\.code)
        #expect(codes.firstIndex(of: .deviceProfile)! < codes.firstIndex(of: .notADevice)!)
        #expect(codes.firstIndex(of: .notADevice)! < codes.firstIndex(of: .noWebUser)!)

        // Permissions only: no device rendered, no setting read.
        let access = try engine.run(webUser: "no-such-user-provisioner-test", permissionsOnly: true)
        #expect(access.devices == 0)
        #expect(access.findings.map(\.code) == [.noWebUser, .noJournal])
    }
}
