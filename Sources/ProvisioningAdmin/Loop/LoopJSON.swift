public import Provisioning

/// `provctl fetches --json` and `provctl drift MAC --json`, one copy for provctl and the admin API.
extension FetchTimelineItem {
    /// A fetch with its phone lines; a phone line that follows no fetch with the same keys, null where it has none.
    public var json: JSON {
        switch self {
        case .fetch(let fetch): return .sorted(fetch.jsonMembers)
        case .phoneLine(let line):
            var entry: [String: JSON] = [:]
            for key in ["bytes", "cert_serial", "cert_sha256", "firmware", "method", "micros", "model", "path", "remote_addr", "serial"] {
                entry[key] = .null
            }
            entry.merge(["time": .string(utcTimestamp(line.at / 1_000_000)), "time_us": .int(line.at), "mac": .string(line.mac.hex),
                         "status": .null, "reason": .string("phone log only"), "form": .null, "sha256": .null, "node": .null,
                         "phone": .array([line.json])]) { $1 }
            return .sorted(entry)
        }
    }
}

extension PhoneLine {
    public var json: JSON {
        .sorted(["time": .string(utcTimestamp(at / 1_000_000)), "kind": .string(kind), "message": .string(message), "host": .text(host)])
    }
}

extension FetchRecord {
    /// A fetch's members (the caller sorts them into an object).
    public var jsonMembers: [String: JSON] {
        [
            "time": .string(utcTimestamp(at / 1_000_000)), "time_us": .int(at), "node": .string(node),
            "mac": .text(mac?.hex), "serial": .text(serial), "model": .text(model),
            "cert_sha256": .text(certificateSHA256), "cert_serial": .text(certificateSerial),
            "firmware": .text(firmware), "remote_addr": .text(remoteAddress), "method": .text(method),
            "path": .text(path), "form": .text(form), "status": .int(status), "reason": .string(reason),
            "sha256": .text(sha256), "bytes": .int(bytes), "micros": .int(microseconds),
            "phone": .array(phone.map(\.json)), "trusted": .bool(trusted),
        ]
    }
}

/// One device's drift as `provctl drift MAC --json` prints it: its latest report and the parameters that differ
/// (secret values masked).
public func driftJSON(_ mac: MACAddress, report: StoredReport, entries: [DriftEntry]) -> JSON {
    .sorted([
        "mac": .string(mac.hex),
        "report": .sorted(["time": .string(utcTimestamp(report.at / 1_000_000)), "node": .string(report.node), "name": .text(report.name),
                           "encoding": .string(report.encoding), "bytes": .int(report.receivedBytes),
                           "sha256": .string(report.sha256)]),
        "drift": .array(entries.map { entry in
            .sorted(["name": .string(entry.name), "state": .string(entry.state), "secret": .bool(entry.secret),
                     "scope": .string(entry.scope.description),
                     "expected": .string(entry.secret ? Secrets.mask : entry.shownExpected),
                     "reported": .text(entry.reported.map { entry.secret ? Secrets.mask : $0 })])
        }),
    ])
}

extension DriftEntry {
    /// The expected value as a table shows it: an empty one is a value the profile empties (`<X></X>`); what a
    /// profile leaves to the phone is no drift and never listed.
    public var shownExpected: String { expected.isEmpty ? "(empty)" : expected }
}
