import Foundation
public import Provisioning

/// `provctl render --all --out DIR`: every device's profile written into a folder, in parallel workers over
/// contiguous MAC ranges (each with its own read-only connection and renderer), only where the file there does
/// not already hold the same profile, each file written beside and renamed into place with mode 0640.
public struct BulkRender: Sendable {
    /// What the run did, per device.
    public struct Counts: Sendable, Equatable {
        public var written = 0, unchanged = 0, disabled = 0, unencrypted = 0, unpartitioned = 0, failed = 0
        /// A worker's failure (its connection, a file it could not write): the run failed.
        public var error: String?
    }

    /// The result: the counts, how many workers ran, and how long it took.
    public struct Result: Sendable {
        public var counts: Counts
        public var workers: Int
        public var seconds: Double
    }

    public var storePath: String
    public var folder: String
    public var form: ProfileForm
    /// The partition's name, empty for the whole profile (files `<mac>-NAME.<form>`).
    public var partition: String
    /// Workers (default: one per processor, at most 16, one per 2,000 devices).
    public var jobs: Int?
    /// The group the files are given (the TFTP or web server's).
    public var fileGroup: UInt32?

    public init(storePath: String, folder: String, form: ProfileForm, partition: String = "", jobs: Int? = nil,
                fileGroup: UInt32? = nil) {
        self.storePath = storePath
        self.folder = folder
        self.form = form
        self.partition = partition
        self.jobs = jobs
        self.fileGroup = fileGroup
    }

    /// Renders every device. `progress(done, total)` is called every 1,000 devices of the first worker (an estimate
    /// of the whole); `failed(mac, problem)` for each device that cannot be rendered (the run goes on). Throws when
    /// the folder cannot be made or a worker fails.
    public func run(store: ConfigurationEditor, progress: (@Sendable (Int, Int) -> Void)? = nil,
                    failed: @escaping @Sendable (MACAddress, String) -> Void) throws(AdminError) -> Result {
        do {
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        } catch {
            throw AdminError(.runtime, "--out \(folder): \(error.localizedDescription)")
        }
        let started = Date()
        // Contiguous MAC ranges, one per worker; each worker has its own read-only connection and statements.
        var macs: [String]
        do {
            macs = try store.deviceMACs()
        } catch {
            throw AdminError.database(error)
        }
        let workers = max(1, min(jobs ?? ProcessInfo.processInfo.activeProcessorCount, 16, macs.count / 2000 + 1))
        var lower: [String?] = [], upper: [String?] = []
        for worker in 0..<workers {
            lower.append(worker == 0 ? nil : macs[worker * macs.count / workers])
            upper.append(worker + 1 == workers ? nil : macs[(worker + 1) * macs.count / workers])
        }
        let total = macs.count
        macs = []
        let tally = RenderTally()
        let (path, folder, form, group) = (storePath, self.folder, self.form, fileGroup)
        let partitionName = partition
        let fileSuffix = partitionName.isEmpty ? "" : "-" + partitionName
        // Read once, before the workers start (umask can only be read by setting it): when it clears none of
        // 0640's bits, open's mode is already 0640 and no fchmod per file is needed.
        let mask = umask(0o077)
        umask(mask)
        let modeNeedsFix = mask & 0o640 != 0
        DispatchQueue.concurrentPerform(iterations: workers) { [lower, upper] worker in
            do {
                let store = try ConfigurationEditor(path: path, mode: .readOnly)
                let renderer = try ProfileRenderer(store: store, cachesSharedLayers: true)
                var names = TemporaryNames()
                var count = 0
                try renderer.forEachDevice(from: lower[worker], below: upper[worker]) { device in
                    count += 1
                    if let progress, worker == 0 && count % 1000 == 0 { progress(count * workers, total) }
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
                        failed(device.mac, renderProblem(error))
                        return
                    }
                    try Self.write(body, to: path, group: group, temporary: names.next(for: path), fixMode: modeNeedsFix)
                    tally.add(\.written)
                }
            } catch {
                tally.fail("\(error)")
            }
        }
        return Result(counts: tally.counts, workers: workers, seconds: Date().timeIntervalSince(started))
    }

    /// Writes a whole file with open/write/close: no buffering layer, one write for a profile.
    /// Written beside the target and renamed over it, so a TFTP or HTTP server reading the folder never hands
    /// out half a file. The temporary file has a random name and is created exclusively without following a
    /// link (O_EXCL | O_NOFOLLOW): a link planted in the folder cannot redirect the write; rename replaces a
    /// link at the target itself rather than writing through it. Mode 0640, group `group` when given.
    /// `temporary` is the random name to write first (`TemporaryNames`); `fixMode` false only when the umask is
    /// known to leave 0640 as it is.
    public static func write(_ body: [UInt8], to path: String, group: UInt32? = nil, temporary: String? = nil,
                      fixMode: Bool = true) throws(AdminError) {
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
            throw AdminError(.runtime, "\(path): \(reason)")
        }
    }

    /// The file's bytes, or nil when it cannot be read (most often: it does not exist yet). Plain open/read: in a
    /// new folder this is one failed open per device, not Foundation's error object.
    public static func readWhole(_ path: String) -> [UInt8]? {
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

    static func writeWhole(_ body: [UInt8], to path: String, group: gid_t? = nil, fixMode: Bool = true) throws(AdminError) {
        let descriptor = Foundation.open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o640)
        guard descriptor >= 0 else { throw AdminError(.runtime, "\(path): \(String(cString: strerror(errno)))") }
        defer { close(descriptor) }
        // The mode whatever the umask, and the group the TFTP or web server reads with.
        if let group, fchown(descriptor, uid_t.max, group) != 0 {
            throw AdminError(.runtime, "\(path): cannot give it group \(group): \(String(cString: strerror(errno)))")
        }
        guard !fixMode || fchmod(descriptor, 0o640) == 0 else { throw AdminError(.runtime, "\(path): \(String(cString: strerror(errno)))") }
        var offset = 0
        while offset < body.count {
            let count = body.withUnsafeBytes { Foundation.write(descriptor, $0.baseAddress! + offset, $0.count - offset) }
            guard count > 0 else { throw AdminError(.runtime, "\(path): \(String(cString: strerror(errno)))") }
            offset += count
        }
    }
}

/// Random temporary names for one render worker: 64 random bits each, as `UInt64.random` gives, but taken from
/// the kernel's generator 4 KiB at a time (512 names per read of /dev/urandom instead of a getrandom call per file).
public struct TemporaryNames {
    public init() {}

    private var pool: [UInt64] = []

    public mutating func next(for path: String) -> String {
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
    typealias Counts = BulkRender.Counts

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
