/// One request from its value to its answer: Request → ClientIdentity → ConfigurationStore (LayerRows) → Resolver →
/// FlatProfile → ProfileEncoding → CGIResponse. Every outcome, refusals included, comes back as an `Answer`: the
/// response and one `Outcome`, from which the log line and the bookkeeping are derived once the phone has its bytes.
///
/// The service keeps nothing of a request. What it keeps across requests is its configuration and the read-only
/// connection to the configuration database (a FastCGI responder answers many requests on it, with its
/// statements prepared once). Each request reads in one read transaction, so it sees one committed state of the
/// file, the newest: no cache stands between an admin's commit and the next phone.
public final class ProfileService {
    public let configuration: Configuration
    /// The configuration connection and the file it was opened on; reopened when the file is replaced.
    var store: ConfigurationStore?
    var storeStamp: FileStamp?

    public init(configuration: Configuration) {
        self.configuration = configuration
    }

    /// Answers one request. `now` is Unix microseconds, the fetch's time.
    public func respond(to request: Request, now: Int) -> Answer {
        let response: CGIResponse
        var outcome: Outcome
        switch request.kind {
        case .refused(let error):
            let refusal = error.refusal
            outcome = Outcome()
            outcome.refused(refusal)
            response = CGIResponse(refusal: refusal, omitsBody: request.isHead)
        case .report(let report):
            (response, outcome) = respondToReport(request, report)
        case .profile(let asked):
            (response, outcome) = respondToProfile(request, asked, now: now)
        }
        return Answer(request: request, response: response, outcome: outcome, at: now)
    }

    /// A profile request: who is calling (certificate, account or bootstrap), the device's checks, the profile.
    func respondToProfile(_ request: Request, _ asked: ProfileRequest, now: Int) -> (CGIResponse, Outcome) {
        var outcome = Outcome()
        outcome.form = asked.form.rawValue
        do throws(ServingError) {
            if let presented = request.identity {
                if let named = asked.namedMAC, named != presented.mac {
                    throw .macMismatch(named: named, caller: presented.mac, proof: "certificate")
                }
                if let agentMAC = request.userAgent?.mac, agentMAC != presented.mac {
                    outcome.note = "user-agent MAC \(agentMAC) differs from certificate"
                }
            }
            let store = try openStoreForReading()
            defer { try? store.database.execute("COMMIT") }
            // No usable certificate: an account, or bootstrap trust (Authentication/Trust.swift).
            let identity: ClientIdentity
            var level = TrustLevel.full
            if let presented = request.identity {
                identity = presented
            } else {
                outcome.auth = request.isHTTPS && request.authorization != nil ? "account" : "bootstrap"
                (identity, level) = try settleWithoutCertificate(request, asked, store: store,
                                                                  certificateRefusal: request.certificateRefusal ?? .notVerified(nil),
                                                                  now: now)
                if let named = asked.namedMAC, named != identity.mac {
                    throw .macMismatch(named: named, caller: identity.mac, proof: "account")
                }
                outcome.settledMAC = identity.mac
            }
            guard let device = try checkedDevice(identity, store: store) else {
                // A valid certificate of no known device: the journal keeps it as a claim, and an expected
                // device or an adoption rule may serve it now (only a proven certificate: never an account's
                // or a bootstrap caller's MAC, a path or a User-Agent).
                outcome.claim = identity.source == .certificate || identity.source == .variables
                guard outcome.claim, level == .full else { throw .unknownDevice }
                return try serveFirstContact(asked, identity: identity, store: store, outcome: outcome)
            }
            // Proven (certificate or account) and the device's own: this record may move the admin's picture.
            outcome.trusted = level == .full
            let (response, xml) = try serve(asked, device: device, identity: identity, level: level, store: store)
            outcome.status = response.status
            outcome.reason = "ok"
            outcome.logsForm = true
            // The plaintext's SHA-256 is for the journal's fetch row only: not computed when nothing is recorded.
            if configuration.recordsJournal { outcome.sha256 = Digest.sha256Hex(xml) }
            return (response, outcome)
        } catch {
            let refusal = error.refusal
            outcome.refused(refusal)
            return (CGIResponse(refusal: refusal, omitsBody: request.isHead), outcome)
        }
    }

    /// The profile of a checked device, in the form asked, and its plaintext XML.
    func serve(_ asked: ProfileRequest, device: Device, identity: ClientIdentity, level: TrustLevel,
               store: ConfigurationStore) throws(ServingError) -> (CGIResponse, [UInt8]) {
        if level == .bootstrap && device.bootstrap == .cfg && asked.form != .cfg {
            throw .authentication(.bootstrapServesOnlyCfg)
        }
        let xml: [UInt8], body: [UInt8]
        do {
            xml = try Self.document(store: store, device: device, identity: identity, partition: asked.partition,
                                    withoutSecrets: level == .bootstrap && device.bootstrap == .profile)
        } catch {
            throw failure(rendering: error)
        }
        do {
            body = try ProfileEncoding.encode(xml, form: asked.form, device: device)
        } catch {
            throw .render(.encoding(error))
        }
        guard store.readIsStable else {
            // Read as immutable (no -shm could be made) and the file changed meanwhile: not safe to answer.
            self.store = nil
            throw .configurationChangedDuringRead
        }
        var response = CGIResponse(status: 200, contentType: asked.form.contentType, body: body, omitsBody: asked.isHead)
        if let coding = ProfileEncoding.contentEncoding(form: asked.form, device: device) {
            response.extraHeaders.append(("Content-Encoding", coding))
        }
        return (response, xml)
    }

    /// A proven certificate of no known device (`respondToProfile`'s unknown-device path only): served as the
    /// expected entry or adoption rule it matches would have it (`ExpectedMatch`), with the entry's variables at the
    /// device scope; the fetch is journaled as `onboarding` (a trusted 200, and a claim carrying the certificate's
    /// serial and product), from which the admin side makes the device (`provctl expect promote`, the daemon).
    /// Until then every fetch is served the same way. A mismatch is refused as an unknown device, with the reason.
    @inline(never)
    func serveFirstContact(_ asked: ProfileRequest, identity: ClientIdentity, store: ConfigurationStore,
                           outcome: Outcome) throws(ServingError) -> (CGIResponse, Outcome) {
        var outcome = outcome
        let match = try reading { () throws -> ExpectedMatch in
            try store.expectedMatch(mac: identity.mac, serial: identity.serial, product: identity.model)
        }
        guard let entry = match.served else {
            if case .mismatch(let why) = match { throw .expectedMismatch(why) }
            throw .unknownDevice
        }
        let device: Device, xml: [UInt8], body: [UInt8]
        do {
            (device, xml) = try entry.document(store: store, identity: identity, partition: asked.partition)
        } catch {
            throw failure(rendering: error)
        }
        do {
            body = try ProfileEncoding.encode(xml, form: asked.form, device: device)
        } catch {
            throw .render(.encoding(error))
        }
        guard store.readIsStable else {
            self.store = nil
            throw .configurationChangedDuringRead
        }
        let response = CGIResponse(status: 200, contentType: asked.form.contentType, body: body, omitsBody: asked.isHead)
        outcome.trusted = true
        outcome.status = 200
        outcome.reason = Self.onboardingReason
        outcome.logsForm = true
        if configuration.recordsJournal { outcome.sha256 = Digest.sha256Hex(xml) }
        return (response, outcome)
    }

    /// The journal's reason for a profile served to a phone on its first contact from an expected entry or an
    /// adoption rule.
    public static let onboardingReason = "onboarding"

    /// The device the caller names, checked as every request is (inside the caller's read transaction): nil when
    /// no device has the MAC (the caller answers 404); else enabled, and its stored serial and product those of
    /// the certificate (an account's or a bootstrap caller's identity is the device's own).
    func checkedDevice(_ identity: ClientIdentity, store: ConfigurationStore) throws(ServingError) -> Device? {
        let found = try reading { () throws -> Device? in try store.device(mac: identity.mac) }
        guard let device = found else { return nil }
        guard device.enabled else { throw .deviceDisabled }
        if let stored = device.serial, !Self.matches(stored, identity.serial) {
            throw .serialMismatch(stored: stored, presented: identity.serial)
        }
        if let stored = device.model, !Self.sameProduct(stored, identity.model) {
            throw .modelMismatch(stored: stored, presented: identity.model)
        }
        return device
    }

    /// The configuration connection, opened on first use and again when the file at the path was replaced (a
    /// restore, a replica swapped in) or the last read failed.
    func openStore() throws(ServingError) -> ConfigurationStore {
        let stamp = FileStamp.of(configuration.databasePath)
        if let store, let stamp, let storeStamp, stamp.inode == storeStamp.inode && stamp.device == storeStamp.device,
           store.immutableStamp == nil {
            return store
        }
        store = nil
        do {
            let opened = try ConfigurationStore(serving: configuration.databasePath, busyTimeout: configuration.databaseWaitMilliseconds)
            store = opened
            storeStamp = stamp
            return opened
        } catch {
            throw .database(error)
        }
    }

    /// The configuration database, open and in a read transaction of this request's own: one committed state for
    /// everything the request reads. The caller ends it (`COMMIT`).
    func openStoreForReading() throws(ServingError) -> ConfigurationStore {
        let store = try openStore()
        do {
            try store.database.execute("BEGIN")
        } catch {
            throw failure(reading: error)
        }
        return store
    }

    /// Runs a read that may also refuse: a `ServingError` passes through, an SQLite error becomes
    /// `failure(reading:)`'s, anything else `unexpected`.
    func reading<T>(_ body: () throws -> T) throws(ServingError) -> T {
        do {
            return try body()
        } catch let error as SQLiteError {
            throw failure(reading: error)
        } catch let error as ServingError {
            throw error
        } catch {
            throw .unexpected("\(error)")
        }
    }

    /// A failed read (503 with Retry-After for a lock held past the wait, else 500: `Refusing`); the connection is
    /// dropped so the next request opens the file afresh.
    func failure(reading error: SQLiteError) -> ServingError {
        store = nil
        return .database(error)
    }

    /// A rendering failure; one of the database drops the connection as `failure(reading:)` does.
    func failure(rendering error: RenderError) -> ServingError {
        if case .database = error { store = nil }
        return .render(error)
    }

    /// A stored serial against the certificate's, ignoring case; a certificate without one matches only an empty
    /// stored value.
    static func matches(_ stored: String, _ presented: String?) -> Bool {
        guard let presented else { return stored.isEmpty }
        return stored.equalsIgnoringCase(presented)
    }

    /// A stored model against the certificate's product: the same product in any of its spellings. The MIC's
    /// `PID:` says `CP-8861`, the phone's User-Agent and admins say `CP-8861-3PCC`, an order line
    /// `CP-8861-3PCC-K9=`: case is ignored, and a trailing `=`, then `-K9`, then `-3PCC` are not part of the name.
    /// `CP-8861` and `CP-8851` stay different products.
    public static func sameProduct(_ stored: String, _ presented: String?) -> Bool {
        guard let presented else { return stored.isEmpty }
        return productKey(stored) == productKey(presented)
    }

    /// The spelling-free form of a product name (see `sameProduct`).
    public static func productKey(_ name: String) -> String {
        var key = name.uppercased()
        if key.hasSuffix("=") { key.removeLast() }
        if key.hasSuffix("-K9") { key.removeLast(3) }
        if key.hasSuffix("-3PCC") { key.removeLast(5) }
        return key
    }

    /// The flat-profile XML a phone with `identity` receives for `device`, before any encoding.
    /// `partition` ('' for the main profile) picks the settings; a named partition holding no setting for this
    /// device is `RenderError.unknownPartition`.
    /// `withoutSecrets` renders the bootstrap profile (`ResolvedRows.withoutSecrets`).
    public static func document(store: ConfigurationStore, device: Device, identity: ClientIdentity,
                                partition: String = "", withoutSecrets: Bool = false) throws(RenderError) -> [UInt8] {
        let rows: LayerRows
        do {
            rows = try store.layerRows(model: device.model(presentedBy: identity), group: device.group, mac: device.mac,
                                       partition: partition)
        } catch {
            throw .database(error)
        }
        return try ProfileRecipe.document(rows, device: device, identity: identity, partition: partition,
                                          withoutSecrets: withoutSecrets)
    }

    /// The body a phone with `identity` receives for `device` in `form`: exactly what the CGI sends, and what
    /// `provctl render` prints.
    public static func profile(store: ConfigurationStore, device: Device, identity: ClientIdentity, form: ProfileForm,
                               partition: String = "") throws(RenderError) -> [UInt8] {
        let xml = try document(store: store, device: device, identity: identity, partition: partition)
        do {
            return try ProfileEncoding.encode(xml, form: form, device: device)
        } catch {
            throw .encoding(error)
        }
    }
}

/// Why a profile could not be built, by the room that failed.
public enum RenderError: Error, Sendable, CustomStringConvertible {
    case database(SQLiteError)
    case settings(SettingsError)
    case encoding(EncodingError)
    /// A partition with no setting at any of the device's scopes: no such profile for it.
    case unknownPartition(String)

    public var description: String {
        switch self {
        case .unknownPartition(let name): "no settings in partition \(name)"
        case .database(let error): "\(error)"
        case .settings(let error): "\(error)"
        case .encoding(let error): "\(error)"
        }
    }
}

