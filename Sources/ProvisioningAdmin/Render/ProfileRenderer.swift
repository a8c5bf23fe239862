public import Provisioning
/// Renders many profiles on one connection with its statements prepared once: `provctl render --all`,
/// `check` and `--dry-run`. Each profile goes through the code the CGI runs (`ResolvedSettings`,
/// `FlatProfile`, `ProfileEncoding`) on the same rows `DeviceStore.layers` reads.
public final class ProfileRenderer {
    let store: DeviceStore
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
    public init(store: DeviceStore, cachesSharedLayers: Bool = false) throws(SQLiteError) {
        self.store = store
        if cachesSharedLayers {
            sharedStatement = try store.database.prepare(DeviceStore.layersQuery(
                where: "(scope = 'default' AND target = '') OR (scope = 'model' AND target = ?1) OR (scope = 'group' AND target = ?2)"))
            deviceLayerStatement = try store.database.prepare(DeviceStore.layersQuery(where: "scope = 'device' AND target = ?3"))
        } else {
            sharedStatement = nil
            deviceLayerStatement = nil
        }
        layersStatement = try store.database.prepare(DeviceStore.layersQuery(where: DeviceStore.allFourScopes))
        deviceStatement = try store.database.prepare("SELECT \(DeviceStore.deviceColumns) FROM devices WHERE mac = ?1")
    }

    /// The stored device with this MAC, or `nil`.
    public func device(mac: MACAddress) throws(SQLiteError) -> Device? {
        deviceStatement.reset()
        try deviceStatement.bind(1, mac.hex)
        return try deviceStatement.step() ? DeviceStore.device(from: deviceStatement) : nil
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
                try DeviceStore.readLayers(sharedStatement, model: device.model, group: device.group, mac: device.mac,
                                           into: &layers)
                shared[key] = layers
            }
            deviceLayerStatement.reset()
            try deviceLayerStatement.bind(3, device.mac.hex)
            try deviceLayerStatement.bind(4, partition)
            try DeviceStore.readLayers(deviceLayerStatement, model: device.model, group: device.group, mac: device.mac,
                                       into: &layers)
            return layers
        }
        layersStatement.reset()
        try layersStatement.bind(1, device.model)
        try layersStatement.bind(2, device.group)
        try layersStatement.bind(3, device.mac.hex)
        try layersStatement.bind(4, partition)
        var layers = Layers()
        try DeviceStore.readLayers(layersStatement, model: device.model, group: device.group, mac: device.mac, into: &layers)
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
        let layers: Layers
        do {
            layers = try self.layers(for: device, partition: partition)
        } catch {
            throw .database(error)
        }
        let identity = ClientIdentity.standIn(for: device)
        var rows = LayerRows(layers, model: device.model(presentedBy: identity), group: device.group, mac: device.mac)
        if partition.isEmpty {
            rows.appendDerived(for: device)
        } else if !rows.hasSettings {
            throw .unknownPartition(partition)
        }
        let xml: [UInt8]
        do {
            xml = FlatProfile.render(rows, try rows.resolve(device: device, identity: identity))
        } catch {
            throw .settings(error)
        }
        do {
            return try ProfileEncoding.encode(xml, form: form, device: device, compressor: form == .xml ? nil : compressor)
        } catch {
            throw .encoding(error)
        }
    }

    /// Calls `body` with every device, ordered by MAC, read with one statement; `from`/`below` bound the MACs
    /// (hex, inclusive and exclusive) to split the work.
    public func forEachDevice(from lower: String? = nil, below upper: String? = nil, _ body: (Device) throws -> Void) throws {
        let statement = try store.database.prepare("""
            SELECT \(DeviceStore.deviceColumns) FROM devices WHERE mac >= ifnull(?1, '') AND (?2 IS NULL OR mac < ?2) ORDER BY mac
            """)
        try statement.bind(1, lower)
        try statement.bind(2, upper)
        while try statement.step() { try body(try DeviceStore.device(from: statement)) }
    }
}
