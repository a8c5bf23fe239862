import Foundation
public import Provisioning

/// How long to wait before the next attempt after a failure: `first`, doubled after each consecutive failure up to
/// `limit`; `maxFailures` consecutive failures (0: never) end the service with a failure, for systemd to restart.
public struct BackOff: Sendable {
    public var first: Double
    public var limit: Double
    public var maxFailures: Int
    public private(set) var failures = 0

    public init(first: Double, limit: Double, maxFailures: Int) {
        self.first = first
        self.limit = max(first, limit)
        self.maxFailures = maxFailures
    }

    /// Counts a failure; the wait before the next attempt, or nil when the service should give up.
    public mutating func failed() -> Double? {
        failures += 1
        if maxFailures > 0 && failures >= maxFailures { return nil }
        return min(limit, first * pow(2, Double(min(failures - 1, 30))))
    }

    public mutating func succeeded() { failures = 0 }
}

/// What a node service needs of its process: its log, its stop request, its wait. provctl gives its signal flag
/// and standard output; a test or another host gives its own.
public struct NodeServiceHost {
    /// One log line (never a secret: paths, counts, SQLite's error text).
    public var log: (String) -> Void
    public var stopRequested: () -> Bool
    /// Waits the seconds, or less when a stop is requested.
    public var pause: (Double) -> Void

    public init(log: @escaping (String) -> Void, stopRequested: @escaping () -> Bool, pause: @escaping (Double) -> Void) {
        self.log = log
        self.stopRequested = stopRequested
        self.pause = pause
    }
}

/// `provctl node journal-shipper`: copies the node's journal into the shipping copy Litestream replicates, a
/// pass every `interval` seconds (`JournalShipper.shipOnce`), with back-off after failures and a summary line every
/// `reportEvery` seconds; a last pass at the stop.
public struct JournalShippingService {
    public var journal: String
    public var ship: String
    public var interval: Double
    public var reportEvery: Double
    /// One pass, then return.
    public var once: Bool
    public var backoffMax: Double
    public var maxFailures: Int

    public init(journal: String, ship: String, interval: Double = 0.5, reportEvery: Double = 60, once: Bool = false,
                backoffMax: Double = 30, maxFailures: Int = 0) {
        self.journal = journal
        self.ship = ship
        self.interval = interval
        self.reportEvery = reportEvery
        self.once = once
        self.backoffMax = backoffMax
        self.maxFailures = maxFailures
    }

    /// How the service ended.
    public enum End: Sendable, Equatable {
        /// Stopped on request, or `once` done.
        case stopped
        /// `maxFailures` passes failed in a row (with `once`: the one pass failed).
        case gaveUp
    }

    /// Runs until a stop is requested (or the one pass with `once`). Throws only when the journal's definition
    /// cannot be read.
    public func run(_ host: NodeServiceHost) throws(AdminError) -> End {
        let say = host.log
        let definition: JournalDefinition
        do {
            definition = try JournalDefinition.current()
        } catch {
            throw AdminError(.runtime, "journal definition: \(error)", underlying: error)
        }
        var backOff = BackOff(first: interval, limit: backoffMax, maxFailures: once ? 1 : maxFailures)
        var shipper: JournalShipper? = nil
        var waiting = false
        var missing: [String] = []
        var shipped: [String: Int] = [:]
        var lastReport = Date()
        say("shipping \(journal) into \(ship) every \(interval) s (\(definition.tables.count) tables from the journal's definition)")
        while !host.stopRequested() {
            var info = stat()
            guard stat(journal, &info) == 0 else {
                if once {
                    say("no journal at \(journal) yet: nothing to ship")
                    return .stopped
                }
                if !waiting { say("no journal at \(journal) yet (no phone has called): waiting") }
                waiting = true
                host.pause(interval)
                continue
            }
            waiting = false
            do {
                if shipper == nil {
                    try FileManager.default.createDirectory(atPath: FilePath.directory(of: ship), withIntermediateDirectories: true)
                    shipper = try JournalShipper(journal: journal, ship: ship, definition: definition)
                }
                let count = try shipper!.shipOnce()
                backOff.succeeded()
                if !count.addedColumns.isEmpty { say("\(ship): added column(s) \(count.addedColumns.joined(separator: ", "))") }
                if count.missingTables != missing {
                    missing = count.missingTables
                    if !missing.isEmpty { say("the journal has no \(missing.joined(separator: ", ")) yet (an older journal): left for later") }
                }
                for (table, rows) in count.rows where rows > 0 { shipped[table, default: 0] += rows }
                if once || (!shipped.isEmpty && -lastReport.timeIntervalSinceNow >= reportEvery) {
                    let total = shipped.values.reduce(0, +)
                    let detail = shipped.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")
                    say("shipped \(total) row(s)" + (once ? "" : String(format: " in %.0f s", -lastReport.timeIntervalSinceNow))
                        + (detail.isEmpty ? "" : " (\(detail))"))
                    shipped = [:]
                    lastReport = Date()
                }
                if once { return .stopped }
            } catch {
                // A connection that failed may hold a broken state: the next attempt opens a new one.
                shipper = nil
                guard let wait = backOff.failed() else {
                    say("pass failed: \(error); giving up after \(backOff.failures) failure(s) in a row")
                    return .gaveUp
                }
                say("pass failed: \(error); trying again in " + String(format: "%.1f s", wait))
                host.pause(wait)
                continue
            }
            host.pause(interval)
        }
        // A last pass, so that the rows written up to the stop are in the copy Litestream sends.
        var info = stat()
        if let shipper, stat(journal, &info) == 0 {
            do {
                let count = try shipper.shipOnce()
                for (table, rows) in count.rows where rows > 0 { shipped[table, default: 0] += rows }
            } catch {
                say("last pass failed: \(error)")
            }
        }
        let total = shipped.values.reduce(0, +)
        say("stopped" + (total > 0 ? " (\(total) row(s) shipped since the last report)" : ""))
        return .stopped
    }
}
