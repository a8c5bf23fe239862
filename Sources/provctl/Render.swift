import ArgumentParser
import Foundation
import Provisioning

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
    @Argument(help: "The device's MAC.") var mac: String?
    @Option(help: "xml, gz or cfg.") var form: String = "xml"
    @Flag(help: "Print the XML inside a gz or cfg profile (decrypted, decompressed).") var plain = false
    @Flag(help: "Render every device into --out DIR.") var all = false
    @Option(help: ArgumentHelp("The folder for --all (created if missing).", valueName: "dir")) var out: String?

    func validate() throws {
        guard ProfileForm(rawValue: form) != nil else { throw ValidationError("--form: \"\(form)\" must be xml, gz or cfg") }
        if all {
            if mac != nil { throw ValidationError("MAC: not with --all") }
            if out == nil { throw ValidationError("--out: required with --all") }
            if plain { throw ValidationError("--plain: not with --all") }
        } else {
            guard let mac else { throw ValidationError("MAC: required (or --all --out DIR)") }
            _ = try parseMAC(mac)
            if out != nil { throw ValidationError("--out: only with --all") }
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
            throw Failure(error.status == 404 ? .notFound : .runtime,
                          "render \(mac): \(error.reason)" + (error.detail.map { " (\($0))" } ?? ""))
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
        let renderer = try ProfileRenderer(store: opened)
        let total = try opened.deviceCount()
        let progress = stdoutIsTerminal
        var written = 0, disabled = 0, unencrypted = 0, failed = 0, seen = 0
        let started = Date()
        try renderer.forEachDevice { device in
            seen += 1
            if progress && seen % 1000 == 0 { progressLine("rendering \(seen)/\(total)") }
            guard device.enabled else { disabled += 1; return }
            if form == .cfg, device.encryption == .none { unencrypted += 1; return }
            let body: [UInt8]
            do {
                body = try renderer.profile(for: device, form: form)
            } catch {
                failed += 1
                warn("provctl: \(device.mac): \(provctlRenderProblem(error))")
                return
            }
            let path = folder + "/" + device.mac.hex + "." + form.rawValue
            let descriptor = Foundation.open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
            guard descriptor >= 0 else { throw Failure(.runtime, "\(path): \(String(cString: strerror(errno)))") }
            defer { close(descriptor) }
            let count = body.withUnsafeBytes { Foundation.write(descriptor, $0.baseAddress, $0.count) }
            guard count == body.count else { throw Failure(.runtime, "\(path): short write") }
            written += 1
        }
        if progress { progressLine("") }
        let seconds = Date().timeIntervalSince(started)
        print("rendered \(written) profile(s) into \(folder) in \(String(format: "%.2f", seconds)) s"
              + (disabled > 0 ? "; \(disabled) disabled skipped" : "")
              + (unencrypted > 0 ? "; \(unencrypted) without encryption skipped (no .cfg)" : "")
              + (failed > 0 ? "; \(failed) failed" : ""))
        if failed > 0 { throw Failure(.runtime, "\(failed) device(s) could not be rendered (see above; provctl check)") }
    }
}
