public import Provisioning

/// What a firmware campaign is asked to do (issue 25 point 1): the devices (a selection, usually a model), the
/// `Upgrade_Rule` to give them, the firmware their User-Agent must then show, a canary set, the waves (cumulative
/// percentages of the rest, by a stable hash of the MAC), and the window and thresholds each wave is judged by.
public struct CampaignSpec: Sendable, Equatable {
    public var selection: CampaignSelection
    public var upgradeRule: String
    /// The firmware a proven fetch's User-Agent must show (`sip88xx.14-3-1MPP0101-23`), compared exactly.
    public var firmware: String
    public var canaryMACs: [MACAddress]
    public var canaryGroup: String?
    /// Cumulative percentages, strictly increasing, the last 100 (`10,50,100`).
    public var waves: [Int]
    /// Seconds a wave's device has, from the wave's start, to show the target firmware in a proven fetch.
    public var window: Int
    /// Percent of a wave's devices that must succeed before the next wave starts.
    public var successThreshold: Int
    /// Percent of a wave's devices whose failure halts the campaign (more than this many).
    public var failureThreshold: Int
    /// Phones per second of the paced push (and of the rollback's).
    public var rate: Int
    /// The NOTIFY's event: `resync` or `check-sync`.
    public var event: String

    public static let defaultWaves = [10, 50, 100]
    public static let maxWaves = 10

    public init(selection: CampaignSelection, upgradeRule: String, firmware: String, canaryMACs: [MACAddress] = [],
                canaryGroup: String? = nil, waves: [Int] = CampaignSpec.defaultWaves, window: Int = 3600,
                successThreshold: Int = 90, failureThreshold: Int = 10, rate: Int = 10, event: String = "resync") {
        self.selection = selection
        self.upgradeRule = upgradeRule
        self.firmware = firmware
        self.canaryMACs = canaryMACs
        self.canaryGroup = canaryGroup
        self.waves = waves
        self.window = window
        self.successThreshold = successThreshold
        self.failureThreshold = failureThreshold
        self.rate = rate
        self.event = event
    }

    /// Checks what needs no database: each failure names its field and rule.
    public func validate(session: AdminSession) throws {
        if firmware.isEmpty || firmware.utf8.count > 128 || firmware.contains(where: { $0.isWhitespace || $0.isNewline }) {
            throw AdminError(.usage, "firmware: \"\(firmware)\" must be the firmware a User-Agent shows (1..128 characters, no spaces)",
                             field: "firmware", rule: "firmware_version")
        }
        do {
            _ = try session.checkedSetting(name: "Upgrade_Rule", value: upgradeRule)
        } catch {
            throw AdminError(.usage, "upgrade_rule: \(error.message)", field: "upgrade_rule", rule: error.rule ?? "upgrade rule syntax")
        }
        if upgradeRule.isEmpty {
            throw AdminError(.usage, "upgrade_rule: empty; give the rule the phones upgrade from", field: "upgrade_rule", rule: "not_empty")
        }
        try CampaignSpec.checkWaves(waves)
        guard (1...604_800).contains(window) else {
            throw AdminError(.usage, "window: \(window) must be 1..604800 seconds", field: "window", rule: "1..604800")
        }
        guard (0...100).contains(successThreshold) else {
            throw AdminError(.usage, "success_threshold: \(successThreshold) must be 0..100 (percent)", field: "success_threshold", rule: "0..100")
        }
        guard (0...100).contains(failureThreshold) else {
            throw AdminError(.usage, "failure_threshold: \(failureThreshold) must be 0..100 (percent)", field: "failure_threshold", rule: "0..100")
        }
        guard (1...100).contains(rate) else {
            throw AdminError(.usage, "rate: \(rate) must be 1..100 devices per second", field: "rate", rule: "1..100")
        }
        guard ["resync", "check-sync"].contains(event) else {
            throw AdminError(.usage, "event: \"\(event)\" must be resync or check-sync", field: "event", rule: "resync or check-sync")
        }
        if canaryGroup != nil && !canaryMACs.isEmpty {
            throw AdminError(.usage, "canary: name devices (macs) or a group, not both", field: "canary", rule: "macs or group")
        }
    }

    /// Waves: 1 to 10 cumulative percentages, each 1..100, strictly increasing, the last 100.
    public static func checkWaves(_ waves: [Int]) throws(AdminError) {
        let text = waves.map(String.init).joined(separator: ",")
        guard !waves.isEmpty, waves.count <= maxWaves, waves.allSatisfy({ (1...100).contains($0) }),
              zip(waves, waves.dropFirst()).allSatisfy({ $0 < $1 }), waves.last == 100 else {
            throw AdminError(.usage, "waves: \"\(text)\" must be 1 to \(maxWaves) cumulative percentages, increasing, ending at 100 (e.g. 10,50,100)",
                             field: "waves", rule: "increasing percentages ending at 100")
        }
    }

    /// The spec as `jobs.db` keeps it (`name=value`, one a line; values hold no newline).
    public var options: [(String, String)] {
        var values: [(String, String)] = [
            ("upgrade_rule", upgradeRule), ("firmware", firmware), ("waves", waves.map(String.init).joined(separator: ",")),
            ("window", String(window)), ("success_threshold", String(successThreshold)),
            ("failure_threshold", String(failureThreshold)), ("rate", String(rate)), ("event", event),
        ]
        if !canaryMACs.isEmpty { values.append(("canary_macs", canaryMACs.map(\.hex).joined(separator: ","))) }
        if let canaryGroup { values.append(("canary_group", canaryGroup)) }
        values += selection.options
        return values
    }

    /// The spec back from `options`.
    public init(options: [String: String]) {
        self.init(selection: CampaignSelection(options: options), upgradeRule: options["upgrade_rule"] ?? "",
                  firmware: options["firmware"] ?? "",
                  canaryMACs: (options["canary_macs"] ?? "").split(separator: ",").compactMap { MACAddress($0) },
                  canaryGroup: options["canary_group"],
                  waves: (options["waves"] ?? "100").split(separator: ",").compactMap { Int($0) },
                  window: options["window"].flatMap(Int.init) ?? 3600,
                  successThreshold: options["success_threshold"].flatMap(Int.init) ?? 90,
                  failureThreshold: options["failure_threshold"].flatMap(Int.init) ?? 10,
                  rate: options["rate"].flatMap(Int.init) ?? 10, event: options["event"] ?? "resync")
    }

    /// The options as the API and `provctl campaign status --json` print them.
    public var json: JSON {
        .object([
            ("upgrade_rule", .string(Secrets.maskRule(upgradeRule))), ("firmware", .string(firmware)),
            ("selection", selection.json),
            ("canary", .object([("macs", .array(canaryMACs.map { .string($0.hex) })), ("group", .text(canaryGroup))])),
            ("waves", .array(waves.map(JSON.int))), ("window", .int(window)),
            ("success_threshold", .int(successThreshold)), ("failure_threshold", .int(failureThreshold)),
            ("rate", .int(rate)), ("event", .string(event)),
        ])
    }
}

/// The devices a campaign covers (`Selection` of the API, without `state`: pending states change as the campaign
/// runs; the devices are fixed when it starts).
public struct CampaignSelection: Sendable, Equatable {
    public var macs: [MACAddress]?
    public var group: String?
    public var model: String?
    public var firmware: String?
    public var all: Bool

    public init(macs: [MACAddress]? = nil, group: String? = nil, model: String? = nil, firmware: String? = nil, all: Bool = false) {
        self.macs = macs
        self.group = group
        self.model = model
        self.firmware = firmware
        self.all = all
    }

    var options: [(String, String)] {
        var values: [(String, String)] = []
        if let macs { values.append(("selection_macs", macs.map(\.hex).joined(separator: ","))) }
        if let group { values.append(("selection_group", group)) }
        if let model { values.append(("selection_model", model)) }
        if let firmware { values.append(("selection_firmware", firmware)) }
        if all { values.append(("selection_all", "true")) }
        return values
    }

    init(options: [String: String]) {
        self.init(macs: options["selection_macs"].map { $0.split(separator: ",").compactMap { MACAddress($0) } },
                  group: options["selection_group"], model: options["selection_model"], firmware: options["selection_firmware"],
                  all: options["selection_all"] == "true")
    }

    var json: JSON {
        var members: [(String, JSON)] = []
        if let macs { members.append(("macs", .array(macs.map { .string($0.hex) }))) }
        if let group { members.append(("group", .string(group))) }
        if let model { members.append(("model", .string(model))) }
        if let firmware { members.append(("firmware", .string(firmware))) }
        if all { members.append(("all", .bool(true))) }
        return .object(members)
    }

    /// The engine's selection (enabled devices only: a disabled phone gets no profile, so it cannot upgrade).
    public var deviceSelection: DeviceSelection {
        DeviceSelection(macs: macs, group: group, model: model, state: "enabled", firmware: firmware, all: all)
    }
}

/// Splits a campaign's devices into waves: the canary first (wave 0, when there is one), then the rest by a stable
/// hash of the MAC: a device whose bucket (0..9999) is below `percent * 100` belongs to the first wave whose
/// cumulative percentage reaches it. The hash is FNV-1a (64 bits) of the MAC's 12 lower-case hex digits, so a
/// device lands in the same wave in every campaign with the same percentages, on every machine and version.
public enum WavePlanner {
    public struct Wave: Sendable, Equatable {
        /// `canary`, `wave 1`, `wave 2`, ...
        public var name: String
        /// The cumulative percentage (nil for the canary).
        public var percent: Int?
        public var macs: [MACAddress]
    }

    /// The device's bucket, 0..9999.
    public static func bucket(_ mac: MACAddress) -> Int {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in mac.hex.utf8 {
            hash ^= UInt64(byte)
            hash = hash &* 0x0000_0100_0000_01B3
        }
        return Int(hash % 10_000)
    }

    /// The waves of `devices` (each MAC once; order kept within a wave); `canary` devices go first whatever their
    /// bucket. Waves with no device are kept (they pass at once), so wave numbers match the percentages given.
    public static func plan(_ devices: [MACAddress], canary: [MACAddress], percents: [Int]) -> [Wave] {
        var seen = Set<MACAddress>()
        let canarySet = Set(canary)
        var waves: [Wave] = []
        if !canary.isEmpty {
            waves.append(Wave(name: "canary", percent: nil, macs: canary.filter { seen.insert($0).inserted }))
        }
        var rest: [[MACAddress]] = Array(repeating: [], count: percents.count)
        for mac in devices where !canarySet.contains(mac) && seen.insert(mac).inserted {
            let bucket = bucket(mac)
            let index = percents.firstIndex { bucket < $0 * 100 } ?? (percents.count - 1)
            rest[index].append(mac)
        }
        for (index, percent) in percents.enumerated() {
            waves.append(Wave(name: "wave \(index + 1)", percent: percent, macs: rest[index]))
        }
        return waves
    }
}

/// A campaign's states and what an admin may ask in each (the state machine `provctl campaign` and the API share).
public enum CampaignState: String, Sendable, CaseIterable {
    /// Waves are pushed and judged.
    case running
    /// An admin paused it: nothing new is pushed, no wave starts, the current wave's window stands still.
    case paused
    /// It stopped itself: a wave's failures passed the failure threshold, or too few succeeded.
    case halted
    /// Every wave passed.
    case done
    /// An admin stopped it; the rules already given stay.
    case aborted
    /// An admin rolled it back: its change sets reverted and the devices pushed again.
    case rolledBack = "rolled_back"

    /// A campaign in this state changes no more (unless rolled back).
    public var isFinal: Bool { self == .done || self == .aborted || self == .rolledBack }

    /// What an admin asks.
    public enum Action: String, Sendable, CaseIterable { case pause, resume, abort, rollback }

    /// The states each action applies to, and the state it leads to.
    static let transitions: [Action: (from: [CampaignState], to: CampaignState)] = [
        .pause: ([.running], .paused),
        .resume: ([.paused, .halted], .running),
        .abort: ([.running, .paused, .halted], .aborted),
        .rollback: ([.running, .paused, .halted, .done, .aborted], .rolledBack),
    ]

    /// The state `action` leads to from this one, or `.conflict` naming the rule.
    public func after(_ action: Action) throws(AdminError) -> CampaignState {
        let transition = Self.transitions[action]!
        guard transition.from.contains(self) else {
            let allowed = transition.from.map(\.rawValue)
            throw AdminError(.conflict, "campaign is \(rawValue): \(action.rawValue) applies only to a campaign that is "
                             + allowed.joined(separator: ", "), field: "state", rule: "\(action.rawValue): " + allowed.joined(separator: "|"))
        }
        return transition.to
    }
}

/// How a wave stands, and what comes of it.
public struct WaveCounts: Sendable, Equatable {
    public var devices: Int
    public var succeeded: Int
    public var failed: Int
    public var waiting: Int { devices - succeeded - failed }

    public init(devices: Int, succeeded: Int, failed: Int) {
        self.devices = devices
        self.succeeded = succeeded
        self.failed = failed
    }

    public enum Verdict: Sendable, Equatable {
        /// Devices still have time.
        case wait
        /// The wave passed: the next may start.
        case pass
        /// The campaign halts, for this reason.
        case halt(String)
    }

    /// The verdict under the thresholds (percent): failures above `failureThreshold` percent halt at once; when no
    /// device waits any more, at least `successThreshold` percent must have succeeded.
    public func verdict(successThreshold: Int, failureThreshold: Int) -> Verdict {
        guard devices > 0 else { return .pass }
        if failed * 100 > failureThreshold * devices {
            return .halt("\(failed) of \(devices) device(s) failed, more than the failure threshold of \(failureThreshold)%")
        }
        guard waiting == 0 else { return .wait }
        if succeeded * 100 >= successThreshold * devices { return .pass }
        return .halt("\(succeeded) of \(devices) device(s) succeeded, under the success threshold of \(successThreshold)%")
    }
}

/// One device's outcome in its wave, judged from the journals since the wave started.
public enum DeviceVerdict: Sendable, Equatable {
    case waiting
    case succeeded(String)
    case failed(String)

    /// `fetches`: the firmware of each proven fetch since the wave started, oldest first; `upgradeLines`: the
    /// phone's upgrade syslog lines since then (kind `upgrade_request|upgrade_success|upgrade_failure`, message),
    /// oldest first; `expired`: the wave's window is over.
    public static func judge(target: String, fetches: [(at: Int, firmware: String?)], upgradeLines: [(kind: String, message: String)],
                             expired: Bool, window: Int) -> DeviceVerdict {
        let lastUpgrade = upgradeLines.last { $0.kind == "upgrade_success" || $0.kind == "upgrade_failure" }
        if let lastUpgrade, lastUpgrade.kind == "upgrade_failure" {
            return .failed("the phone logged an upgrade failure: \(lastUpgrade.message)")
        }
        if fetches.contains(where: { $0.firmware == target }) {
            return .succeeded("a proven fetch shows \(target)" + (lastUpgrade != nil ? " (its syslog reported the upgrade)" : ""))
        }
        guard expired else { return .waiting }
        if let last = fetches.last {
            return .failed("no proven fetch with \(target) within \(window) s (the last shows \(last.firmware ?? "no firmware"))")
        }
        return .failed("no proven contact within \(window) s")
    }
}
