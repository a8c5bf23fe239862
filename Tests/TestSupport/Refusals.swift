public import Provisioning

/// Who calls in a refusal case. Each is a phone of its own, set up the same way in-process, as a process and
/// through Apache (where it is a real certificate from the test CA).
public enum RefusalCaller: String, Sendable, CaseIterable {
    /// A registered, enabled device whose serial and model match its certificate.
    case known
    /// A valid certificate of no device.
    case unknown
    /// A registered device that is disabled.
    case disabled
    /// A registered device stored with another serial.
    case otherSerial
    /// A registered device stored as another product.
    case otherModel
    /// The pre-2.0 generic certificate (`OU=cisco.com, L=ciscogeneric, S=ciscogeneric`).
    case generic
}

/// One way a request is refused, with the status and one-line reason it must get wherever it runs.
public struct RefusalCase: Sendable, CustomStringConvertible {
    public var name: String
    public var caller: RefusalCaller
    public var method: String
    /// The file requested; `{mac}` stands for the caller's MAC.
    public var file: String
    /// The catalogue's case this refusal is (nil for the 200 baseline).
    public var kind: RefusalKind?
    public var status: Int
    public var reason: String

    public var description: String { name }

    /// A refusal of the catalogue: its status and reason are the catalogue's.
    public init(name: String, caller: RefusalCaller, method: String, file: String, kind: RefusalKind) {
        self.init(name: name, caller: caller, method: method, file: file, status: kind.status, reason: kind.reason)
        self.kind = kind
    }

    public init(name: String, caller: RefusalCaller, method: String, file: String, status: Int, reason: String) {
        self.name = name
        self.caller = caller
        self.method = method
        self.file = file
        self.status = status
        self.reason = reason
    }

    /// Not a refusal: the caller's own profile, answered 200 (the baseline beside the table).
    public static let ownProfile = RefusalCase(name: "the caller's own profile", caller: .known, method: "GET",
                                               file: "{mac}.xml", status: 200, reason: "ok")

    /// The file name for a caller with `mac`.
    public func file(mac: String) -> String { file.replacingOccurrences(of: "{mac}", with: mac) }
}

/// The table every level runs: ServiceTests (in-process), CGIProcessTests (profile-cgi as a process) and the
/// end-to-end suite (through Apache, CGI and FastCGI).
public let refusalCases: [RefusalCase] = [
    RefusalCase(name: "PUT is not a profile request", caller: .known, method: "PUT", file: "{mac}.xml",
                kind: .methodNotAllowed),
    RefusalCase(name: "an ending that is no form", caller: .known, method: "GET", file: "{mac}.txt",
                kind: .unsupportedFileType),
    RefusalCase(name: "another phone's file", caller: .known, method: "GET", file: "000e08000001.xml",
                kind: .macMismatch),
    RefusalCase(name: ".cfg for a device without a key", caller: .known, method: "GET", file: "{mac}.cfg",
                kind: .noEncryptionConfigured),
    RefusalCase(name: "a certificate of no device", caller: .unknown, method: "GET", file: "{mac}.xml",
                kind: .unknownDevice),
    RefusalCase(name: "a disabled device", caller: .disabled, method: "GET", file: "{mac}.xml",
                kind: .deviceDisabled),
    RefusalCase(name: "the stored serial differs", caller: .otherSerial, method: "GET", file: "{mac}.xml",
                kind: .serialMismatch),
    RefusalCase(name: "the stored product differs", caller: .otherModel, method: "GET", file: "{mac}.xml",
                kind: .modelMismatch),
    RefusalCase(name: "the generic certificate", caller: .generic, method: "GET", file: "CP-8841-3PCC.xml",
                kind: .genericCertificate),
]

/// Every refusal of the catalogue (`RefusalKind`) that the shared table above does not hold, with why and where
/// else it is tested. A test checks that each case is in exactly one of the two, so a new refusal cannot skip
/// the table unnoticed: adding a case to `RefusalKind` fails that test until it is put in the table (and so runs
/// in-process, as a CGI process, as a FastCGI responder and through Apache) or here with its reason.
public let refusalsOutsideTheTable: [RefusalKind: String] = [
    .certificateNotVerified: "a request without a verified certificate, not one of the table's callers: IdentityTests, ServiceTests, CGIProcessTests, EndToEndTests",
    .unreadableCertificate: "a malformed SSL_CLIENT_CERT, which mod_ssl never hands over: IdentityTests only",
    .noMACInCertificate: "a subject without ST or CN MAC, which the test CA does not issue: IdentityTests only",
    .malformedMACInCertificate: "a malformed ST, which the test CA does not issue: IdentityTests only",
    .authenticationRequired: "a device with an account and no certificate: by status (401) in TrustTests, TrustEndToEndTests",
    .wrongCredentials: "an Authorization header over HTTPS: TrustTests (401), ResyncTests",
    .tooManyFailedLogins: "repeated failed logins: TrustTests",
    .authenticationUnavailable: "an auth state that cannot be opened: NOT TESTED at any level yet",
    .bootstrapServesOnlyCfg: "a bootstrap device and no certificate: by status in TrustTests",
    .unknownPartition: "a partition file name: PartitionTests",
    .databaseBusy: "a lock held on the configuration file: NOT TESTED by reason yet (the reliability suite)",
    .serverError: "a broken database or settings: ServiceTests, CGIProcessTests, FastCGIProcessTests",
    .reportTooLarge: "a report POST: by status (413) in LoopTests",
    .emptyReport: "a report POST: NOT TESTED by reason yet",
    .undecryptableReport: "a report POST: LoopTests",
    .unreadableReport: "a report POST: by status (400) in LoopTests",
]

/// The callers of the in-process and process levels: MAC, serial, model in the certificate, and the device row
/// stored for it (nil: none).
public struct LocalCaller: Sendable {
    public var mac: String
    public var serial: String
    public var model: String
    public var stored: Device?

    public static func of(_ caller: RefusalCaller) -> LocalCaller {
        func device(_ mac: String, serial: String = phoneSerial, model: String = phoneModel, enabled: Bool = true) -> Device {
            Device(mac: MACAddress(mac)!, serial: serial, model: model, enabled: enabled)
        }
        switch caller {
        case .known: return LocalCaller(mac: "000e08abcdef", serial: phoneSerial, model: phoneModel, stored: device("000e08abcdef"))
        case .unknown: return LocalCaller(mac: "000e08abcd99", serial: phoneSerial, model: phoneModel, stored: nil)
        case .disabled: return LocalCaller(mac: "000e08abcd01", serial: phoneSerial, model: phoneModel,
                                           stored: device("000e08abcd01", enabled: false))
        case .otherSerial: return LocalCaller(mac: "000e08abcd02", serial: phoneSerial, model: phoneModel,
                                              stored: device("000e08abcd02", serial: "FCHOTHER"))
        case .otherModel: return LocalCaller(mac: "000e08abcd03", serial: phoneSerial, model: phoneModel,
                                             stored: device("000e08abcd03", model: "CP-7841-3PCC"))
        case .generic: return LocalCaller(mac: "ciscogeneric", serial: "ciscogeneric", model: "cisco.com", stored: nil)
        }
    }

    /// Every stored device of the table.
    public static var devices: [Device] { RefusalCaller.allCases.compactMap { of($0).stored } }

    /// The environment mod_ssl would give this caller's request of `refusal`.
    public func environment(database: String, for refusal: RefusalCase) -> [String: String] {
        phoneEnvironment(database: database, path: "/" + refusal.file(mac: mac), method: refusal.method,
                         mac: mac, serial: serial, model: model)
    }
}
