import ArgumentParser
import Provisioning
import ProvisioningAdmin

struct Adopt: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Make claimed phones devices, with the serial and model of their certificate.",
        discussion: """
            Each MAC must have a claim (provctl claims) and no device row; the claim is removed.
            Example: provctl adopt 000e08abcdef --group sales --encrypt aes-256-cbc --key 'a phrase'
            """
    )

    @OptionGroup var store: StoreOptions
    @OptionGroup var output: OutputOptions
    @OptionGroup var change: DryRunOption
    @Argument(help: "Claimed MACs, in any spelling.") var macs: [String]
    @Option(help: "The group the devices join.", completion: .custom(Completion.groups)) var group: String?
    @Option(help: "The model, instead of the certificate's.") var model: String?
    @OptionGroup var serving: NewDeviceOptions

    func validate() throws {
        if macs.isEmpty { throw ValidationError("give at least one MAC") }
        for mac in macs { _ = try parseMAC(mac) }
        try checkDeviceFields([("--group", group), ("--model", model)])
    }

    func run() throws {
        try checkDeviceFieldValues([("group", "--group", group), ("model", "--model", model)])
        let opened = try store.open()
        let macs = try macs.map { try parseMAC($0) }
        let encryption = try serving.encryption
        try warnIfNew("model", model.map { [$0] } ?? [], in: opened)
        try warnIfNew("group", group.map { [$0] } ?? [], in: opened)
        let ids = try ChangeRunner(store: opened, output: output, change: change).run(reach: { .some(Set(macs)) }) { audit in
            for mac in macs {
                if try opened.device(mac: mac) != nil { throw Failure(.conflict, "MAC: \(mac) is already a device") }
                guard let claim = try opened.journal.claim(mac: mac) else { throw Failure(.notFound, "MAC: \(mac) has no claim") }
                let device = Device(mac: mac, serial: claim.serial.flatMap { $0.isEmpty ? nil : $0 },
                                    model: model ?? claim.model.flatMap { $0.isEmpty ? nil : $0 }, group: group,
                                    enabled: !serving.disabled, gzip: serving.gzip, encryption: encryption)
                try opened.insert(device)
                try opened.journal.settlesClaim(mac: mac)
                try audit.record("adopt", target: mac.hex, old: "claim serial=\(claim.serial ?? "-") model=\(claim.model ?? "-")",
                                 new: describe(device))
            }
        }
        Output.emit(ChangeResult(action: "adopt", message: "adopted \(macs.count) device(s)", count: macs.count,
                                 fields: [("macs", .array(macs.map { .string($0.hex) }))] + [("history", .array(ids.map(JSON.int)))]), json: output.json)
    }
}
