import OpenAPIRuntime
import Provisioning
import ProvisioningAdmin

extension AdminAPI {
    /// A page of devices by MAC: one SQL query on the primary key (`DeviceFilter.after`/`limit`), filters in SQL.
    /// The pending states (`changed`, `never_seen`, ...) are the loop's: the pending scan walks the fleet from
    /// `after` until the page is full, so those filters cost more (see docs/api.md).
    func listDevices(_ input: Operations.ListDevices.Input) async throws -> Operations.ListDevices.Output {
        let caller = try Caller.required()
        let query = input.query
        let limit = query.limit ?? 100
        guard (1...1000).contains(limit) else {
            throw APIProblem.badRequest("limit: \(limit) must be 1 to 1000", field: "limit", rule: "page_size")
        }
        let after = try query.after.map { try AdminAPI.mac($0, field: "after") }
        var filter = DeviceFilter(group: query.group, model: query.model, firmware: query.firmware, search: query.q,
                                  after: after, limit: limit + 1)
        if query.group == "none" { (filter.group, filter.withoutGroup) = (nil, true) }
        var pending: String?
        switch query.state {
        case nil: break
        case .enabled?: filter.enabled = true
        case .disabled?: filter.enabled = false
        case let state?: pending = state.rawValue
        }
        let (chosen, state) = (filter, pending)
        let json = try await store.read { editor in
            let rows: [(device: Device, seen: SeenRecord?)]
            if let state {
                rows = try DevicesPending.page(editor, filter: chosen, state: state)
            } else {
                rows = try editor.devices(matching: chosen)
            }
            let more = rows.count > limit
            let page = rows.prefix(limit)
            return JSON.object([
                ("items", .array(page.map { .sorted(JSON.deviceMembers($0.device, seen: $0.seen, disclosure: caller.disclosure)) })),
                ("next_after", more ? .text(page.last?.device.mac.hex) : .null),
            ])
        }
        return .ok(.init(body: .json(try Typed.decode(Components.Schemas.DevicePage.self, json))))
    }

    func createDevice(_ input: Operations.CreateDevice.Input) async throws -> Operations.CreateDevice.Output {
        let caller = try Caller.admin()
        guard case .json(let body) = input.body else { throw APIProblem.badRequest("body: JSON expected") }
        let device = try DeviceFields.created(body)
        let mode = ChangeMode(dryRun: input.query.dryRun ?? false)
        let etags = store.etags
        let (json, tag) = try await store.write(caller, mode: mode) { editor, session, mode in
            let warnings = Warnings()
            let session = EditedAnswer.collecting(session, into: warnings)
            let edited = try DeviceEditor(store: editor, session: session, mode: mode).add(device)
            let tag = (try editor.device(mac: device.mac)).map { Versions.device($0, etags) }
            return (try EditedAnswer.json(edited, warnings: warnings.all), tag)
        }
        if mode.dryRun { return .ok(.init(body: .json(try Typed.decode(Components.Schemas.DryRunReport.self, json)))) }
        return .created(.init(headers: .init(eTag: tag, location: "/api/v1/devices/\(device.mac.hex)"),
                              body: .json(try Typed.decode(Components.Schemas.ChangeResult.self, json))))
    }

    func getDevice(_ input: Operations.GetDevice.Input) async throws -> Operations.GetDevice.Output {
        let caller = try Caller.required()
        let mac = try AdminAPI.mac(input.path.mac)
        let etags = store.etags
        let (json, tag) = try await store.read { editor in
            let details = try DeviceDetails(mac: mac, in: editor)
            return (details.json(disclosure: caller.disclosure), Versions.device(details.device, etags))
        }
        return .ok(.init(headers: .init(eTag: tag), body: .json(try Typed.decode(Components.Schemas.DeviceDetail.self, json))))
    }

    /// provctl device enable/disable when the body holds `enabled` only, else provctl device edit.
    func updateDevice(_ input: Operations.UpdateDevice.Input) async throws -> Operations.UpdateDevice.Output {
        let caller = try Caller.admin()
        guard case .json(let body) = input.body else { throw APIProblem.badRequest("body: JSON expected") }
        let mac = try AdminAPI.mac(input.path.mac)
        let mode = ChangeMode(dryRun: input.query.dryRun ?? false, force: input.query.force ?? false)
        let onlyEnabled = body.enabled != nil && body == Components.Schemas.DevicePatch(enabled: body.enabled)
        let ifMatch = input.headers.ifMatch, etags = store.etags
        let (json, tag) = try await store.write(caller, mode: mode) { editor, session, mode in
            let (old, current) = try Versions.device(mac, in: editor, etags)
            try AdminAPI.precondition(ifMatch, current: current)
            let warnings = Warnings()
            let devices = DeviceEditor(store: editor, session: EditedAnswer.collecting(session, into: warnings), mode: mode)
            let edited = onlyEnabled
                ? try devices.setEnabled(body.enabled!, macs: [mac])
                : try devices.edit(try DeviceFields.patched(old, body), old: old)
            let now = try editor.device(mac: mac).map { Versions.device($0, etags) } ?? current
            return (try EditedAnswer.json(edited, warnings: warnings.all), now)
        }
        return .ok(.init(headers: .init(eTag: tag), body: .json(try Typed.decode(Components.Schemas.ChangeOutcome.self, json))))
    }

    func deleteDevice(_ input: Operations.DeleteDevice.Input) async throws -> Operations.DeleteDevice.Output {
        let caller = try Caller.admin()
        let mac = try AdminAPI.mac(input.path.mac)
        let mode = ChangeMode(dryRun: input.query.dryRun ?? false)
        let ifMatch = input.headers.ifMatch, etags = store.etags
        let json = try await store.write(caller, mode: mode) { editor, session, mode in
            try AdminAPI.precondition(ifMatch, current: try Versions.device(mac, in: editor, etags).1)
            let warnings = Warnings()
            let edited = try DeviceEditor(store: editor, session: EditedAnswer.collecting(session, into: warnings), mode: mode).remove([mac])
            return try EditedAnswer.json(edited, warnings: warnings.all)
        }
        return .ok(.init(body: .json(try Typed.decode(Components.Schemas.ChangeOutcome.self, json))))
    }

    func replaceDevice(_ input: Operations.ReplaceDevice.Input) async throws -> Operations.ReplaceDevice.Output {
        let caller = try Caller.admin()
        guard case .json(let body) = input.body else { throw APIProblem.badRequest("body: JSON expected") }
        let old = try AdminAPI.mac(input.path.mac)
        let new = try AdminAPI.mac(body.newMac, field: "new_mac")
        let serial: String?? = body.serial.map { $0.isEmpty ? nil : $0 }
        let mode = ChangeMode(dryRun: input.query.dryRun ?? false)
        let ifMatch = input.headers.ifMatch, etags = store.etags
        let json = try await store.write(caller, mode: mode) { editor, session, mode in
            try AdminAPI.precondition(ifMatch, current: try Versions.device(old, in: editor, etags).1)
            let warnings = Warnings()
            var note: String?
            let edited = try DeviceEditor(store: editor, session: EditedAnswer.collecting(session, into: warnings), mode: mode)
                .replace(old, with: new, serial: serial, note: &note)
            if case .written = edited, let note { warnings.append(note) }
            return try EditedAnswer.json(edited, warnings: warnings.all)
        }
        return .ok(.init(body: .json(try Typed.decode(Components.Schemas.ChangeOutcome.self, json))))
    }

    func getDeviceSettings(_ input: Operations.GetDeviceSettings.Input) async throws -> Operations.GetDeviceSettings.Output {
        let caller = try Caller.required()
        let mac = try AdminAPI.mac(input.path.mac)
        let json = try await store.read { editor in try DeviceLayering(mac: mac, in: editor).settings(disclosure: caller.disclosure) }
        return .ok(.init(body: .json(try Typed.decode([Components.Schemas.LayeredSetting].self, json))))
    }

    func getDeviceVariables(_ input: Operations.GetDeviceVariables.Input) async throws -> Operations.GetDeviceVariables.Output {
        let caller = try Caller.required()
        let mac = try AdminAPI.mac(input.path.mac)
        let json = try await store.read { editor in try DeviceLayering(mac: mac, in: editor).variables(disclosure: caller.disclosure) }
        return .ok(.init(body: .json(try Typed.decode([Components.Schemas.LayeredVariable].self, json))))
    }

    func getDeviceProfile(_ input: Operations.GetDeviceProfile.Input) async throws -> Operations.GetDeviceProfile.Output {
        let caller = try Caller.required()
        let mac = try AdminAPI.mac(input.path.mac)
        let json = try await store.read { editor in
            guard let device = try editor.device(mac: mac) else { throw APIProblem.notFound("\(mac)", field: "mac") }
            return try RenderedProfile.masked(device, in: editor, disclosure: caller.disclosure)
        }
        return .ok(.init(body: .json(try Typed.decode(Components.Schemas.RenderedProfile.self, json))))
    }

    /// The fetch history oldest first (`provctl fetches --mac`), a page after the `time_us` cursor.
    func listDeviceFetches(_ input: Operations.ListDeviceFetches.Input) async throws -> Operations.ListDeviceFetches.Output {
        _ = try Caller.required()
        let mac = try AdminAPI.mac(input.path.mac)
        let limit = input.query.limit ?? 100
        guard (1...1000).contains(limit) else {
            throw APIProblem.badRequest("limit: \(limit) must be 1 to 1000", field: "limit", rule: "page_size")
        }
        let after = try input.query.after.map { text -> Int in
            guard let micros = Int(text), micros >= 0 else {
                throw APIProblem.badRequest("after: \"\(text)\" is not a cursor (the time_us of the last fetch seen)", field: "after", rule: "cursor")
            }
            return micros
        }
        let json = try await store.read { editor in
            guard try editor.device(mac: mac) != nil else { throw APIProblem.notFound("\(mac)", field: "mac") }
            // The journal keeps a bounded history per device (retention): read what follows the cursor, oldest first.
            let items = try editor.fetchTimeline(FetchQuery(mac: mac, since: after.map { $0 + 1 }, limit: 100_000))
            let page = items.prefix(limit)
            return JSON.object([("items", .array(page.map(\.json))),
                                ("next_after", items.count > limit ? .text(page.last.map { String($0.at) }) : .null)])
        }
        return .ok(.init(body: .json(try Typed.decode(Components.Schemas.FetchPage.self, json))))
    }

    /// The latest report and its drift (`provctl drift MAC`); `report` null and no drift before the first report.
    func getDeviceDrift(_ input: Operations.GetDeviceDrift.Input) async throws -> Operations.GetDeviceDrift.Output {
        _ = try Caller.required()
        let mac = try AdminAPI.mac(input.path.mac)
        let json = try await store.read { editor in
            guard let device = try editor.device(mac: mac) else { throw APIProblem.notFound("\(mac)", field: "mac") }
            guard let report = try editor.journal.reports(mac: mac)[mac] else {
                return JSON.object([("mac", .string(mac.hex)), ("report", .null), ("drift", .array([]))])
            }
            let last = try editor.journal.lastServed([mac])[mac]
            let presented = DeviceLoop.presented(device, model: last?.model, serial: last?.serial)
            let loop = try DeviceLoop(store: editor)
            let entries: [DriftEntry]
            do {
                entries = try loop.drift(of: presented, report: report)
            } catch {
                throw AdminError(.runtime, "\(error)", underlying: error)
            }
            return driftJSON(mac, report: report, entries: entries)
        }
        return .ok(.init(body: .json(try Typed.decode(Components.Schemas.DriftReport.self, json))))
    }
}
