import ArgumentParser
import Foundation
import Provisioning
import ProvisioningAdmin

struct Render: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print a device's profile exactly as profile-cgi would send it, or write every device's.",
        discussion: """
            The certificate fields ({{cert.ou}}, ...) are those of the OU/L/ST certificate the stored device \
            would present. Binary forms (gz, cfg) are written as bytes: redirect them to a file. --plain undoes \
            the encryption and gzip and prints the XML inside. The profile holds its secrets as served: it is not \
            masked.
            --all --out DIR writes DIR/<mac>.xml|.gz|.cfg for every enabled device (disabled devices are answered \
            403, devices without encryption have no .cfg: both are skipped and counted).
            Examples: provctl render 000e08abcdef --form cfg > 000e08abcdef.cfg
                      provctl render 000e08abcdef --form cfg --plain
                      provctl render --all --out /tmp/profiles --form gz
            """
    )

    @OptionGroup var store: StoreOptions
    @OptionGroup var format: JSONOption
    @Argument(help: "The device's MAC.", completion: .custom(Completion.macs)) var mac: String?
    @Option(help: "xml, gz or cfg.", completion: .list(["xml", "gz", "cfg"])) var form: String = "xml"
    @Flag(help: "Print the XML inside a gz or cfg profile (decrypted, decompressed).") var plain = false
    @Flag(help: "Render every device into --out DIR.") var all = false
    @Option(help: ArgumentHelp("The folder for --all (created if missing).", valueName: "dir")) var out: String?
    @Option(help: "Workers for --all, each with its own connection (default: one per processor).") var jobs: Int?

    func validate() throws {
        guard ProfileForm(rawValue: form) != nil else { throw ValidationError("--form: \"\(form)\" must be xml, gz or cfg") }
        if all {
            if mac != nil { throw ValidationError("MAC: not with --all") }
            if out == nil { throw ValidationError("--out: required with --all") }
            if plain { throw ValidationError("--plain: not with --all") }
            if let jobs, jobs < 1 { throw ValidationError("--jobs: at least 1") }
        } else {
            guard let mac else { throw ValidationError("MAC: required (or --all --out DIR)") }
            _ = try parseMAC(mac)
            if out != nil { throw ValidationError("--out: only with --all") }
            if format.json { throw ValidationError("--json: only with --all (render MAC prints the profile itself)") }
        }
    }

    func run() throws {
        let opened = try store.open()
        let form = ProfileForm(rawValue: form)!
        if all { return try renderAll(opened, form: form, into: out!) }
        let mac = try parseMAC(mac!)
        guard let device = try opened.device(mac: mac) else { throw Failure(.notFound, "MAC: \(mac) is not a device") }
        if !device.enabled { warn("provctl: note: \(mac) is disabled; profile-cgi answers it 403 \"device disabled\"") }
        var body: [UInt8]
        do {
            body = try ProfileService.profile(store: opened, device: device, identity: .standIn(for: device), form: form)
        } catch {
            if case .encoding(.noKey) = error {
                throw Failure(.notFound, "render \(mac): no encryption configured (profile-cgi answers .cfg 404)")
            }
            throw Failure(.runtime, "render \(mac): \(error)")
        }
        if plain {
            if form == .cfg, case .aes256cbc(let key, let digest) = device.encryption {
                body = try OpenSSLEnc.decrypt(body, passphrase: key, digest: digest)
            }
            if Gzip.isGzip(body) { body = try Gzip.decompress(body) }
        }
        FileHandle.standardOutput.write(Data(body))
    }

    func renderAll(_ opened: DeviceStore, form: ProfileForm, into folder: String) throws {
        do {
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        } catch {
            throw Failure(.runtime, "--out \(folder): \(error.localizedDescription)")
        }
        let started = Date()
        // Contiguous MAC ranges, one per worker; each worker has its own read-only connection and statements.
        var macs: [String] = []
        let list = try opened.database.prepare("SELECT mac FROM devices ORDER BY mac")
        while try list.step() { macs.append(list.text(0) ?? "") }
        let workers = max(1, min(jobs ?? ProcessInfo.processInfo.activeProcessorCount, 16, macs.count / 2000 + 1))
        var lower: [String?] = [], upper: [String?] = []
        for worker in 0..<workers {
            lower.append(worker == 0 ? nil : macs[worker * macs.count / workers])
            upper.append(worker + 1 == workers ? nil : macs[(worker + 1) * macs.count / workers])
        }
        let total = macs.count
        macs = []
        let tally = RenderTally()
        let path = store.path
        let progress = stdoutIsTerminal
        DispatchQueue.concurrentPerform(iterations: workers) { [lower, upper] worker in
            do {
                let store = try DeviceStore(path: path, mode: .readOnly)
                let renderer = try ProfileRenderer(store: store, cachesSharedLayers: true)
                var count = 0
                try renderer.forEachDevice(from: lower[worker], below: upper[worker]) { device in
                    count += 1
                    if progress && worker == 0 && count % 1000 == 0 {
                        progressLine("rendering \(count * workers)/\(total)")
                    }
                    guard device.enabled else { tally.add(\.disabled); return }
                    if form == .cfg, device.encryption == .none { tally.add(\.unencrypted); return }
                    let body: [UInt8]
                    do {
                        body = try renderer.profile(for: device, form: form)
                    } catch {
                        tally.add(\.failed)
                        warn("provctl: \(device.mac): \(provctlRenderProblem(error))")
                        return
                    }
                    try Self.write(body, to: folder + "/" + device.mac.hex + "." + form.rawValue)
                    tally.add(\.written)
                }
            } catch {
                tally.fail("\(error)")
            }
        }
        if progress { progressLine("") }
        let counts = tally.counts
        if let problem = counts.error { throw Failure(.runtime, "render --all: \(problem)") }
        let seconds = Date().timeIntervalSince(started)
        Output.emit(ChangeResult(action: "render", message: "rendered \(counts.written) profile(s) into \(folder) in \(String(format: "%.2f", seconds)) s"
              + " (\(workers) worker(s))"
              + (counts.disabled > 0 ? "; \(counts.disabled) disabled skipped" : "")
              + (counts.unencrypted > 0 ? "; \(counts.unencrypted) without encryption skipped (no .cfg)" : "")
              + (counts.failed > 0 ? "; \(counts.failed) failed" : ""), count: counts.written, fields: [
                ("folder", .string(folder)), ("form", .string(form.rawValue)), ("disabled_skipped", .int(counts.disabled)),
                ("unencrypted_skipped", .int(counts.unencrypted)), ("failed", .int(counts.failed)),
              ]), json: format.json)
        if counts.failed > 0 { throw Failure(.runtime, "\(counts.failed) device(s) could not be rendered (see above; provctl check)") }
    }

    /// Writes a whole file with open/write/close: no buffering layer, one write for a profile.
    static func write(_ body: [UInt8], to path: String) throws {
        let descriptor = Foundation.open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        guard descriptor >= 0 else { throw Failure(.runtime, "\(path): \(String(cString: strerror(errno)))") }
        defer { close(descriptor) }
        var offset = 0
        while offset < body.count {
            let count = body.withUnsafeBytes { Foundation.write(descriptor, $0.baseAddress! + offset, $0.count - offset) }
            guard count > 0 else { throw Failure(.runtime, "\(path): \(String(cString: strerror(errno)))") }
            offset += count
        }
    }
}

/// Counts shared by the render workers.
final class RenderTally: @unchecked Sendable {
    struct Counts {
        var written = 0, disabled = 0, unencrypted = 0, failed = 0
        var error: String?
    }

    private let lock = NSLock()
    private var values = Counts()

    func add(_ field: WritableKeyPath<Counts, Int>) {
        lock.lock()
        values[keyPath: field] += 1
        lock.unlock()
    }

    func fail(_ message: String) {
        lock.lock()
        if values.error == nil { values.error = message }
        lock.unlock()
    }

    var counts: Counts {
        lock.lock()
        defer { lock.unlock() }
        return values
    }
}
