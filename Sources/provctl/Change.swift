import ArgumentParser
import Foundation
import Provisioning
import ProvisioningAdmin

/// `--dry-run`, for every command that changes the database.
struct DryRunOption: ParsableArguments {
    @Flag(help: "List the devices whose profile would change, with a diff of the rendered XML; write nothing.")
    var dryRun = false
}

/// The devices a change can alter: every device, or some.
enum Reach {
    case every
    case some(Set<MACAddress>)

    static func scope(_ scope: Scope, in store: DeviceStore) throws -> Reach {
        try store.macs(reachedBy: scope).map { .some(Set($0)) } ?? .every
    }

    func union(_ other: Reach) -> Reach {
        switch (self, other) {
        case (.some(let a), .some(let b)): .some(a.union(b))
        default: .every
        }
    }
}

/// Writes audit rows inside a change's transaction. Values must be masked already.
struct AuditRecorder {
    let store: DeviceStore
    let who = currentUser()
    let now = DeviceStore.now()

    func record(_ action: String, target: String?, old: String?, new: String?) throws {
        try store.audit(who: who, action: action, target: target, old: old, new: new, now: now)
    }
}

/// Runs one change: in a transaction with its audit rows, or, with `--dry-run`, inside a transaction that is
/// rolled back after the reached devices were rendered before and after.
struct ChangeRunner {
    let store: DeviceStore
    let output: OutputOptions
    let dryRun: Bool

    /// Runs `body`; `reach` names the devices whose profile may change, asked before and after `body`.
    /// Returns when the change was written. A dry run always throws after its report: `Failure(.wouldChange)`
    /// when a profile would change, else `Failure(.nothingWritten)` (exit 0, no message).
    func run(reach: () throws -> Reach, _ body: (AuditRecorder) throws -> Void) throws {
        let recorder = AuditRecorder(store: store)
        guard dryRun else {
            try store.database.transaction { try body(recorder) }
            return
        }
        try store.database.execute("BEGIN IMMEDIATE")
        defer { try? store.database.execute("ROLLBACK") }
        // One renderer per side: each reads the shared default/model/group rows once, and none is reused
        // across the change.
        let reachedBefore = try reach()
        let before = try snapshot(try ProfileRenderer(store: store, cachesSharedLayers: true), reachedBefore)
        try body(recorder)
        let after = try snapshot(try ProfileRenderer(store: store, cachesSharedLayers: true), reachedBefore.union(try reach()))
        try report(before: before, after: after)
    }

    /// One device's view: what is compared (the exact profile and fields) and what is shown (masked), as bytes;
    /// only the views of changed devices are split into lines.
    struct View: Equatable {
        var exact: [UInt8]
        var shown: [UInt8]

        var lines: [String] {
            shown.split(separator: 0x0A, omittingEmptySubsequences: false).map { String(decoding: $0, as: UTF8.self) }
        }
    }

    func snapshot(_ renderer: ProfileRenderer, _ reach: Reach) throws -> [MACAddress: View] {
        var views: [MACAddress: View] = [:]
        switch reach {
        case .every:
            try renderer.forEachDevice { device in views[device.mac] = view(renderer, device) }
        case .some(let macs):
            for mac in macs {
                if let device = try renderer.device(mac: mac) { views[mac] = view(renderer, device) }
            }
        }
        return views
    }

    func view(_ renderer: ProfileRenderer, _ device: Device) -> View {
        var exact = Array(describe(device, showSecrets: true).utf8)
        var shown = Array(("# device " + describe(device, showSecrets: output.showSecrets)).utf8)
        exact.append(0x0A)
        shown.append(0x0A)
        do {
            let parameters = try renderer.parameters(for: device)
            let xml = FlatProfile.render(parameters)
            exact += xml
            var masked = parameters
            var anyMasked = false
            for index in masked.indices {
                let value = output.shown(name: masked[index].name, value: masked[index].value)
                if value != masked[index].value {
                    masked[index].value = value
                    anyMasked = true
                }
            }
            shown += anyMasked ? FlatProfile.render(masked) : xml
        } catch {
            let line = "! cannot render: \(error)"
            exact += Array(line.utf8)
            shown += Array(line.utf8)
        }
        return View(exact: exact, shown: shown)
    }

    func report(before: [MACAddress: View], after: [MACAddress: View]) throws {
        var changed: [(MACAddress, String)] = []
        for mac in Set(before.keys).union(after.keys).sorted() {
            let old = before[mac], new = after[mac]
            guard old?.exact != new?.exact else { continue }
            var diff = UnifiedDiff.render(old: old?.lines ?? [], new: new?.lines ?? [],
                                          oldName: old == nil ? "/dev/null" : "\(mac) (now)",
                                          newName: new == nil ? "/dev/null" : "\(mac) (after)")
            if diff.isEmpty { diff = "  (only secret values change; --show-secrets shows them)\n" }
            changed.append((mac, diff))
        }
        let checked = Set(before.keys).union(after.keys).count
        if output.json {
            try printJSON(["dry_run": true, "devices_checked": checked,
                           "changed": changed.map { ["mac": $0.0.hex, "diff": $0.1] }])
        } else {
            for (mac, diff) in changed {
                print("device \(mac) would change:")
                print(diff, terminator: "")
            }
            print("dry run: \(changed.count) of \(checked) reached device(s) would change; nothing written")
        }
        if !changed.isEmpty { throw Failure(.wouldChange, "dry run: \(changed.count) device profile(s) would change") }
        throw Failure(.nothingWritten, "")
    }
}
