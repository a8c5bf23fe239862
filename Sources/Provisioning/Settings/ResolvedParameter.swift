/// One parameter after the scopes are merged: its final value, `ua`, and the scope the value came from.
public struct ResolvedParameter: Sendable, Equatable {
    public var name: String
    /// The value with every `{{variable}}` replaced; phone macros (`$MA`) are left for the phone.
    public var value: String
    public var access: UserAccess?
    /// The scope whose row won.
    public var scope: Scope
    /// The stored value before variables were replaced.
    public var template: String
    /// The winning row's `Setting.intent`: how an empty value is written (`<X></X>` for `.empty`, `<X/>` else).
    public var intent: EmptyIntent? = nil
}
