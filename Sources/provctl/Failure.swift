import ArgumentParser
import Foundation
import Provisioning
import ProvisioningAdmin

/// provctl's name for the engine's error (`AdminError`): a documented exit status, the message, the field and
/// rule at fault, and a typed cause. `ValidationError` (a malformed argument) stays ArgumentParser's and exits 64.
typealias Failure = AdminError

extension AdminError {
    /// Prints the failure: JSON on stdout with `--json`, else lines on stderr.
    func report() {
        if reported { return }
        if Output.json {
            Output.emit(ErrorResult(failure: self), json: true)
            return
        }
        if !message.isEmpty { FileHandle.standardError.write(Data(("provctl: " + TextEscaper.visible(message) + "\n").utf8)) }
        for line in Problem.grouped(problems) { FileHandle.standardError.write(Data(("  " + TextEscaper.visible(line) + "\n").utf8)) }
    }
}

/// Writes one line to stderr; a "provctl: warning: ..." line is also kept for the JSON result.
func warn(_ line: String) {
    if line.hasPrefix("provctl: warning: ") { Output.warnings.append(String(line.dropFirst("provctl: warning: ".count))) }
    FileHandle.standardError.write(Data((TextEscaper.visible(line) + "\n").utf8))
}
