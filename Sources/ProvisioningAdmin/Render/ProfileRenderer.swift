public import Provisioning
/// Renders many profiles on one connection with its statements prepared once: `provctl render --all`,
/// `check` and `--dry-run`. Each profile goes through the code the CGI runs (`ResolvedSettings`,
/// `FlatProfile`, `ProfileEncoding`) on the same rows `ConfigurationEditor.layers` reads.
public final class ProfileRenderer {
    let store: ConfigurationEditor
    let layersStatement: SQLiteStatement
    let deviceStatement: SQLiteStatement
    /// With `cachesSharedLayers`: the default, model and group rows per (model, group), read once.
    let sharedStatement: SQLiteStatement?
    let deviceLayerStatement: SQLiteStatement?
    var shared: [SharedKey: Layers] = [:]
    /// One deflate stream for every profile this renderer gzips.
    lazy var compressor: GzipCompressor? = try? GzipCompressor()

    struct SharedKey: Hashable {
        var model: String?
        var group: String?
        var partition: String
    }

    /// `cachesSharedLayers` reads the default, model and group rows once per (model, group) pair and only the
    /// device's own rows per device: for renderings of many devices while nothing changes (`render --all`,
    /// `check`), never across a change.
    public init(store: ConfigurationEditor, cachesSharedLayers: Bool = false) throws(SQLiteError) {
        self.store = store
        if cachesSharedLayers {
            sharedStatement = try store.database.prepare(ConfigurationEditor.layersQuery(
                where: "(scope = 'default' AND target = '') OR (scope = 'model' AND target = ?1) OR (scope = 'group' AND target = ?2)"))
            deviceLayerStatement = try store.database.prepare(ConfigurationEditor.layersQuery(where: "scope = 'device' AND target = ?3"))
        } else {
            sharedStatement = nil
            deviceLayerStatement = nil
        }
        layersStatement = try store.database.prepare(ConfigurationEditor.layersQuery(where: ConfigurationEditor.allFourScopes))
        deviceStatement = try store.database.prepare("SELECT \(ConfigurationStore.deviceColumns) FROM devices WHERE mac = ?1")
    }

    /// The stored device with this MAC, or `nil`.
    public func device(mac: MACAddress) throws(SQLiteError) -> Device? {
        deviceStatement.reset()
        try deviceStatement.bind(1, mac.hex)
        return try deviceStatement.step() ? ConfigurationStore.device(from: deviceStatement) : nil
    }

    /// The settings and variables that apply to `device` as its stand-in identity presents it.
    public func layers(for device: Device, partition: String = "") throws(SQLiteError) -> Layers {
        if let sharedStatement, let deviceLayerStatement {
            let key = SharedKey(model: device.model, group: device.group, partition: partition)
            var layers: Layers
            if let cached = shared[key] {
                layers = cached
            } else {
                sharedStatement.reset()
                try sharedStatement.bind(1, device.model)
                try sharedStatement.bind(2, device.group)
                try sharedStatement.bind(4, partition)
                layers = Layers()
                try ConfigurationEditor.readLayers(sharedStatement, model: device.model, group: device.group, mac: device.mac,
                                           into: &layers)
                shared[key] = layers
            }
            deviceLayerStatement.reset()
            try deviceLayerStatement.bind(3, device.mac.hex)
            try deviceLayerStatement.bind(4, partition)
            try ConfigurationEditor.readLayers(deviceLayerStatement, model: device.model, group: device.group, mac: device.mac,
                                       into: &layers)
            return layers
        }
        layersStatement.reset()
        try layersStatement.bind(1, device.model)
        try layersStatement.bind(2, device.group)
        try layersStatement.bind(3, device.mac.hex)
        try layersStatement.bind(4, partition)
        var layers = Layers()
        try ConfigurationEditor.readLayers(layersStatement, model: device.model, group: device.group, mac: device.mac, into: &layers)
        return layers
    }

    /// The merged parameters of `device`, as `ProfileService.profile` merges them for its stand-in identity.
    public func parameters(for device: Device) throws(RenderError) -> [ResolvedParameter] {
        let layers: Layers
        do {
            layers = try self.layers(for: device)
        } catch {
            throw .database(error)
        }
        do {
            return try ResolvedSettings(layers: layers, device: device, identity: .standIn(for: device)).parameters
        } catch {
            throw .settings(error)
        }
    }

    /// The body the CGI would send `device` for `form`: the CGI's merge and rendering (`LayerRows`), on rows
    /// read once per (model, group) when caching.
    public func profile(for device: Device, form: ProfileForm, partition: String = "") throws(RenderError) -> [UInt8] {
        try encode(try document(for: device, partition: partition), device: device, form: form)
    }

    /// The flat-profile XML of `device` (a partition of it), before any encoding.
    public func document(for device: Device, partition: String = "") throws(RenderError) -> [UInt8] {
        let layers: Layers
        do {
            layers = try self.layers(for: device, partition: partition)
        } catch {
            throw .database(error)
        }
        let identity = ClientIdentity.standIn(for: device)
        let rows = LayerRows(layers, model: device.model(presentedBy: identity), group: device.group, mac: device.mac)
        return try ProfileRecipe.document(rows, device: device, identity: identity, partition: partition)
    }

    func encode(_ xml: [UInt8], device: Device, form: ProfileForm) throws(RenderError) -> [UInt8] {
        do {
            return try ProfileEncoding.encode(xml, form: form, device: device, compressor: form == .xml ? nil : compressor)
        } catch {
            throw .encoding(error)
        }
    }

    /// For an export folder (`render --all --out`, a TFTP site): the file `device` needs in `form`, or nil when
    /// `existing` (the file already there) holds exactly that profile. An encrypted file is compared by what it
    /// decrypts to with the device's current key (a fresh encryption differs in every byte: a new salt), its
    /// gzip layer and, for RFC 8188, its key id and record size; so an unchanged profile leaves the file, its
    /// time and the phones' caches alone.
    public func export(for device: Device, form: ProfileForm, partition: String = "",
                       existing: [UInt8]?) throws(RenderError) -> [UInt8]? {
        let xml = try document(for: device, partition: partition)
        if let existing, holds(existing, xml: xml, device: device, form: form) { return nil }
        return try encode(xml, device: device, form: form)
    }

    /// True when `body` is `xml` for `device` in `form`, in the device's current encoding: `ProfileRecipe`'s
    /// steps undone, last first.
    func holds(_ body: [UInt8], xml: [UInt8], device: Device, form: ProfileForm) -> Bool {
        guard let recipe = try? ProfileRecipe(form: form, device: device) else { return false }
        var inner = body
        switch recipe.encryption {
        case .none:
            break
        case .aes256cbc(let key, let digest):
            guard let plain = try? OpenSSLEnc.decrypt(body, passphrase: key, digest: digest) else { return false }
            inner = plain
        case .aes128gcm(let key):
            guard let ikm = key.ikmBytes, let header = try? AES128GCM.header(body),
                  header.keyID == Array(key.keyID.utf8), header.recordSize == key.recordSize,
                  let plain = try? AES128GCM.decrypt(body, ikm: ikm) else { return false }
            inner = plain
        }
        guard Gzip.isGzip(inner) == recipe.gzip else { return false }
        if recipe.gzip { return (try? Gzip.decompress(inner)) == xml }
        return inner == xml
    }

    /// Calls `body` with every device, ordered by MAC, read with one statement; `from`/`below` bound the MACs
    /// (hex, inclusive and exclusive) to split the work.
    public func forEachDevice(from lower: String? = nil, below upper: String? = nil, _ body: (Device) throws -> Void) throws {
        let statement = try store.database.prepare("""
            SELECT \(ConfigurationStore.deviceColumns) FROM devices WHERE mac >= ifnull(?1, '') AND (?2 IS NULL OR mac < ?2) ORDER BY mac
            """)
        try statement.bind(1, lower)
        try statement.bind(2, upper)
        while try statement.step() { try body(try ConfigurationStore.device(from: statement)) }
    }
}
