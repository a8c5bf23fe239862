/// Where a setting or variable applies: everyone, one model, one group, or one device. Later scopes win.
public enum Scope: Hashable, Sendable, Comparable, CustomStringConvertible {
    case all
    case model(String)
    case group(String)
    case device(MACAddress)

    /// The `scope` column: `default`, `model`, `group` or `device`.
    public var kind: String {
        switch self {
        case .all: "default"
        case .model: "model"
        case .group: "group"
        case .device: "device"
        }
    }

    /// The `target` column: empty for default, else the model, the group or the MAC.
    public var target: String {
        switch self {
        case .all: ""
        case .model(let name), .group(let name): name
        case .device(let mac): mac.hex
        }
    }

    /// 0 for default up to 3 for device: the merge order.
    public var rank: Int {
        switch self {
        case .all: 0
        case .model: 1
        case .group: 2
        case .device: 3
        }
    }

    /// `default`, `model:CP-8841-3PCC`, `group:sales`, `device:000e08abcdef`: what `provctl` takes and prints.
    public var description: String { self == .all ? "default" : "\(kind):\(target)" }

    /// Reads the spelling `description` prints; a device scope takes any MAC spelling.
    public init?(_ text: String) {
        if text == "default" { self = .all; return }
        guard let colon = text.firstIndex(of: ":") else { return nil }
        let kind = text[..<colon]
        let target = String(text[text.index(after: colon)...])
        guard !target.isEmpty else { return nil }
        switch kind {
        case "model": self = .model(target)
        case "group": self = .group(target)
        case "device":
            guard let mac = MACAddress(target) else { return nil }
            self = .device(mac)
        default: return nil
        }
    }

    /// Rebuilds a scope from its two columns (on the CGI's path: no string building).
    public init?(kind: String, target: String) {
        switch kind {
        case "default": self = .all
        case "model" where !target.isEmpty: self = .model(target)
        case "group" where !target.isEmpty: self = .group(target)
        case "device":
            guard let mac = MACAddress(target) else { return nil }
            self = .device(mac)
        default: return nil
        }
    }

    public static func < (lhs: Scope, rhs: Scope) -> Bool {
        lhs.rank != rhs.rank ? lhs.rank < rhs.rank : lhs.target < rhs.target
    }
}

/// The phone's `ua` attribute: what its user may do with a parameter on the phone's web page.
public enum UserAccess: String, Sendable, CaseIterable {
    case na, ro, rw
}

/// How a device's `.cfg` is encrypted.
public enum Encryption: Sendable, Equatable {
    case none
    /// `openssl enc -aes-256-cbc -k key -md digest`. The key is a passphrase, as the phone's `[--key]` is.
    case aes256cbc(key: String, digest: KeyDerivationDigest)

    /// The `encryption` column: `none` or `aes-256-cbc`.
    public var name: String {
        switch self {
        case .none: "none"
        case .aes256cbc: "aes-256-cbc"
        }
    }
}

/// One phone the server knows, keyed by MAC.
public struct Device: Sendable, Equatable {
    public var mac: MACAddress
    /// When set, the certificate's serial must equal it.
    public var serial: String?
    /// When set, the certificate's product must equal it; also picks the model scope.
    public var model: String?
    /// Picks the group scope.
    public var group: String?
    /// A disabled device is refused with 403.
    public var enabled: Bool
    /// Gzip the XML before encrypting a `.cfg`.
    public var gzip: Bool
    public var encryption: Encryption

    public init(mac: MACAddress, serial: String? = nil, model: String? = nil, group: String? = nil,
                enabled: Bool = true, gzip: Bool = false, encryption: Encryption = .none) {
        self.mac = mac
        self.serial = serial
        self.model = model
        self.group = group
        self.enabled = enabled
        self.gzip = gzip
        self.encryption = encryption
    }
}

/// One parameter value at one scope.
public struct Setting: Sendable, Equatable {
    public var scope: Scope
    /// The flat-profile element name, such as `Resync_Periodic` or `Display_Name_1_`.
    public var name: String
    /// The value, which may hold `{{variables}}` and phone macros (`$MA`).
    public var value: String
    /// `ua="..."`, when set; a scope that leaves it unset inherits it from the scope below.
    public var access: UserAccess?

    public init(scope: Scope, name: String, value: String, access: UserAccess? = nil) {
        self.scope = scope
        self.name = name
        self.value = value
        self.access = access
    }
}

/// One `{{name}}` variable at one scope.
public struct Variable: Sendable, Equatable {
    public var scope: Scope
    public var name: String
    public var value: String

    public init(scope: Scope, name: String, value: String) {
        self.scope = scope
        self.name = name
        self.value = value
    }
}

/// Everything stored that applies to one device: its settings and variables of all four scopes.
public struct Layers: Sendable, Equatable {
    public var settings: [Setting]
    public var variables: [Variable]

    public init(settings: [Setting] = [], variables: [Variable] = []) {
        self.settings = settings
        self.variables = variables
    }
}
