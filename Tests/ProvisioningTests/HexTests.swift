import Provisioning
import Testing

@Suite("Hex, the one copy of hexadecimal digits")
struct HexTests {
    @Test func encodeAndDecodeAreInverse() {
        let bytes: [UInt8] = [0x00, 0x0f, 0x10, 0xab, 0xff]
        #expect(Hex.encode(bytes) == "000f10abff")
        #expect(Hex.decode(Array("000f10abff".utf8)) == bytes)
        #expect(Hex.decode(Array("000F10ABFF".utf8)) == bytes, "either case reads")
        #expect(Hex.decode(Array("abc".utf8)) == nil, "an odd count")
        #expect(Hex.decode(Array("+f".utf8)) == nil, "a sign is no digit")
        #expect(Hex.decode(Array("0g".utf8)) == nil)
    }

    @Test func textPadsAndCases() {
        #expect(Hex.text(0) == "0")
        #expect(Hex.text(0x1b, width: 4, uppercase: true) == "001B")
        #expect(Hex.text(0x202e) == "202e")
        #expect(Hex.text(UInt64.max) == "ffffffffffffffff")
        var out: [UInt8] = []
        Hex.append(0x7f, uppercase: true, to: &out)
        #expect(out == Array("7F".utf8))
        #expect(Hex.value(of: UInt8(ascii: "G")) == nil && Hex.value(of: UInt8(ascii: "e")) == 14)
    }
}
