import Provisioning
import ProvisioningAdmin
import Testing

/// The devices CSV's reading and row validation as the engine gives them to any caller (provctl import, an
/// upload to the HTTP API): the same rows and problems without provctl in between.
@Suite("the engine reads and validates a devices CSV without provctl")
struct EngineImportTests {
    func parsed(_ text: String, delimiter: UInt8? = nil) throws -> ([DeviceImport.Row], [AdminError.Problem]) {
        try DeviceImport.rows(DeviceImport.records(Array(text.utf8), delimiter: delimiter))
    }

    @Test("good rows come back typed; every bad cell is a problem naming its line, column and rule")
    func rowsAndProblems() throws {
        let (rows, problems) = try parsed("""
            mac;group;enabled;var:SIP_User
            00:0E:08:AB:CD:EF;sales;no;'=1+1\r
            nonsense;sales;yes;x\r
            000e08abcdf0;bad group!;maybe;y\r
            000e08abcdef;sales;yes;z\r

            """)
        #expect(rows.count == 1)
        let row = try #require(rows.first)
        #expect(row.mac == MACAddress("000e08abcdef"))
        #expect(row.line == 2)
        #expect(row.group == .some("sales"))
        #expect(row.enabled == false)
        // The ' export put before a formula is taken off again.
        #expect(row.variableCells.map(\.value) == ["=1+1"])
        let found = problems.map { "\($0.line ?? 0) \($0.field ?? "")" }.sorted()
        #expect(found == ["3 mac", "4 enabled", "4 group", "5 mac"])
        #expect(problems.first { $0.line == 4 && $0.field == "enabled" }?.rule == "yes or no")
        #expect(problems.first { $0.line == 5 }?.rule.contains("already on line 2") == true)
    }

    @Test("a bad header refuses the whole file with the column named")
    func badHeader() throws {
        #expect(DeviceImport.delimiterByte("tab") == 0x09)
        #expect(DeviceImport.delimiterByte("|") == nil)
        do {
            _ = try parsed("mac,grop\r\n000e08abcdef,sales\r\n")
            Issue.record("an unknown column was accepted")
        } catch let error as AdminError {
            #expect(error.kind == .refused)
            #expect(error.field == "grop")
            #expect(error.message.contains("did you mean group?"))
        }
        do {
            _ = try parsed("serial\r\nFCH1\r\n")
            Issue.record("a file without a mac column was accepted")
        } catch let error as AdminError {
            #expect(error.field == "mac")
        }
    }
}
