public import Provisioning

// The JSON of the fleet-wide listings (claims, pending, history), as `provctl ... --json` prints them and the
// admin API answers them: one copy, so the two never differ.

extension ClaimEntry {
    /// One claim as `provctl claims --json` prints it, keys sorted.
    public var json: JSON {
        .sorted(["mac": .string(claim.mac.hex), "serial": .text(claim.serial), "model": .text(claim.model),
                 "remote_addr": .text(claim.remoteAddress), "user_agent": .text(claim.userAgent),
                 "first_seen": .string(utcTimestamp(claim.firstSeen)), "last_seen": .string(utcTimestamp(claim.lastSeen)),
                 "count": .int(claim.count), "device_with_serial": .text(deviceWithSerial?.hex), "expected": .text(expected)])
    }
}

extension PendingDevice {
    /// One pending device as `provctl pending --json` prints it, keys sorted.
    public var json: JSON {
        func micros(_ at: Int) -> String { utcTimestamp(at / 1_000_000) }
        // The keys in sorted order, written out: a pending listing can hold a million of these (no dictionary
        // to hash and sort per device).
        return .object([
            ("current_sha256", .text(currentSHA256)), ("group", .text(device.group)),
            ("last_contact", .text(lastContact.map(utcTimestamp))), ("last_served", .text(served.map { micros($0.at) })),
            ("mac", .string(device.mac.hex)), ("model", .text(device.model)), ("phone_said", .text(phoneSaid)),
            ("phone_said_at", .text(phoneSaidAt.map(micros))), ("problem", .text(problem)), ("refusal", .text(refusal)),
            ("report_drift", .number(drift)), ("served_sha256", .text(served?.sha256)),
            ("stale_after_s", .number(staleAfter)), ("states", .array(states.map(JSON.string))),
        ])
    }
}

extension ChangeSetSummary {
    /// One change set as `provctl history --json` prints it.
    public var json: JSON {
        .object([("id", .int(id)), ("at", .string(utcTimestamp(at))), ("who", .string(who)),
                 ("action", .string(actionSummary)), ("target", .text(targets > 1 ? nil : target)), ("targets", .int(targets)),
                 ("old", .text(oldValue)), ("new", .text(newValue)), ("revertible", .bool(revertible)),
                 ("entries", .int(entries)), ("actions", .array(actions.map(JSON.string)))])
    }
}

extension AuditEntry {
    /// One entry of change set `changeSet` as `provctl history --set ID --json` prints it.
    public func json(changeSet: Int) -> JSON {
        .object([("id", .int(id)), ("change_set", .int(changeSet)), ("at", .string(utcTimestamp(at))),
                 ("who", .string(who)), ("action", .string(action)), ("target", .text(target)),
                 ("old", .text(oldValue)), ("new", .text(newValue)), ("revertible", .bool(revertible))])
    }
}

/// One page of a listing walked in key order: its items and the key to continue after (nil on the last page).
public struct ListingPage<Key: Sendable>: Sendable {
    public var items: [JSON]
    public var nextAfter: Key?

    public init(items: [JSON], nextAfter: Key?) {
        self.items = items
        self.nextAfter = nextAfter
    }
}

extension PendingScan {
    /// At most `limit` pending devices with a MAC after `after` (12 lowercase hex digits, or empty for the first),
    /// in MAC order, and the MAC to continue after when there may be more. Memory holds one page and one batch,
    /// whatever the fleet's size; a page walks the devices only until it is full.
    public func page(after: String, limit: Int, now: Int = Clock.unixSeconds()) throws -> ListingPage<String> {
        var scan = self
        scan.after = after
        scan.limit = limit + 1
        var items: [JSON] = []
        var last: String?
        let found = try scan.run(now: now) { entry in
            guard items.count < limit else { return }
            items.append(entry.json)
            last = entry.device.mac.hex
        }
        // One more than the page was found: there is a next page.
        return ListingPage(items: items, nextAfter: found > limit ? last : nil)
    }
}

extension ListingPage where Key == String {
    /// `{"items": [...], "next_after": "..." | null}`.
    public var json: JSON { .object([("items", .array(items)), ("next_after", .text(nextAfter))]) }
}

extension ListingPage where Key == Int {
    /// `{"items": [...], "next_after": 123 | null}`.
    public var json: JSON { .object([("items", .array(items)), ("next_after", .number(nextAfter))]) }
}
