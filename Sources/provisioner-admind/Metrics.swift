import Foundation
import Hummingbird
import NIOPosix
import Prometheus
import Provisioning
import ProvisioningAdmin

/// `/metrics`: the fleet in Prometheus's exposition format (issue 25), written by swift-prometheus. Read at each
/// scrape from the configuration and the journals (`FleetFigures`); the pending scan walks every device (from the
/// stored hashes; it renders those without one), so its figures are refreshed at most once a minute. No label
/// holds a MAC, an address or a user (FleetFigures says how each label value is bounded).
actor FleetMetrics {
    let store: AdminStore
    let jobs: JobStore
    let registry = PrometheusCollectorRegistry()
    private var cursors: FleetFigures.Cursors = [:]
    private var fetchCounters: [FleetFigures.FetchLabels: Counter] = [:]
    private var gauges: [String: Gauge] = [:]
    private var pendingAt: ContinuousClock.Instant?
    static let pendingEvery: Duration = .seconds(60)

    /// Campaign series (`provisioner_campaign_*`): removed when their campaign is no longer shown.
    private var campaignGauges: [String: Gauge] = [:]

    init(store: AdminStore, jobs: JobStore) {
        self.store = store
        self.jobs = jobs
    }

    static let fetchHelp = "Profile fetches and reports recorded in the journals since the daemon started reading them (every retained row at start)."

    func exposition() async throws -> [UInt8] {
        let cursors = self.cursors
        let refreshPending = pendingAt.map { $0.duration(to: .now) >= FleetMetrics.pendingEvery } ?? true
        let figures = try await store.read { editor in
            try Figures(editor, cursors: cursors, pending: refreshPending)
        }
        self.cursors = figures.cursors
        for (labels, count) in figures.fetches {
            let counter = fetchCounters[labels] ?? registry.makeCounter(
                name: "provisioner_fetches_total",
                labels: [("node", labels.node), ("status", labels.status), ("reason", labels.reason), ("form", labels.form),
                         ("model", labels.model), ("firmware", labels.firmware)],
                help: FleetMetrics.fetchHelp)
            fetchCounters[labels] = counter
            counter.increment(by: Int64(count))
        }
        // Gauges: a label set seen before and absent now reads 0.
        var current: [String: (name: String, labels: [(String, String)], help: String, value: Double)] = [:]
        func gauge(_ name: String, _ labels: [(String, String)], _ help: String, _ value: Double) {
            let key = name + "|" + labels.map { $0.0 + "=" + $0.1 }.joined(separator: ",")
            current[key] = (name, labels, help, value)
        }
        for row in figures.devices {
            gauge("provisioner_devices", [("model", row.model), ("enabled", row.enabled ? "true" : "false")],
                  "Devices in the configuration, by model and whether they are enabled.", Double(row.count))
        }
        gauge("provisioner_claims", [], "Unknown phones that asked for a profile and wait in claims (provctl claims).",
              Double(figures.claims))
        for row in figures.lost {
            gauge("provisioner_journal_lost_records", [("node", row.node), ("what", row.what)],
                  "Journal records a node could not write (provctl lost), by node and kind; it only grows.", Double(row.count))
        }
        let now = Double(Clock.unixSeconds())
        for row in figures.newest {
            gauge("provisioner_node_record_age_seconds", [("node", row.node)],
                  "Seconds since the newest journal record the admin node holds of each node (a read node's is shipped home; a node that stopped serving or shipping grows).",
                  max(0, now - Double(row.at) / 1_000_000))
        }
        if let pending = figures.pending {
            pendingAt = .now
            for (state, count) in pending.sorted(by: { $0.key < $1.key }) {
                gauge("provisioner_pending_devices", [("state", state)],
                      "Enabled devices whose phone does not hold what it should, by state (provctl pending; refreshed at most once a minute).",
                      Double(count))
            }
        }
        // Jobs and campaigns (jobs.db).
        let jobs = jobs
        let (jobCounts, campaigns) = try await NIOThreadPool.singleton.runIfActive {
            (try CampaignFigures.jobs(in: jobs), try CampaignFigures.campaigns(in: jobs))
        }
        for row in jobCounts {
            gauge("provisioner_jobs", [("kind", row.kind), ("state", row.state)],
                  "Jobs of the admin daemon (jobs.db) by kind and state.", Double(row.count))
        }
        exposeCampaigns(campaigns)
        for (key, entry) in current {
            let made = gauges[key] ?? registry.makeGauge(name: entry.name, labels: entry.labels, help: entry.help)
            gauges[key] = made
            made.set(to: entry.value)
        }
        for (key, gauge) in gauges where current[key] == nil && !key.hasPrefix("provisioner_pending_devices|") {
            gauge.set(to: 0.0)
        }
        return registry.emitToBuffer()
    }

    static let campaignStateHelp = "Firmware campaigns shown (those not ended, and the 5 newest that ended): 1 for the state each is in."
    static let campaignDevicesHelp = "Devices of each shown campaign by wave (canary, 1..10) and outcome (succeeded, failed, waiting, not_started)."

    /// The campaigns' series: its state (one series per state, 1 for the current) and its devices by wave and
    /// outcome. A campaign no longer shown loses its series (its id label stays bounded).
    private func exposeCampaigns(_ campaigns: [CampaignRecord]) {
        var seen: Set<String> = []
        func set(_ name: String, _ labels: [(String, String)], _ help: String, _ value: Double) {
            let key = name + "|" + labels.map { $0.0 + "=" + $0.1 }.joined(separator: ",")
            let made = campaignGauges[key] ?? registry.makeGauge(name: name, labels: labels, help: help)
            campaignGauges[key] = made
            made.set(to: value)
            seen.insert(key)
        }
        for campaign in campaigns {
            let id = String(campaign.id)
            for state in CampaignState.allCases {
                set("provisioner_campaign_state", [("campaign", id), ("state", state.rawValue)], FleetMetrics.campaignStateHelp,
                    state == campaign.state ? 1 : 0)
            }
            for wave in campaign.waves {
                let counts = wave.counts
                let waiting = wave.state == "waiting" ? 0 : counts.waiting
                let notStarted = wave.state == "waiting" ? counts.devices : 0
                for (outcome, value) in [("succeeded", counts.succeeded), ("failed", counts.failed), ("waiting", waiting),
                                         ("not_started", notStarted)] {
                    set("provisioner_campaign_devices", [("campaign", id), ("wave", CampaignFigures.waveLabel(wave)), ("outcome", outcome)],
                        FleetMetrics.campaignDevicesHelp, Double(value))
                }
            }
        }
        for (key, gauge) in campaignGauges where !seen.contains(key) {
            registry.unregisterGauge(gauge)
            campaignGauges[key] = nil
        }
    }

    /// One scrape's reads, made on the blocking pool.
    struct Figures: Sendable {
        var fetches: [FleetFigures.FetchLabels: Int]
        var cursors: FleetFigures.Cursors
        var devices: [(model: String, enabled: Bool, count: Int)]
        var claims: Int
        var lost: [LostRecordRow]
        var newest: [(node: String, at: Int)]
        var pending: [String: Int]?

        init(_ editor: ConfigurationEditor, cursors: FleetFigures.Cursors, pending: Bool) throws {
            (fetches, self.cursors) = try FleetFigures.fetchesSince(cursors, in: editor)
            devices = try FleetFigures.devices(in: editor)
            claims = try FleetFigures.claims(in: editor)
            lost = editor.lostRecords()
            newest = try FleetFigures.newestRecord(in: editor)
            self.pending = pending ? try FleetFigures.pendingByState(in: editor) : nil
        }
    }
}
