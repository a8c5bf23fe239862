internal import CXML2
import Foundation
public import Provisioning

/// Why a loop query could not answer for one device or one report; the command words it.
public enum LoopError: Error, CustomStringConvertible, Sendable, Equatable {
    /// A stored report is not XML.
    case reportNotXML
    /// The device's profile cannot be rendered (profile-cgi would answer 500): the problem in one line, no secret.
    case render(mac: MACAddress, problem: String)

    public var description: String {
        switch self {
        case .reportNotXML: "report: not XML"
        case .render(let mac, let problem): "\(mac): \(problem)"
        }
    }
}

extension StoredReport {
    /// The parameters of the report: every element that holds text only, anywhere under the root (a
    /// `<flat-profile>`, `<device>`, or an ATA's nested blocks), in document order. Lenient: a report is
    /// evidence, not input.
    public static func parameters(_ bytes: [UInt8]) throws(LoopError) -> [(name: String, value: String)] {
        let options = Int32(XML_PARSE_NONET.rawValue | XML_PARSE_NOERROR.rawValue | XML_PARSE_NOWARNING.rawValue | XML_PARSE_RECOVER.rawValue)
        let document = bytes.withUnsafeBufferPointer { buffer in
            buffer.baseAddress!.withMemoryRebound(to: CChar.self, capacity: buffer.count) {
                xmlReadMemory($0, Int32(buffer.count), "report", nil, options)
            }
        }
        guard let document, let root = xmlDocGetRootElement(document) else { throw .reportNotXML }
        defer { xmlFreeDoc(document) }
        var parameters: [(name: String, value: String)] = []
        func walk(_ node: xmlNodePtr) {
            var child = node.pointee.children
            var hasElement = false
            while let item = child {
                if item.pointee.type == XML_ELEMENT_NODE { hasElement = true; walk(item) }
                child = item.pointee.next
            }
            if !hasElement && node != root {
                var value = ""
                if let content = xmlNodeGetContent(node) {
                    value = String(cString: content)
                    free(content)  // libxml2's default allocator (never replaced) is malloc; xmlFree is a C global
                }
                parameters.append((String(cString: node.pointee.name), value.trimmingCharacters(in: .whitespacesAndNewlines)))
            }
        }
        walk(root)
        return parameters
    }
}

extension DeviceLoop {
    /// The drift of `device` (as it presented itself) against its stored `report`.
    public func drift(of device: Device, report: StoredReport) throws(LoopError) -> [DriftEntry] {
        let expected: [String: ResolvedParameter]
        do {
            expected = try parameters(device)
        } catch {
            throw .render(mac: device.mac, problem: renderProblem(error))
        }
        return Drift.compare(expected: expected, reported: try StoredReport.parameters(report.body), device: device)
    }
}
