import Provisioning
@testable import ProvisioningAdmin
import Testing

@Suite("What was asked for")
struct RequestTests {
    func request(_ path: String, method: String = "GET") throws(RequestError) -> ProfileRequest {
        try ProfileRequest(environment: ["REQUEST_METHOD": method, "PATH_INFO": path])
    }

    @Test func endingsPickTheForm() throws {
        #expect(try request("/cgi/000e08abcdef.xml").form == .xml)
        #expect(try request("/000e08abcdef").form == .xml)
        #expect(try request("/000e08abcdef.gz").form == .gz)
        #expect(try request("/000e08abcdef.xml.gz").form == .gz)
        #expect(try request("/000e08abcdef.cfg").form == .cfg)
        #expect(try request("").form == .xml)
    }

    @Test func namedMACInEverySpelling() throws {
        #expect(try request("/000e08abcdef.xml").namedMAC?.hex == "000e08abcdef")
        #expect(try request("/000E08ABCDEF.cfg").namedMAC?.hex == "000e08abcdef")
        #expect(try request("/00:0e:08:ab:cd:ef.xml").namedMAC?.hex == "000e08abcdef")
        #expect(try request("/000e08abcdef.xml.gz").namedMAC?.hex == "000e08abcdef")
        #expect(try request("/CP-8841-3PCC.xml").namedMAC == nil)
        #expect(try request("/8841.xml").namedMAC == nil)
    }

    @Test func headIsAllowed() throws {
        #expect(try request("/a.xml", method: "HEAD").isHead)
    }

    @Test(arguments: ["PUT", "POST", "DELETE", "OPTIONS", "PATCH"])
    func otherMethodsAre405(_ method: String) {
        #expect(throws: RequestError.self) { try request("/a.xml", method: method) }
        do { _ = try request("/a.xml", method: method) } catch { #expect(error.refusal.status == 405) }
    }

    @Test func unknownEndingIs404() {
        do {
            _ = try request("/firmware.loads")
            Issue.record("expected a refusal")
        } catch {
            #expect(error.refusal.status == 404)
            #expect(error.refusal.reason == "unsupported file type")
        }
    }
}

@Suite("The CGI's string table")
struct StringTableTests {
    @Test func lookupReplaceRemoveAndIterate() {
        var table: StringTable = ["a": "1", "bb": "2"]
        let key = Array("PATH_INFO".utf8), value = Array("/x.xml".utf8)
        key.withUnsafeBufferPointer { key in value.withUnsafeBufferPointer { value in table.appendNew(key, value) } }
        #expect(table["a"] == "1")
        #expect(table["bb"] == "2")
        #expect(table["b"] == nil)
        #expect(table["PATH_INFO"] == "/x.xml")
        table["a"] = "one"
        #expect(table["a"] == "one")
        #expect(table.count == 3)
        table["bb"] = nil
        #expect(table["bb"] == nil)
        #expect(table.count == 2)
        table[""] = "empty key"
        #expect(table[""] == "empty key")
        #expect(table.map(\.key) == ["PATH_INFO", "a", ""])
        #expect(table == StringTable(["": "empty key", "a": "one", "PATH_INFO": "/x.xml"]))
        #expect(table.dictionary == ["": "empty key", "a": "one", "PATH_INFO": "/x.xml"])
    }
}
