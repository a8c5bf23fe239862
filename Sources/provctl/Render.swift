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
            body = try ProfileService.profile(store: opened.store, device: device, identity: .standIn(for: device), form: form,
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
        if plain { body = try ProfileService.plainProfile(body, form: form, device: device) }
        if format.json {
            // The profile as served: text when it is UTF-8 (XML, --plain), else base64 (gz, cfg).
            Output.emit(ValueResult(json: RenderedProfile(mac: mac, form: form, partition: part.name, plain: plain, body: body).json), json: true)
            return
        }
        FileHandle.standardOutput.write(Data(body))
    }

    func renderAll(_ opened: ConfigurationEditor, form: ProfileForm, into folder: String) throws {
        let progress = stdoutIsTerminal
        let engine = BulkRender(storePath: store.path, folder: folder, form: form, partition: part.name, jobs: jobs,
                                fileGroup: fileGroup.flatMap { getgrnam($0)?.pointee.gr_gid })
        var onProgress: (@Sendable (Int, Int) -> Void)?
        if progress {
            onProgress = { (done: Int, total: Int) -> Void in progressLine("rendering \(done)/\(total)") }
        }
        let result = try engine.run(store: opened, progress: onProgress) { (mac: MACAddress, problem: String) -> Void in
            warn("provctl: \(mac): \(problem)")
        }
        if progress { progressLine("") }
        let counts = result.counts
        if let problem = counts.error { throw Failure(.runtime, "render --all: \(problem)") }
        let seconds = String(format: "%.2f", result.seconds)
        var message = "rendered \(counts.written) profile(s) into \(folder) in \(seconds) s (\(result.workers) worker(s))"
        if counts.unchanged > 0 { message += "; \(counts.unchanged) unchanged" }
        if counts.disabled > 0 { message += "; \(counts.disabled) disabled skipped" }
        if counts.unencrypted > 0 { message += "; \(counts.unencrypted) without encryption skipped (no .cfg)" }
        if counts.unpartitioned > 0 { message += "; \(counts.unpartitioned) without settings in the partition skipped" }
        if counts.failed > 0 { message += "; \(counts.failed) failed" }
        Output.emit(ChangeResult(action: "render", message: message, count: counts.written, fields: [
                ("folder", .string(folder)), ("form", .string(form.rawValue)), ("disabled_skipped", .int(counts.disabled)),
                ("unencrypted_skipped", .int(counts.unencrypted)), ("unchanged", .int(counts.unchanged)),
                ("partition_skipped", .int(counts.unpartitioned)), ("failed", .int(counts.failed)),
              ]), json: format.json)
        if counts.failed > 0 { throw Failure(.runtime, "\(counts.failed) device(s) could not be rendered (see above; provctl check)") }
    }
}
