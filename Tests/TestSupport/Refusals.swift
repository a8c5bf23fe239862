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
    public var status: Int
    public var reason: String

    public var description: String { name }

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
                status: 405, reason: "method not allowed"),
    RefusalCase(name: "an ending that is no form", caller: .known, method: "GET", file: "{mac}.txt",
                status: 404, reason: "unsupported file type"),
    RefusalCase(name: "another phone's file", caller: .known, method: "GET", file: "000e08000001.xml",
                status: 403, reason: "MAC mismatch"),
    RefusalCase(name: ".cfg for a device without a key", caller: .known, method: "GET", file: "{mac}.cfg",
                status: 404, reason: "no encryption configured"),
    RefusalCase(name: "a certificate of no device", caller: .unknown, method: "GET", file: "{mac}.xml",
                status: 404, reason: "unknown device"),
    RefusalCase(name: "a disabled device", caller: .disabled, method: "GET", file: "{mac}.xml",
                status: 403, reason: "device disabled"),
    RefusalCase(name: "the stored serial differs", caller: .otherSerial, method: "GET", file: "{mac}.xml",
                status: 403, reason: "serial mismatch"),
    RefusalCase(name: "the stored product differs", caller: .otherModel, method: "GET", file: "{mac}.xml",
                status: 403, reason: "model mismatch"),
    RefusalCase(name: "the generic certificate", caller: .generic, method: "GET", file: "CP-8841-3PCC.xml",
                status: 403, reason: "generic certificate"),
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
