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
            --all --out DIR writes DIR/<mac>.xml|.gz|.cfg for every enabled device, and only where the file there \
            does not already hold the same profile (an encrypted one is compared by what it decrypts to), each \
            written beside and renamed into place: a TFTP or HTTP folder for phones can be re-exported at any time (disabled devices are answered \
            403, devices without encryption have no .cfg: both are skipped and counted). Each file is written \
            to a new temporary file of its own (created exclusively, never through a link) and renamed into \
            place, mode 0640: readable by its owner and by --file-group (the TFTP or web server's group), never \
            by everyone, since a .xml holds the device's secrets in plaintext.
            --partition NAME renders that partition of the profile, as the phone's $MA-NAME.xml (with --all: \
            DIR/<mac>-NAME.<form>).
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
    @Option(help: ArgumentHelp("With --all: the group the files belong to (the TFTP or web server's), mode 0640.", valueName: "group"))
    var fileGroup: String?
    @OptionGroup var part: PartitionOption

    func validate() throws {
        try part.check()
        guard ProfileForm(rawValue: form) != nil else { throw ValidationError("--form: \"\(form)\" must be xml, gz or cfg") }
        if all {
            if mac != nil { throw ValidationError("MAC: not with --all") }
            if out == nil { throw ValidationError("--out: required with --all") }
            if plain { throw ValidationError("--plain: not with --all") }
            if let jobs, jobs < 1 { throw ValidationError("--jobs: at least 1") }
            if let fileGroup, getgrnam(fileGroup) == nil { throw ValidationError("--file-group: no group \"\(fileGroup)\" on this system") }
        } else {
            guard let mac else { throw ValidationError("MAC: required (or --all --out DIR)") }
            _ = try parseMAC(mac)
            if out != nil { throw ValidationError("--out: only with --all") }
            if fileGroup != nil { throw ValidationError("--file-group: only with --all") }
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
            body = try ProfileService.profile(store: opened, device: device, identity: .standIn(for: device), form: form,
                                              partition: part.name)
        } catch {
            if case .encoding(.noKey) = error {
                throw Failure(.notFound, "render \(mac): no encryption configured (profile-cgi answers .cfg 404)")
            }
            if case .unknownPartition(let name) = error {
                throw Failure(.notFound, "--partition: \(mac) has no settings in partition \(name) (profile-cgi answers 404)")
            }
            throw Failure(.runtime, "render \(mac): \(error)")
        }
        if plain {
            if form == .cfg, case .aes256cbc(let key, let digest) = device.encryption {
                body = try OpenSSLEnc.decrypt(body, passphrase: key, digest: digest)
            }
            if form == .cfg, case .aes128gcm(let key) = device.encryption, let ikm = key.ikmBytes {
                body = try AES128GCM.decrypt(body, ikm: ikm)
            }
            if Gzip.isGzip(body) { body = try Gzip.decompress(body) }
        }
        if format.json {
            // The profile as served: text when it is UTF-8 (XML, --plain), else base64 (gz, cfg).
            let text = String(validating: body, as: UTF8.self)
            Output.emit(AnyResult(value: JSON.object([
                ("mac", .string(mac.hex)), ("form", .string(form.rawValue)), ("partition", .text(part.name.isEmpty ? nil : part.name)),
                ("plain", .bool(plain)), ("bytes", .int(body.count)), ("sha256", .string(Digest.sha256Hex(body))),
                ("profile", .text(text)), ("profile_base64", .text(text == nil ? Data(body).base64EncodedString() : nil)),
            ])), json: true)
            return
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
        var macs = try opened.deviceMACs()
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
        let partitionName = part.name
        let fileSuffix = partitionName.isEmpty ? "" : "-" + partitionName
        let group: gid_t? = fileGroup.flatMap { getgrnam($0)?.pointee.gr_gid }
        // Read once, before the workers start (umask can only be read by setting it): when it clears none of
        // 0640's bits, open's mode is already 0640 and no fchmod per file is needed.
        let mask = umask(0o077)
        umask(mask)
        let modeNeedsFix = mask & 0o640 != 0
        DispatchQueue.concurrentPerform(iterations: workers) { [lower, upper] worker in
            do {
                let store = try DeviceStore(path: path, mode: .readOnly)
                let renderer = try ProfileRenderer(store: store, cachesSharedLayers: true)
                var names = TemporaryNames()
                var count = 0
                try renderer.forEachDevice(from: lower[worker], below: upper[worker]) { device in
                    count += 1
                    if progress && worker == 0 && count % 1000 == 0 {
                        progressLine("rendering \(count * workers)/\(total)")
                    }
                    guard device.enabled else { tally.add(\.disabled); return }
                    if form == .cfg, device.encryption == .none { tally.add(\.unencrypted); return }
                    let body: [UInt8]
                    let path = folder + "/" + device.mac.hex + fileSuffix + "." + form.rawValue
                    do {
                        let existing = Self.readWhole(path)
                        guard let changed = try renderer.export(for: device, form: form, partition: partitionName, existing: existing) else {
                            tally.add(\.unchanged)
                            return
                        }
                        body = changed
                    } catch RenderError.unknownPartition {
                        tally.add(\.unpartitioned)
                        return
                    } catch {
                        tally.add(\.failed)
                        warn("provctl: \(device.mac): \(provctlRenderProblem(error))")
                        return
                    }
                    try Self.write(body, to: path, group: group, temporary: names.next(for: path), fixMode: modeNeedsFix)
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
              + (counts.unchanged > 0 ? "; \(counts.unchanged) unchanged" : "")
              + (counts.disabled > 0 ? "; \(counts.disabled) disabled skipped" : "")
              + (counts.unencrypted > 0 ? "; \(counts.unencrypted) without encryption skipped (no .cfg)" : "")
              + (counts.unpartitioned > 0 ? "; \(counts.unpartitioned) without settings in the partition skipped" : "")
              + (counts.failed > 0 ? "; \(counts.failed) failed" : ""), count: counts.written, fields: [
                ("folder", .string(folder)), ("form", .string(form.rawValue)), ("disabled_skipped", .int(counts.disabled)),
                ("unencrypted_skipped", .int(counts.unencrypted)), ("unchanged", .int(counts.unchanged)),
                ("partition_skipped", .int(counts.unpartitioned)), ("failed", .int(counts.failed)),
              ]), json: format.json)
        if counts.failed > 0 { throw Failure(.runtime, "\(counts.failed) device(s) could not be rendered (see above; provctl check)") }
    }

    /// Writes a whole file with open/write/close: no buffering layer, one write for a profile.
    /// Written beside the target and renamed over it, so a TFTP or HTTP server reading the folder never hands
    /// out half a file. The temporary file has a random name and is created exclusively without following a
    /// link (O_EXCL | O_NOFOLLOW): a link planted in the folder cannot redirect the write; rename replaces a
    /// link at the target itself rather than writing through it. Mode 0640, group `group` when given.
    /// `temporary` is the random name to write first (`TemporaryNames`); `fixMode` false only when the umask is
    /// known to leave 0640 as it is.
    static func write(_ body: [UInt8], to path: String, group: gid_t? = nil, temporary: String? = nil,
                      fixMode: Bool = true) throws {
        let temporary = temporary ?? path + ".tmp." + String(UInt64.random(in: 0...UInt64.max), radix: 16)
        do {
            try writeWhole(body, to: temporary, group: group, fixMode: fixMode)
        } catch {
            unlink(temporary)
            throw error
        }
        guard rename(temporary, path) == 0 else {
            let reason = String(cString: strerror(errno))
            unlink(temporary)
            throw Failure(.runtime, "\(path): \(reason)")
        }
    }

    /// The file's bytes, or nil when it cannot be read (most often: it does not exist yet). Plain open/read: in a
    /// new folder this is one failed open per device, not Foundation's error object.
    static func readWhole(_ path: String) -> [UInt8]? {
        let descriptor = Foundation.open(path, O_RDONLY | O_NOFOLLOW)
        guard descriptor >= 0 else { return nil }
        defer { close(descriptor) }
        var status = stat()
        guard fstat(descriptor, &status) == 0 else { return nil }
        // One read of the size the file has (plus one byte, to see it end), not a fixed buffer per device.
        var bytes = [UInt8](repeating: 0, count: Int(status.st_size) + 1)
        var filled = 0
        while true {
            if filled == bytes.count { bytes += [UInt8](repeating: 0, count: 4096) }
            let count = bytes.withUnsafeMutableBytes { Foundation.read(descriptor, $0.baseAddress! + filled, $0.count - filled) }
            if count < 0 { return nil }
            if count == 0 { return Array(bytes[0..<filled]) }
            filled += count
        }
    }

    static func writeWhole(_ body: [UInt8], to path: String, group: gid_t? = nil, fixMode: Bool = true) throws {
        let descriptor = Foundation.open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o640)
        guard descriptor >= 0 else { throw Failure(.runtime, "\(path): \(String(cString: strerror(errno)))") }
        defer { close(descriptor) }
        // The mode whatever the umask, and the group the TFTP or web server reads with.
        if let group, fchown(descriptor, uid_t.max, group) != 0 {
            throw Failure(.runtime, "\(path): cannot give it group \(group): \(String(cString: strerror(errno)))")
        }
        guard !fixMode || fchmod(descriptor, 0o640) == 0 else { throw Failure(.runtime, "\(path): \(String(cString: strerror(errno)))") }
        var offset = 0
        while offset < body.count {
            let count = body.withUnsafeBytes { Foundation.write(descriptor, $0.baseAddress! + offset, $0.count - offset) }
            guard count > 0 else { throw Failure(.runtime, "\(path): \(String(cString: strerror(errno)))") }
            offset += count
        }
    }
}

/// Random temporary names for one render worker: 64 random bits each, as `UInt64.random` gives, but taken from
/// the kernel's generator 4 KiB at a time (512 names per read of /dev/urandom instead of a getrandom call per file).
struct TemporaryNames {
    private var pool: [UInt64] = []

    mutating func next(for path: String) -> String {
        if pool.isEmpty {
            // Glibc's module does not export getrandom(2); /dev/urandom is the same generator.
            pool = [UInt64](repeating: 0, count: 512)
            let device = Foundation.open("/dev/urandom", O_RDONLY | O_CLOEXEC)
            let filled = device < 0 ? -1 : pool.withUnsafeMutableBytes { Foundation.read(device, $0.baseAddress!, $0.count) }
            if device >= 0 { close(device) }
            if filled != pool.count * 8 {
                // Not the whole pool (a signal, an old kernel): the stdlib's generator, one name at a time.
                var generator = SystemRandomNumberGenerator()
                pool = [generator.next()]
            }
        }
        return path + ".tmp." + String(pool.removeLast(), radix: 16)
    }
}

/// Counts shared by the render workers.
final class RenderTally: @unchecked Sendable {
    struct Counts {
        var written = 0, unchanged = 0, disabled = 0, unencrypted = 0, unpartitioned = 0, failed = 0
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
