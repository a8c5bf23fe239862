import Provisioning
import Testing

@Suite("DigestParameters, the one parser of Digest headers")
struct DigestParametersTests {
    @Test func quotedUnquotedAndEscapes() {
        let parsed = DigestParameters(#"Realm="a \"b\", c", nonce= "n1" ,qop=auth , stale=TRUE"#)
        #expect(parsed.isWellFormed)
        #expect(parsed.fields == ["realm": #"a "b", c"#, "nonce": "n1", "qop": "auth", "stale": "TRUE"])
    }

    @Test func malformedListsKeepWhatCouldBeRead() {
        let bare = DigestParameters(#"realm="r", lonely, nonce="n""#)
        #expect(!bare.isWellFormed)
        #expect(bare.fields == ["realm": "r", "nonce": "n"])
        let open = DigestParameters(#"realm="r", nonce="never closed"#)
        #expect(!open.isWellFormed)
        #expect(open.fields["nonce"] == "never closed")
        // The answer's reader refuses a malformed list outright.
        #expect(HTTPAuthorization(#"Digest username="u", realm="r", nonce="n", uri="/x", response="ab", stray"#) == nil)
        guard case .digest(let answer)? = HTTPAuthorization(#"Digest username=" u ", realm="r", nonce="n", uri="/x", response="AB""#) else {
            Issue.record("a well-formed answer not read")
            return
        }
        #expect(answer.user == "u" && answer.response == "ab" && answer.uri == "/x" && answer.qop == nil)
    }
}
