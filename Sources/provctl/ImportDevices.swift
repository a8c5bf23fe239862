import ArgumentParser
import Foundation
import Provisioning
import ProvisioningAdmin

struct ImportDevices: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import",
        abstract: "Add or update devices from a CSV file: every bad row reported, all or nothing.",
        discussion: """
            The file is RFC 4180 CSV in UTF-8: fields with the delimiter, quotes or line breaks in double quotes, \
            inner quotes doubled. The delimiter (, ; or tab) is found from the header line, or given with \
            --delimiter. The first line names the columns, in any order; mac is required:
              mac          any spelling (000e08abcdef, 00:0E:08:AB:CD:EF, ...); each MAC at most once
              serial, model, group   empty means none; letters, digits and . _ - (model also + =, group + @),
                           at most 64 characters
              enabled, gzip          yes/no (also true/false, 1/0); empty means yes for enabled, no for gzip
              encryption   none, aes-256-cbc or aes128gcm (RFC 8188); empty keeps
                           what is stored (none for a new device)
              key          aes-256-cbc: the passphrase ([--key ...]); aes128gcm: the
                           IKM in base64url (16 octets or more); *** or empty keeps
                           the stored key
              digest       aes-256-cbc's digest, md5 or sha256 (or kdf); empty: sha256
              key_id       aes128gcm's header key id; empty keeps what is stored
              record_size  aes128gcm's record size, 18 or more (default 4096)
              bootstrap    none, cfg or profile (device edit --bootstrap); empty
                           keeps what is stored; cfg needs a strong key
              account, realm, ha1   the HTTP account: user, Digest realm and
                           HA1 = MD5(user:realm:password) in hex; an empty account
                           removes it; *** keeps the stored HA1 (same user, realm)
              var:NAME     the device's {{NAME}}; an empty cell removes it; ***
                           keeps the stored value
              set:NAME     the device-scope setting NAME (set:PART/NAME: in the
                           partition PART); *** keeps the stored value; an empty
                           cell removes it unless its intent: cell says empty or keep
              ua:NAME      (ua:PART/NAME) the setting's ua: na, ro or rw, empty for
                           none; without the column the stored ua is kept
              intent:NAME  (intent:PART/NAME) for an empty set: cell: empty (the
                           phone's value becomes empty, <X></X>, as set SCOPE NAME=)
                           or keep (the phone keeps its value, <X/>, as set SCOPE
                           --leave NAME); an empty intent: cell removes the setting
              variables    all the device's {{variables}} at once: name=value;name=value, \\; for a ; and \\\\ \
            for a \\ inside a value; it replaces them (an empty cell removes them); not with var: columns
            A new MAC is added; a known one has the columns present updated and keeps the rest. A claim of an \
            imported MAC is settled. Every row is checked before anything is written and every bad row is \
            reported (line, column, rule); then nothing is written, unless --skip-invalid, which imports the \
            good rows and lists the others. Like every change, an import that would leave a device unable to \
            render is refused (--force). A progress line is shown when stdout is a terminal.
            Examples: provctl import devices.csv --dry-run
                      provctl import export.csv --delimiter ';' --skip-invalid
            """
    )

    @OptionGroup var store: StoreOptions
    @OptionGroup var output: OutputOptions
    @OptionGroup var change: DryRunOption
    @Argument(help: "The CSV file ('-' for stdin).") var file: String
    @Option(help: "The field delimiter: , ; or tab (default: found from the header line).") var delimiter: String?
    @Flag(help: "Import the good rows and list the bad ones, instead of refusing the file.") var skipInvalid = false

    func validate() throws {
        if let delimiter, DeviceImport.delimiterByte(delimiter) == nil {
            throw ValidationError("--delimiter: \"\(delimiter)\" must be , ; or tab")
        }
    }

    func run() throws {
        let bytes = file == "-" ? Array(FileHandle.standardInput.readDataToEndOfFile()) : try readFile(file)
        let parsed = try DeviceImport.rows(DeviceImport.records(bytes, delimiter: delimiter.flatMap(DeviceImport.delimiterByte)))
        let opened = try store.open()
        let run = try DeviceImport.run(parsed, skipInvalid: skipInvalid, file: file, store: opened,
                                       session: .provctl(showSecrets: output.showSecrets), mode: change.mode,
                                       progress: stdoutIsTerminal ? { progressLine("importing \($0)/\($1)") } : nil,
                                       finished: stdoutIsTerminal ? { progressLine("") } : nil)
        try emit(run.edited, json: output.json)
        if !run.skipped.isEmpty {
            // Done, with rows skipped: the result above is the whole answer.
            var failure = Failure(.rowsSkipped, "")
            failure.reported = true
            throw failure
        }
    }
}
