import Foundation
@testable import Provisioning
@testable import ProvisioningAdmin
import Testing

/// Matching a proven certificate (MAC, serial, product) against expected entries and adoption rules
/// (`ExpectedMatch.of`), and the order list's validation (`ExpectedDevices.rows`).
@Suite("Expected devices: matching and the order list")
struct ExpectedMatchTests {
    static let mac = MACAddress("000e08abcdef")!

    static func match(serial: String?, product: String?, byMAC: ExpectedEntry? = nil, bySerial: ExpectedEntry? = nil,
                      rules: [ExpectedEntry] = []) -> ExpectedMatch {
        ExpectedMatch.of(mac: mac, serial: serial, product: product, byMAC: byMAC, bySerial: { bySerial }, rules: { rules })
    }

    @Test func anEntryByMACMatchesWhenItsSerialAndProductAreTheCertificates() {
        let entry = ExpectedEntry(key: ExpectedEntry.key(mac: Self.mac), serial: "FCH2133E8B9", model: "CP-8861-3PCC", group: "sales")
        // The MIC's PID says CP-8861; the order says CP-8861-3PCC: the same product. Serial case is ignored.
        #expect(Self.match(serial: "fch2133e8b9", product: "CP-8861", byMAC: entry) == .entry(entry))
        #expect(Self.match(serial: "FCH0000XXXX", product: "CP-8861", byMAC: entry)
                == .mismatch("expected serial FCH2133E8B9, certificate says FCH0000XXXX"))
        #expect(Self.match(serial: nil, product: "CP-8861", byMAC: entry)
                == .mismatch("expected serial FCH2133E8B9, certificate says none"))
        #expect(Self.match(serial: "FCH2133E8B9", product: "CP-8851", byMAC: entry)
                == .mismatch("expected product CP-8861-3PCC, certificate says CP-8851"))
        // An entry naming only the MAC takes any serial and product.
        let bare = ExpectedEntry(key: ExpectedEntry.key(mac: Self.mac))
        #expect(Self.match(serial: "X1", product: "CP-7841", byMAC: bare) == .entry(bare))
    }

    @Test func anEntryBySerialNeedsTheProductToo() {
        let entry = ExpectedEntry(key: ExpectedEntry.key(serial: "FCH2133E8B9"), serial: "FCH2133E8B9", model: "CP-8841-3PCC")
        #expect(Self.match(serial: "FCH2133E8B9", product: "CP-8841-3PCC", bySerial: entry) == .entry(entry))
        guard case .mismatch(let why) = Self.match(serial: "FCH2133E8B9", product: "CP-7841-3PCC", bySerial: entry) else {
            Issue.record("a serial entry with another product matched")
            return
        }
        #expect(why.contains("expected product CP-8841-3PCC") && why.contains("certificate says CP-7841-3PCC"))
        // No serial in the certificate: the serial entry is not even asked.
        #expect(Self.match(serial: nil, product: "CP-8841-3PCC", bySerial: entry) == .none)
    }

    @Test func rulesAreTriedInOrderAfterTheEntries() {
        let byPrefix = ExpectedEntry(key: ExpectedEntry.key(rule: 1), serial: "FCH21", group: "north")
        let byProduct = ExpectedEntry(key: ExpectedEntry.key(rule: 2), model: "CP-7841", group: "lobby")
        let both = ExpectedEntry(key: ExpectedEntry.key(rule: 3), serial: "WZP", model: "CP-8841", group: "south")
        let rules = [byPrefix, byProduct, both]
        #expect(Self.match(serial: "fch2133e8b9", product: "CP-8861", rules: rules) == .rule(byPrefix))
        #expect(Self.match(serial: "ABC", product: "CP-7841-3PCC", rules: rules) == .rule(byProduct))
        #expect(Self.match(serial: "WZP123", product: "CP-8841-3PCC", rules: rules) == .rule(both))
        #expect(Self.match(serial: "WZP123", product: "CP-8851", rules: rules) == .none)
        #expect(Self.match(serial: nil, product: "CP-8851", rules: rules) == .none)
        // An entry with the MAC wins over every rule, and its mismatch is not rescued by a rule.
        let entry = ExpectedEntry(key: ExpectedEntry.key(mac: Self.mac), serial: "OTHER")
        guard case .mismatch = Self.match(serial: "FCH21XX", product: "CP-8861", byMAC: entry, rules: rules) else {
            Issue.record("a rule served a phone whose expected serial differs")
            return
        }
        // A rule's device takes the certificate's product as its model.
        let identity = ClientIdentity(mac: Self.mac, serial: "FCH21XX", model: "CP-8861", fields: StringTable(), source: .certificate)
        #expect(byPrefix.device(for: identity) == Device(mac: Self.mac, serial: "FCH21XX", model: "CP-8861", group: "north"))
    }

    @Test func variablesRoundTripThroughTheStoredCell() {
        let pairs = [("a", "x;y"), ("b", "back\\slash"), ("c", "")]
        let entry = ExpectedEntry(key: "mac:000e08abcdef", variables: VariablesCell.format(pairs))
        var read: [String] = []
        entry.forEachVariable { read.append($0 + "=" + $1) }
        #expect(read == ["a=x;y", "b=back\\slash", "c="])
    }

    @Test func theOrderListIsCheckedRowByRowWithLineColumnAndRule() throws {
        let csv = """
            mac,serial,model,group,var:ext
            000e08abcdef,FCH1,CP-8841-3PCC,sales,101
            not-a-mac,,,sales,
            ,FCH2,,sales,
            ,,CP-8841-3PCC,sales,
            000E.08AB.CDEF,,,,
            ,FCH1,CP-8841,sales,
            ,FCH3,CP 8841,sales,
            """
        let (rows, problems) = try ExpectedDevices.rows(DeviceImport.records(Array(csv.utf8)))
        #expect(rows.count == 1 && rows[0].variables.map(\.value) == ["101"])
        let found = problems.map { "\($0.line ?? 0) \($0.field ?? "") \($0.rule)" }
        #expect(found.contains { $0.hasPrefix("3 mac not a MAC address") })
        #expect(found.contains { $0.hasPrefix("4 model a line without a mac needs the model") })
        #expect(found.contains { $0.hasPrefix("5 mac a mac, or a serial with its model") })
        #expect(found.contains { $0.hasPrefix("6 mac 000e08abcdef already on line 2") })
        #expect(found.contains { $0.hasPrefix("7 serial FCH1 already on line 2") })
        #expect(found.contains { $0.hasPrefix("8 model \" \" is not allowed") })
        // An unknown column refuses the whole file, naming the column.
        #expect(throws: AdminError.self) { try ExpectedDevices.rows(DeviceImport.records(Array("mac,colour\n000e08abcdef,red\n".utf8))) }
    }
}
