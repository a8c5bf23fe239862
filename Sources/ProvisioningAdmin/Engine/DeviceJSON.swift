#if canImport(Glibc)
import Glibc
#endif
public import Provisioning

extension JSON {
    /// An object with its members in key order (the order every listing of provctl has always printed).
    public static func sorted(_ members: [String: JSON]) -> JSON {
        .object(members.keys.sorted().map { ($0, members[$0]!) })
    }

    /// A device's fields as JSON members: secrets as `disclosure` shows them, the seen record's times in UTC.
    public static func deviceMembers(_ device: Device, seen: SeenRecord?, disclosure: Disclosure) -> [String: JSON] {
        var members: [String: JSON] = [
            "mac": .string(device.mac.hex), "serial": .text(device.serial), "model": .text(device.model),
            "group": .text(device.group), "enabled": .bool(device.enabled), "gzip": .bool(device.gzip),
            "encryption": .string(device.encryption.name),
        ]
        switch device.encryption {
        case .none:
            members["key"] = .null
            members["kdf"] = .null
        case .aes256cbc(let key, let digest):
            members["key"] = .text(disclosure.shown(key: key))
            members["kdf"] = .string(digest.rawValue)
        case .aes128gcm(let key):
            members["key"] = .text(disclosure.shown(key: key.ikm))
            members["kdf"] = .null
            members["key_id"] = .string(key.keyID)
            members["record_size"] = .int(key.recordSize)
        }
        members["account"] = device.account.map { account in
            .sorted(["user": .string(account.user), "realm": .string(account.realm), "ha1": .text(disclosure.shown(key: account.ha1))])
        } ?? .null
        members["bootstrap"] = .string(device.bootstrap.rawValue)
        members["seen"] = seen.map { seen in
            .sorted(["first": .string(utcTimestamp(seen.firstSeen)), "last": .string(utcTimestamp(seen.lastSeen)),
                     "count": .int(seen.count), "remote_addr": .text(seen.remoteAddress), "firmware": .text(seen.firmware)])
        } ?? .null
        return members
    }
}

/// Unix seconds as `2026-11-27T21:53:13Z`.
public func utcTimestamp(_ seconds: Int) -> String {
    var time = time_t(seconds)
    var parts = tm()
    gmtime_r(&time, &parts)
    func digits(_ value: Int32, _ width: Int) -> String {
        let text = String(value)
        return String(repeating: "0", count: max(0, width - text.count)) + text
    }
    return digits(parts.tm_year + 1900, 4) + "-" + digits(parts.tm_mon + 1, 2) + "-" + digits(parts.tm_mday, 2) + "T"
        + digits(parts.tm_hour, 2) + ":" + digits(parts.tm_min, 2) + ":" + digits(parts.tm_sec, 2) + "Z"
}
