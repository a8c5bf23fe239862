public import Provisioning

/// The admin side of zero-touch onboarding: a phone served on its first contact from an expected entry or an
/// adoption rule (profile-cgi journals that fetch as `onboarding`, with a claim carrying its certificate's serial
/// and product, since serving never writes the configuration) becomes a device here.
///
/// Where it runs: the admin daemon every few seconds (the one admin process that always runs, on the node every
/// journal is shipped to), and `provctl expect promote` / `expect list` / `claims` (what an admin without the
/// daemon runs when looking), so a fleet converges either way. Until then serving keeps answering the phone from
/// the entry, the same bytes, so nothing waits for it.
public enum Onboarding {
    /// One phone made a device.
    public struct Promoted: Sendable {
        public var mac: MACAddress
        /// The entry or rule it matched (`mac:…`, `serial:…`, `rule:…`).
        public var key: String
        public var changeSet: Int?

        public var json: JSON {
            .object([("mac", .string(mac.hex)), ("expected", .string(key)), ("change_set", .number(changeSet))])
        }
    }

    /// Promotes every claim (a proven certificate of no device) whose MAC the journals show served as
    /// `onboarding` and which still matches an entry or a rule: the device is added with the entry's model, group
    /// and variables and the certificate's serial, one change set each with the history entry `onboarding`; the
    /// entry (not a rule) is removed and the claim settled. Returns what it promoted.
    @discardableResult
    public static func promote(store: ConfigurationEditor, session: AdminSession) throws -> [Promoted] {
        guard store.store.hasExpectedDevices else { return [] }
        var promoted: [Promoted] = []
        let served = try store.database.prepare("SELECT 1 FROM fetches WHERE mac = ?1 AND reason = ?2 AND status = 200 LIMIT 1")
        for claim in try store.journal.claims() {
            served.reset()
            try served.bind([.text(claim.mac.hex), .text(ProfileService.onboardingReason)])
            guard try served.step() else { continue }
            let match = try store.store.expectedMatch(mac: claim.mac, serial: claim.serial, product: claim.model)
            guard let entry = match.served else { continue }
            let device = entry.device(mac: claim.mac, serial: claim.serial, product: claim.model)
            let secretNames = try secretVariableNames(store)
            let engine = ChangeEngine(store: store, session: session, mode: ChangeMode())
            let outcome: ChangeOutcome
            do {
                outcome = try engine.run(reach: { .some([claim.mac]) }) { audit in
                    guard try store.device(mac: claim.mac) == nil else { return }
                    try store.insert(device)
                    var shown: [(name: String, value: String)] = []
                    entry.forEachVariable { name, value in
                        shown.append((name, session.disclosure.shown(variable: name, value: value, secretNames: secretNames)))
                    }
                    for (name, value) in entry.pairs {
                        try store.set(Variable(scope: .device(claim.mac), name: name, value: value))
                    }
                    if !entry.isRule {
                        let delete = try store.database.prepare(ExpectedDevices.deleteSQL)
                        try delete.bind(1, entry.key)
                        try delete.step()
                    }
                    try store.journal.settlesClaim(mac: claim.mac)
                    try audit.record("onboarding", target: claim.mac.hex, old: "expected \(entry.key)",
                                     new: describe(device) + (shown.isEmpty ? "" : " variables=" + VariablesCell.format(shown)))
                }
            } catch let error as AdminError where error.kind == .breaks || error.kind == .refused || error.kind == .conflict {
                // One phone that cannot be made a device (its profile would not render, a rule is broken) does
                // not hold up the others: it keeps being served from its entry, and the admin is told.
                session.warn("onboarding \(claim.mac): \(error.message)")
                continue
            }
            if case .written(_, let changeSet) = outcome {
                promoted.append(Promoted(mac: claim.mac, key: entry.key, changeSet: changeSet))
            }
        }
        return promoted
    }

    /// Why a claim was not served (`ExpectedMatch.mismatch`), `onboarding` when it was and waits for promotion,
    /// or nil when nothing expects it: `provctl claims` and `/api/v1/claims` show it as `expected`.
    public static func note(for claim: Claim, in store: ConfigurationEditor) throws(SQLiteError) -> String? {
        switch try store.store.expectedMatch(mac: claim.mac, serial: claim.serial, product: claim.model) {
        case .mismatch(let why): why
        case .entry, .rule: ProfileService.onboardingReason
        case .none: nil
        }
    }
}

extension ExpectedEntry {
    /// The variables as pairs, in their order.
    var pairs: [(String, String)] {
        var pairs: [(String, String)] = []
        forEachVariable { pairs.append(($0, $1)) }
        return pairs
    }
}
