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

/// One device's report and how it differs from the device's settings.
public struct DeviceDrift: Sendable {
    public var mac: MACAddress
    public var report: StoredReport
    public var entries: [DriftEntry]
}

/// Every enabled device (of a group) that has a report, against its settings (`provctl drift` without a MAC),
/// streamed in MAC order like `PendingScan`.
public struct DriftScan {
    public var store: ConfigurationEditor
    public var group: String?
    public var batch = 500

    public init(store: ConfigurationEditor, group: String? = nil) {
        self.store = store
        self.group = group
    }

    /// How many devices were walked, and how many had no report.
    public struct Counts: Sendable, Equatable {
        public var devices = 0
        public var withoutReport = 0
    }

    /// Calls `each` with every device that has a report (drifting or not); a group without an enabled device is
    /// `.notFound`, before anything is handed out.
    public func run(_ each: (DeviceDrift) throws -> Void) throws -> Counts {
        let loop = try DeviceLoop(store: store)
        var reports = try ReportCursor(store)
        var counts = Counts()
        try EnabledDevices(store: store, group: group, batch: batch).forEachBatch { rows in
            var found: [(Device, StoredReport)] = []
            for (device, _) in rows {
                counts.devices += 1
                if let report = try reports.next(for: device.mac) { found.append((device, report)) } else { counts.withoutReport += 1 }
            }
            let served = try store.journal.lastServed(found.map(\.0.mac))
            for (device, report) in found {
                let last = served[device.mac]
                let presented = DeviceLoop.presented(device, model: last?.model, serial: last?.serial)
                try each(DeviceDrift(mac: device.mac, report: report, entries: try loop.drift(of: presented, report: report)))
            }
            return true
        }
        if let group, counts.devices == 0 { throw AdminError(.notFound, "--group: no enabled device in group \(group)") }
        return counts
    }
}
