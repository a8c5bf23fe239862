/// How well a caller proved who it is, decided per request; it decides what the caller gets.
///
/// - `full`: a unique client certificate that names the device, or the device's HTTP account (Basic or Digest,
///   over HTTPS): the whole profile.
/// - `bootstrap`: nothing proved (no certificate or the generic `ciscogeneric` one, no credentials; plain HTTP,
///   the factory rule `/$PSN.xml`): only what the device's `BootstrapPolicy` declares safe for anyone, the
///   encrypted `.cfg` or the profile with every secret left out; nothing at all by default.
public enum TrustLevel: String, Sendable {
    case full
    case bootstrap
}

extension ProfileService {
    /// Settles a caller that presented no usable certificate (`certificateRefusal` says why): by its
    /// `Authorization` header over HTTPS, else at bootstrap trust for a device that allows it, else a 401
    /// challenge (over HTTPS) or the certificate's own refusal. Runs inside the request's read transaction.
    func settleWithoutCertificate(_ request: Request, _ asked: ProfileRequest, store: ConfigurationStore,
                                  certificateRefusal: IdentityError, now: Int) throws(ServingError) -> (ClientIdentity, TrustLevel) {
        let seconds = now / 1_000_000
        let address = request.remoteAddress ?? "-"
        if request.isHTTPS, let header = request.authorization {
            let state: AuthState
            do {
                state = try AuthState(path: AuthState.path(journalPath: configuration.journalPath))
            } catch {
                throw .authentication(.stateUnavailable("\(error)"))
            }
            // The name tried, for counting failures per account (nil for a header that names nobody).
            let tried: String? = switch HTTPAuthorization(header) {
            case .basic(let user, _)?: user
            case .digest(let digest)?: digest.user
            case nil: nil
            }
            // Nonces are bound to this node (see `nonceBinding`).
            let binding = Self.nonceBinding(address: address, node: configuration.node)
            return try reading { () throws -> (ClientIdentity, TrustLevel) in
                if let wait = try state.retryAfter(user: tried, address: address, now: seconds) {
                    throw ServingError.authentication(.backingOff(user: tried.map { String($0.prefix(64)) }, address: address,
                                                                  seconds: wait))
                }
                let key = try store.nonceKey() ?? []
                switch try verify(header, request: request, store: store, key: key, address: binding, now: seconds, state: state) {
                case .accepted(let device):
                    try state.recordSuccess(user: tried ?? "", address: address, now: seconds)
                    var identity = ClientIdentity.standIn(for: device)
                    identity.source = .account
                    return (identity, .full)
                case .stale(let realm):
                    throw ServingError.authentication(.staleNonce(
                        challenge: Self.challenge(realm: realm, key: key, address: binding, now: seconds, stale: true)))
                case .rejected(let realm, let why):
                    try state.recordFailure(user: tried, address: address, now: seconds)
                    throw ServingError.authentication(.rejected(
                        why: why, challenge: Self.challenge(realm: realm, key: key, address: binding, now: seconds, stale: false)))
                }
            }
        }
        // Nothing proved: the device the file name (else the User-Agent's MAC, else its serial: SPA525G and ATA191
        // agents carry only the serial) names, if it allows bootstrap.
        let agent = request.userAgent
        let named = asked.namedMAC ?? agent?.mac
        var device: Device? = nil
        do {
            if let named {
                device = try store.device(mac: named)
            } else if let serial = agent?.serial {
                device = try store.device(serial: serial)
            }
        } catch {
            throw failure(reading: error)
        }
        // A device with an account is challenged over HTTPS rather than handed its bootstrap answer: a phone
        // sends its [--uid --pwd] only in answer to a 401.
        if let device, device.enabled, device.bootstrap != .none, !(request.isHTTPS && device.account != nil) {
            var identity = ClientIdentity.standIn(for: device)
            identity.source = .bootstrap
            return (identity, .bootstrap)
        }
        // Over HTTPS, a device with an account (named by the file name, else by the User-Agent's MAC or serial)
        // is challenged: its phone answers with the [--uid --pwd] of its rule.
        // Anything else keeps the certificate's refusal (403 certificate not verified, generic certificate).
        if request.isHTTPS && device?.account != nil {
            let key = try reading { try store.nonceKey() ?? [] }
            throw .authentication(.challenged(
                certificate: certificateRefusal,
                challenge: Self.challenge(realm: device?.account?.realm ?? DeviceAccount.defaultRealm, key: key,
                                          address: Self.nonceBinding(address: address, node: configuration.node),
                                          now: seconds, stale: false)))
        }
        throw .authentication(.certificate(certificateRefusal))
    }

    /// What a Digest nonce is bound to: the client's address and this node. Each node keeps its own replay
    /// state (`auth.db` beside its journal; sharing it would put a network write on every phone's login), so a
    /// nonce issued by one node is `forged` on another, whose answer is a fresh challenge: a captured answer
    /// cannot be replayed against a second node, at the cost of one more round trip for a phone whose load
    /// balancer switches nodes between the challenge and the answer.
    static func nonceBinding(address: String, node: String) -> String {
        address + "|" + node
    }

    enum Verdict {
        case accepted(Device)
        case stale(realm: String)
        case rejected(realm: String, why: String)
    }

    /// Checks Basic or Digest credentials against the account they name.
    func verify(_ header: String, request: Request, store: ConfigurationStore, key: [UInt8], address: String, now: Int,
                state: AuthState) throws -> Verdict {
        guard let credentials = HTTPAuthorization(header) else {
            return .rejected(realm: DeviceAccount.defaultRealm, why: "unreadable Authorization header")
        }
        switch credentials {
        case .basic(let user, let password):
            guard let device = try store.device(accountUser: user), let account = device.account else {
                return .rejected(realm: DeviceAccount.defaultRealm, why: "no account \(user.prefix(64))")
            }
            let offered = AccountCheck.ha1(user: user, realm: account.realm, password: password)
            guard AccountCheck.constantTimeEqual(offered, account.ha1) else {
                return .rejected(realm: account.realm, why: "wrong password for \(user.prefix(64))")
            }
            return .accepted(device)
        case .digest(let digest):
            guard let device = try store.device(accountUser: digest.user), let account = device.account else {
                return .rejected(realm: DeviceAccount.defaultRealm, why: "no account \(digest.user.prefix(64))")
            }
            guard digest.realm == account.realm else { return .rejected(realm: account.realm, why: "wrong realm") }
            if let algorithm = digest.algorithm, algorithm.uppercased() != "MD5" {
                return .rejected(realm: account.realm, why: "algorithm \(algorithm.prefix(20)) not offered")
            }
            if let uri = request.requestURI, uri != digest.uri {
                return .rejected(realm: account.realm, why: "uri does not match the request")
            }
            if let qop = digest.qop, qop != "auth" { return .rejected(realm: account.realm, why: "qop \(qop.prefix(20))") }
            guard AccountCheck.constantTimeEqual(digest.expected(ha1: account.ha1, method: request.method), digest.response) else {
                return .rejected(realm: account.realm, why: "wrong password for \(digest.user.prefix(64))")
            }
            switch AccountCheck.check(nonce: digest.nonce, key: key, now: now, address: address) {
            case .forged: return .rejected(realm: account.realm, why: "nonce not issued here")
            case .stale: return .stale(realm: account.realm)
            case .fresh(let issued):
                // Without qop (RFC 2069) there is no counter: the nonce is good for one request.
                let counter = digest.qop == nil ? 1 : Int(digest.nc ?? "", radix: 16) ?? 0
                guard counter > 0 else { return .rejected(realm: account.realm, why: "bad nc") }
                guard try state.useNonce(digest.nonce, nc: counter, expires: issued + AccountCheck.nonceLifetime, now: now) else {
                    return .rejected(realm: account.realm, why: "replayed nonce count")
                }
                return .accepted(device)
            }
        }
    }

    /// The `WWW-Authenticate` value: a Digest challenge (MD5, qop=auth) with a fresh nonce. Basic is accepted
    /// too when a client offers it, but never asked for: a Digest answer never carries the password.
    static func challenge(realm: String, key: [UInt8], address: String, now: Int, stale: Bool) -> String {
        "Digest realm=\"\(realm)\", qop=\"auth\", algorithm=MD5, nonce=\"\(AccountCheck.nonce(key: key, time: now, address: address))\""
            + (stale ? ", stale=true" : "")
    }
}
