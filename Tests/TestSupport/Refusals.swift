import Foundation
public import Provisioning
import ProvisioningAdmin

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
    /// A registered device with an HTTP account (`refusalAccount`), calling without a certificate.
    case withAccount
    /// A registered device with a key whose bootstrap policy is `cfg`, calling without a certificate.
    case bootstrapCfg
    /// A registered device whose own setting names an undefined `{{nosuch}}`: it cannot be rendered.
    case unrenderable
}

/// The account of `RefusalCaller.withAccount`.
public let refusalAccount = (user: "acct-refusals", password: "right password")

/// The levels the refusal table runs at.
public enum RefusalLevel: String, Sendable, CaseIterable {
    case inProcess = "in-process"
    case cgiProcess = "CGI process"
    case fastCGI = "FastCGI responder"
    case apache = "through Apache"
}

/// What the caller's TLS client certificate looks like to the service.
public enum PresentedCertificate: Sendable {
    /// The caller's own, verified (subject variables at the local levels, a real certificate through Apache).
    case valid
    /// None: `SSL_CLIENT_VERIFY` is `NONE`.
    case none
    /// A verified certificate whose PEM cannot be read.
    case unreadable
    /// A verified subject without ST/S or CN MAC.
    case withoutMAC
    /// A verified subject whose ST is no MAC.
    case malformedMAC
}

/// What must hold around the request beyond the configuration database.
public enum RefusalSetup: Sendable {
    case none
    /// `AuthState.failureLimit` failed logins of the account from the caller's address, just before.
    case failedLogins
    /// The journal's folder (where `auth.db` lives) does not exist.
    case unopenableAuthState
    /// Another connection holds an exclusive lock on the configuration database during the request.
    case lockedDatabase
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
    public var certificate = PresentedCertificate.valid
    /// Basic credentials sent over HTTPS (`Authorization`).
    public var credentials: (user: String, password: String)? = nil
    /// The request body (a report POST) and its `CONTENT_LENGTH` when it is not the body's length.
    public var body: [UInt8]? = nil
    public var contentLength: Int? = nil
    public var setup = RefusalSetup.none
    /// The levels this case cannot be provoked at, each with why.
    public var skipped: [RefusalLevel: String] = [:]

    public var description: String { kind.map { "\($0): \(name)" } ?? name }

    /// A refusal of the catalogue: its status and reason are the catalogue's.
    public init(name: String, caller: RefusalCaller = .known, method: String = "GET", file: String = "{mac}.xml",
                kind: RefusalKind) {
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

    /// Why this case is not run at `level`, or nil when it is.
    public func skipReason(at level: RefusalLevel) -> String? { skipped[level] }

    /// The `Authorization` header of `credentials`.
    public var authorization: String? {
        credentials.map { "Basic " + Data("\($0.user):\($0.password)".utf8).base64EncodedString() }
    }

    /// How to provoke `kind`: the one place each case of the catalogue gets its request. The switch has no
    /// default, so a new case of `RefusalKind` does not compile until it is given one (and so runs at every level
    /// or is skipped at a level with its reason).
    public static func provoking(_ kind: RefusalKind) -> RefusalCase {
        let apacheFixed = "the server's environment is fixed for the whole end-to-end run"
        switch kind {
        case .methodNotAllowed:
            return RefusalCase(name: "PUT is not a profile request", method: "PUT", kind: kind)
        case .unsupportedFileType:
            return RefusalCase(name: "an ending that is no form", file: "{mac}.txt", kind: kind)
        case .certificateNotVerified:
            var refusal = RefusalCase(name: "no certificate, a device without account or bootstrap", kind: kind)
            refusal.certificate = .none
            return refusal
        case .unreadableCertificate:
            var refusal = RefusalCase(name: "a verified certificate whose PEM is not base64", kind: kind)
            refusal.certificate = .unreadable
            refusal.skipped[.apache] = "mod_ssl hands over only a certificate it parsed and verified"
            return refusal
        case .genericCertificate:
            return RefusalCase(name: "the generic certificate", caller: .generic, file: "CP-8841-3PCC.xml", kind: kind)
        case .noMACInCertificate:
            var refusal = RefusalCase(name: "a subject with neither ST nor CN MAC", kind: kind)
            refusal.certificate = .withoutMAC
            refusal.skipped[.apache] = "the test CA (Tests/pki) issues phone certificates only with a MAC"
            return refusal
        case .malformedMACInCertificate:
            var refusal = RefusalCase(name: "an ST that is no MAC", kind: kind)
            refusal.certificate = .malformedMAC
            refusal.skipped[.apache] = "the test CA (Tests/pki) issues phone certificates only with a well-formed MAC"
            return refusal
        case .macMismatch:
            return RefusalCase(name: "another phone's file", file: "000e08000001.xml", kind: kind)
        case .authenticationRequired:
            var refusal = RefusalCase(name: "no certificate, a device with an account", caller: .withAccount, kind: kind)
            refusal.certificate = .none
            return refusal
        case .wrongCredentials:
            var refusal = RefusalCase(name: "Basic credentials with a wrong password", caller: .withAccount, kind: kind)
            refusal.certificate = .none
            refusal.credentials = (refusalAccount.user, "wrong password")
            return refusal
        case .tooManyFailedLogins:
            var refusal = RefusalCase(name: "a login after failureLimit failed ones", caller: .withAccount, kind: kind)
            refusal.certificate = .none
            refusal.credentials = refusalAccount
            refusal.setup = .failedLogins
            refusal.skipped[.apache] = "the failures count against the test client's address too, which would put the trust suite's logins into back-off"
            return refusal
        case .authenticationUnavailable:
            var refusal = RefusalCase(name: "credentials while auth.db cannot be opened", caller: .withAccount, kind: kind)
            refusal.certificate = .none
            refusal.credentials = refusalAccount
            refusal.setup = .unopenableAuthState
            refusal.skipped[.fastCGI] = "the responder's journal path is its process environment, fixed when the suite starts it"
            refusal.skipped[.apache] = apacheFixed + " (its journal folder, where auth.db lives, is writable)"
            return refusal
        case .bootstrapServesOnlyCfg:
            var refusal = RefusalCase(name: "no certificate, bootstrap cfg, the .xml asked", caller: .bootstrapCfg, kind: kind)
            refusal.certificate = .none
            return refusal
        case .unknownDevice:
            return RefusalCase(name: "a certificate of no device", caller: .unknown, kind: kind)
        case .deviceDisabled:
            return RefusalCase(name: "a disabled device", caller: .disabled, kind: kind)
        case .serialMismatch:
            return RefusalCase(name: "the stored serial differs", caller: .otherSerial, kind: kind)
        case .modelMismatch:
            return RefusalCase(name: "the stored product differs", caller: .otherModel, kind: kind)
        case .noEncryptionConfigured:
            return RefusalCase(name: ".cfg for a device without a key", file: "{mac}.cfg", kind: kind)
        case .unknownPartition:
            return RefusalCase(name: "a partition the device has no settings in", file: "{mac}-nosuch.xml", kind: kind)
        case .databaseBusy:
            var refusal = RefusalCase(name: "the configuration database locked by a writer", kind: kind)
            refusal.setup = .lockedDatabase
            refusal.skipped[.fastCGI] = "the responder keeps its connection and read state across requests; the lock is tested in-process and as a CGI process"
            refusal.skipped[.apache] = "a lock on the server's configuration database would stall every suite running beside this one"
            return refusal
        case .serverError:
            return RefusalCase(name: "a setting that cannot be rendered (an undefined {{nosuch}})",
                               caller: .unrenderable, kind: kind)
        case .reportTooLarge:
            var refusal = RefusalCase(name: "a report longer than the body limit", method: "POST", file: "report/{mac}.xml", kind: kind)
            refusal.body = Array(repeating: UInt8(ascii: " "), count: Request.bodyLimit + 1)
            return refusal
        case .emptyReport:
            var refusal = RefusalCase(name: "a report without a body", method: "POST", file: "report/{mac}.xml", kind: kind)
            refusal.body = []
            return refusal
        case .undecryptableReport:
            var refusal = RefusalCase(name: "an encrypted report from a device without a key", method: "POST",
                                      file: "report/{mac}.cfg", kind: kind)
            refusal.body = Array("Salted__".utf8) + Array(repeating: 7, count: 40)
            return refusal
        case .unreadableReport:
            var refusal = RefusalCase(name: "a report that is not XML", method: "POST", file: "report/{mac}.xml", kind: kind)
            refusal.body = Array("not xml at all".utf8)
            return refusal
        }
    }
}

/// The table every level runs, one case per refusal of the catalogue: ServiceTests (in-process),
/// CGIProcessTests (profile-cgi as a process), FastCGIProcessTests and the end-to-end suite (through Apache, CGI
/// and FastCGI). A case a level cannot provoke is skipped there with its stated reason.
public let refusalCases: [RefusalCase] = RefusalKind.allCases.map(RefusalCase.provoking)

/// The skip line a level prints for a case it does not run (so the reason is in the test output).
public func skipNote(_ refusal: RefusalCase, at level: RefusalLevel) -> String? {
    guard let why = refusal.skipReason(at: level) else { return nil }
    let line = "refusal table, \(level.rawValue): skipped \(refusal.kind.map { "\($0)" } ?? refusal.name): \(why)"
    print(line)
    return line
}

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
        func phone(_ mac: String, _ stored: Device?) -> LocalCaller {
            LocalCaller(mac: mac, serial: phoneSerial, model: phoneModel, stored: stored)
        }
        switch caller {
        case .known: return phone("000e08abcdef", device("000e08abcdef"))
        case .unknown: return phone("000e08abcd99", nil)
        case .disabled: return phone("000e08abcd01", device("000e08abcd01", enabled: false))
        case .otherSerial: return phone("000e08abcd02", device("000e08abcd02", serial: "FCHOTHER"))
        case .otherModel: return phone("000e08abcd03", device("000e08abcd03", model: "CP-7841-3PCC"))
        case .generic: return LocalCaller(mac: "ciscogeneric", serial: "ciscogeneric", model: "cisco.com", stored: nil)
        case .withAccount:
            var stored = device("000e08abcd04")
            stored.account = DeviceAccount(user: refusalAccount.user, realm: DeviceAccount.defaultRealm,
                                           ha1: AccountCheck.ha1(user: refusalAccount.user, realm: DeviceAccount.defaultRealm,
                                                                 password: refusalAccount.password))
            return phone("000e08abcd04", stored)
        case .bootstrapCfg:
            var stored = device("000e08abcd05")
            stored.encryption = .aes256cbc(key: "bootstrap key 0123456789", digest: .sha256)
            stored.bootstrap = .cfg
            return phone("000e08abcd05", stored)
        case .unrenderable: return phone("000e08abcd06", device("000e08abcd06"))
        }
    }

    /// Every stored device of the table.
    public static var devices: [Device] { RefusalCaller.allCases.compactMap { of($0).stored } }

    /// Every setting of the table: the unrenderable caller's own.
    public static var settings: [Setting] {
        [Setting(scope: .device(of(.unrenderable).stored!.mac), name: "GPP_A", value: "{{nosuch}}")]
    }

    /// The configuration database of the table's callers (with `extra` settings), in `directory`.
    public static func database(in directory: TemporaryDirectory, settings extra: [Setting] = []) throws -> String {
        try makeDatabase(in: directory, devices: devices, settings: settings + extra)
    }

    /// The environment mod_ssl would give this caller's request of `refusal`.
    public func environment(database: String, for refusal: RefusalCase) -> [String: String] {
        var environment = phoneEnvironment(database: database, path: "/" + refusal.file(mac: mac), method: refusal.method,
                                           mac: mac, serial: serial, model: model)
        guard refusal.kind != nil else { return environment }
        environment["HTTPS"] = "on"
        switch refusal.certificate {
        case .valid: break
        case .none:
            environment["SSL_CLIENT_VERIFY"] = "NONE"
            for key in ["SSL_CLIENT_S_DN", "SSL_CLIENT_S_DN_OU", "SSL_CLIENT_S_DN_L", "SSL_CLIENT_S_DN_ST"] {
                environment.removeValue(forKey: key)
            }
        case .unreadable:
            environment["SSL_CLIENT_CERT"] = "-----BEGIN CERTIFICATE-----\nnot base64 at all\n-----END CERTIFICATE-----\n"
        case .withoutMAC:
            environment.removeValue(forKey: "SSL_CLIENT_S_DN_ST")
            environment["SSL_CLIENT_S_DN"] = "L=\(serial),OU=\(model)"
        case .malformedMAC:
            environment["SSL_CLIENT_S_DN_ST"] = "not-a-mac"
            environment["SSL_CLIENT_S_DN"] = "ST=not-a-mac,L=\(serial),OU=\(model)"
        }
        if let authorization = refusal.authorization { environment["HTTP_AUTHORIZATION"] = authorization }
        if let body = refusal.body { environment["CONTENT_LENGTH"] = String(refusal.contentLength ?? body.count) }
        if refusal.setup == .unopenableAuthState {
            environment["PROVISIONER_JOURNAL"] = FilePath.directory(of: database) + "/no such folder/journal.db"
        }
        return environment
    }

    /// Makes what `refusal.setup` asks hold for a request on `database` (whose journal is the default one beside
    /// it); the value returned holds it (a lock) until it is released.
    public func prepare(_ refusal: RefusalCase, database: String) throws -> AnyObject? {
        switch refusal.setup {
        case .none, .unopenableAuthState:
            return nil
        case .failedLogins:
            let state = try AuthState(path: AuthState.path(journalPath: FilePath.directory(of: database) + "/journal.db"))
            let now = Int(Date().timeIntervalSince1970)
            for _ in 0..<AuthState.failureLimit {
                try state.recordFailure(user: refusalAccount.user, address: "192.0.2.10", now: now)
            }
            return nil
        case .lockedDatabase:
            let store = try ConfigurationEditor(path: database, mode: .readWrite)
            try store.database.execute("PRAGMA locking_mode = EXCLUSIVE")
            try store.database.execute("BEGIN EXCLUSIVE")
            try store.database.execute("UPDATE devices SET enabled = enabled")
            return store
        }
    }
}

extension RefusalKind {
    /// The headers the catalogue says this refusal carries (and so no other refusal does): `Allow`,
    /// `Retry-After`, `WWW-Authenticate`, with whether each must be present.
    public var catalogueHeaders: [(name: String, present: Bool)] {
        [("Allow", allowsHeader), ("Retry-After", retries), ("WWW-Authenticate", challenges)]
    }

    /// What is wrong with `headers` (names compared without case) against the catalogue; empty when right.
    public func headerProblems(_ headers: [String: String]) -> [String] {
        let names = Set(headers.keys.map { $0.lowercased() })
        return catalogueHeaders.compactMap { header in
            names.contains(header.name.lowercased()) == header.present ? nil
                : "\(self): \(header.name) \(header.present ? "missing" : "not expected")"
        }
    }
}
