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

    /// The merge order: default, model, group, device.
    public var rank: Rank {
        switch self {
        case .all: .all
        case .model: .model
        case .group: .group
        case .device: .device
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
    /// RFC 8188 `Content-Encoding: aes128gcm`, with the phone's `IKM_HTTP_Encrypt_Content`.
    case aes128gcm(ContentEncryptionKey)

    /// The `encryption` column: `none`, `aes-256-cbc` or `aes128gcm`.
    public var name: String {
        switch self {
        case .none: "none"
        case .aes256cbc: "aes-256-cbc"
        case .aes128gcm: "aes128gcm"
        }
    }

    /// The names `name` takes, for provctl's messages.
    public static let names = ["none", "aes-256-cbc", "aes128gcm"]
}

/// A device's RFC 8188 key material and header fields.
public struct ContentEncryptionKey: Sendable, Equatable {
    /// The input keying material in base64url, as RFC 8188's examples write keys and as the phone's
    /// `IKM_HTTP_Encrypt_Content` carries it.
    public var ikm: String
    /// The `keyid` field of the header (UTF-8, at most 255 octets); empty by default.
    public var keyID: String
    /// The `rs` field: the size of each encrypted record, 18 up to 2^32-1.
    public var recordSize: Int

    public init(ikm: String, keyID: String = "", recordSize: Int = AES128GCM.defaultRecordSize) {
        self.ikm = ikm
        self.keyID = keyID
        self.recordSize = recordSize
    }

    /// The IKM's octets; nil when `ikm` is not base64url.
    public var ikmBytes: [UInt8]? { Base64URL.decode(ikm) }

    /// Why these fields cannot be used, naming the field; nil when they can. The IKM must be base64url of at
    /// least 16 octets (the key the cipher ends up with is 128 bits; less input would weaken it).
    public var problem: String? {
        guard let bytes = ikmBytes else { return "--key: the IKM must be base64url (A-Z a-z 0-9 - _), as RFC 8188 writes keys" }
        if bytes.count < 16 { return "--key: the IKM must be at least 16 octets (22 base64url characters), it is \(bytes.count)" }
        if keyID.utf8.count > 255 { return "--key-id: at most 255 octets" }
        if recordSize < AES128GCM.minimumRecordSize || recordSize > AES128GCM.maximumRecordSize {
            return "--record-size: \(recordSize) must be 18 to \(AES128GCM.maximumRecordSize) (RFC 8188 §2)"
        }
        return nil
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
    /// The HTTP account a phone without a unique certificate authenticates with (Basic or Digest, over HTTPS).
    public var account: DeviceAccount?
    /// What a caller that proved nothing may fetch of this device (plain HTTP, TFTP export, `/$PSN.xml`).
    public var bootstrap: BootstrapPolicy

    public init(mac: MACAddress, serial: String? = nil, model: String? = nil, group: String? = nil,
                enabled: Bool = true, gzip: Bool = false, encryption: Encryption = .none,
                account: DeviceAccount? = nil, bootstrap: BootstrapPolicy = .none) {
        self.mac = mac
        self.serial = serial
        self.model = model
        self.group = group
        self.enabled = enabled
        self.gzip = gzip
        self.encryption = encryption
        self.account = account
        self.bootstrap = bootstrap
    }
}

/// A device's HTTP account: the user name, the realm, and HA1 = MD5(user:realm:password) (RFC 7616 §3.4.2), the
/// one stored form of the password. It answers Digest directly and Basic by hashing the offered password the same
/// way; the password itself is never stored and cannot be read back.
public struct DeviceAccount: Sendable, Equatable {
    public var user: String
    public var realm: String
    /// 32 lower-case hex digits.
    public var ha1: String

    public init(user: String, realm: String, ha1: String) {
        self.user = user
        self.realm = realm
        self.ha1 = ha1
    }

    /// The realm new accounts get.
    public static let defaultRealm = "provisioner"
}

/// What the server hands a caller that proved nothing (no unique certificate, no account): the admin's choice
/// per device. Only ever what is safe to hand anyone.
public enum BootstrapPolicy: String, Sendable, CaseIterable {
    /// Nothing: 401 (when the device has an account) or 403.
    case none
    /// The encrypted `.cfg` only; the phone's key reaches it by another route.
    case cfg
    /// The profile with every secret left out (`Secrets`), in any form.
    case profile
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
    /// The partition of the profile the setting belongs to: '' for the main profile (`$MA.xml`), else a name
    /// the phone fetches as `$MA-<name>.xml` (see `Partition`).
    public var partition: String
    /// What an empty value means (FACTS §4): `.empty` sets the phone's value to the empty string (`<X></X>`),
    /// `.keep` leaves the phone's value as it is (`<X/>`). `nil` on an empty value: a row stored before schema 9,
    /// whose intent is unknown (served `<X/>` as before; `provctl check` lists it). Always `nil` on a non-empty
    /// value.
    public var intent: EmptyIntent?

    public init(scope: Scope, name: String, value: String, access: UserAccess? = nil, partition: String = "",
                intent: EmptyIntent? = nil) {
        self.scope = scope
        self.name = name
        self.value = value
        self.access = access
        self.partition = partition
        self.intent = value.isEmpty ? intent : nil
    }
}

/// The two meanings of a parameter with no value (FACTS §4), kept apart.
public enum EmptyIntent: String, Sendable, Equatable {
    /// Set the phone's value to the empty string: `<X></X>`.
    case empty
    /// Leave the phone's value as it is (with `ua="rw"`, what the user set): `<X/>`.
    case keep

    /// The stored text (`settings.intent`) as an intent; anything else is unknown.
    public init?(column: String?) {
        guard let column, let intent = EmptyIntent(rawValue: column) else { return nil }
        self = intent
    }
}

/// Partitioned profiles: besides its main profile a device may have named partitions, each a profile of its own
/// that the phone fetches with `Profile_Rule_B`.._D` (applied in order after `Profile_Rule`). A partition is
/// named in the file name after the MAC and a dash: `$MA-lines.xml`, `$MA-lines.cfg`, `$MAU-lines.gz`.
public enum Partition {
    /// The longest partition name.
    public static let maximumLength = 32

    /// True for a partition name: 1 to 32 of `a-z`, `0-9`, `_`.
    public static func isValidName(_ name: String) -> Bool {
        guard !name.isEmpty, name.utf8.count <= maximumLength else { return false }
        return name.utf8.allSatisfy { ($0 >= UInt8(ascii: "a") && $0 <= UInt8(ascii: "z"))
            || ($0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9")) || $0 == UInt8(ascii: "_") }
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
