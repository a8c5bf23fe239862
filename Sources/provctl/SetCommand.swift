import ArgumentParser
import Provisioning
import ProvisioningAdmin

struct SetCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "set",
        abstract: "Set parameters at a scope.",
        discussion: """
            SCOPE is default, model:NAME, group:NAME or device:MAC. Values may use {{variables}} and phone macros \
            ($MA, $PSN, ...). Each value is checked against its rule (seconds lists, Resync_At__HHmm_, ranges, \
            Yes/No booleans (yes/YES are stored as Yes), Privacy_Header_N_, Profile_Rule/Upgrade_Rule syntax, \
            characters XML forbids); a value with {{variables}} is checked per device by `provctl check`. \
            Names the Cisco guides do not list are stored with a warning. Without --ua an existing ua is kept. \
            NAME= (nothing after =) sets the phone's value to empty: rendered <NAME></NAME>. --leave NAME stores \
            the other intent, "leave the phone's value as it is" (rendered <NAME/>, with its ua: with --ua rw the \
            user's own value survives every resync). A value outside the values the phones list for a name is \
            refused. --partition NAME stores them in a partition of the profile, which the phone fetches as $MA-NAME.xml \
            (e.g. with Profile_Rule_B); without it they go to the main profile ($MA.xml).
            Example: provctl set default Resync_Periodic=3600 \
            'Profile_Rule=[--key {{profile_key}}] https://prov.example.com/cgi-bin/profile/$MA.cfg' --ua na
            """
    )

    @OptionGroup var store: StoreOptions
    @OptionGroup var output: OutputOptions
    @OptionGroup var change: DryRunOption
    @OptionGroup var target: ScopeArgument
    @Argument(help: "NAME=VALUE pairs.", completion: .custom(Completion.assignments)) var assignments: [String] = []
    @Option(name: .customLong("leave"), help: "A parameter whose phone value is left as it is (rendered <NAME/>); repeatable.")
    var leave: [String] = []
    @Option(help: "The phone's ua attribute for these parameters: na, ro or rw.") var ua: String?
    @OptionGroup var part: PartitionOption

    func validate() throws {
        try part.check()
        if let ua, UserAccess(rawValue: ua) == nil { throw ValidationError("--ua: \"\(ua)\" must be na, ro or rw") }
        if assignments.isEmpty && leave.isEmpty { throw ValidationError("give at least one NAME=VALUE or --leave NAME") }
        for name in leave where !XMLText.isValidName(name) {
            throw ValidationError("--leave: \"\(name)\" is not a parameter name")
        }
        for assignment in assignments { _ = try splitAssignment(assignment) }
    }

    func run() throws {
        let scope = try target.parsed()
        // Every value is checked before anything is written.
        let checked = try SettingsEditor.check(assignments: try assignments.map(splitAssignment), leave: leave, session: .provctl())
        let editor = SettingsEditor(store: try store.open(), output: output, change: change)
        try emit(try editor.set(checked, at: scope, access: ua.flatMap(UserAccess.init), partition: part.name), json: output.json)
    }
}
