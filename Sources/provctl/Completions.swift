import ArgumentParser
import Provisioning
import ProvisioningAdmin

struct Completions: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print a shell completion script: bash, zsh or fish.",
        discussion: """
            The same script as provctl --generate-completion-script SHELL.
            Examples: provctl completions bash > /etc/bash_completion.d/provctl
                      provctl completions zsh > "${fpath[1]}/_provctl"
                      provctl completions fish > ~/.config/fish/completions/provctl.fish
            """
    )

    @Argument(help: "bash, zsh or fish.") var shell: String

    func validate() throws {
        guard CompletionShell(rawValue: shell) != nil else { throw ValidationError("SHELL: \"\(shell)\" must be bash, zsh or fish") }
    }

    func run() throws {
        print(Provctl.completionScript(for: CompletionShell(rawValue: shell)!))
    }
}
