public import Provisioning

extension Array where Element == ScopeNameUse {
    /// As `provctl groups --json` and `provctl models --json` print them (and the admin API answers them).
    public var json: JSON {
        .array(map {
            .object([("name", .string($0.name)), ("devices", .int($0.devices)), ("settings", .int($0.settings)),
                     ("variables", .int($0.variables))])
        })
    }
}
