// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "Provisioner",
    products: [
        .executable(name: "profile-cgi", targets: ["profile-cgi"]),
        .executable(name: "provctl", targets: ["provctl"]),
        .executable(name: "provisioner-admind", targets: ["provisioner-admind"]),
        .library(name: "Provisioning", targets: ["Provisioning"]),
        .library(name: "ProvisioningAdmin", targets: ["ProvisioningAdmin"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        // The admin daemon (issue 24): HTTP server, types and routes generated from api/openapi.yaml.
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/hummingbird-project/swift-openapi-hummingbird", from: "2.1.0"),
        .package(url: "https://github.com/apple/swift-openapi-generator", from: "1.14.3"),
        .package(url: "https://github.com/apple/swift-openapi-runtime", from: "1.13.4"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        // /metrics in Prometheus's exposition format (issue 25).
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        // The console's server-rendered pages (issue 26).
        .package(url: "https://github.com/hummingbird-project/swift-mustache", from: "2.1.1"),
    ],
    targets: [
        .systemLibrary(name: "CSQLite", pkgConfig: "sqlite3", providers: [.apt(["libsqlite3-dev"])]),
        .systemLibrary(name: "CZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"])]),
        .systemLibrary(name: "CCrypto", pkgConfig: "libcrypto", providers: [.apt(["libssl-dev"])]),
        .systemLibrary(name: "CXML2", pkgConfig: "libxml-2.0", providers: [.apt(["libxml2-dev"])]),
        .systemLibrary(name: "CFastCGI", pkgConfig: "fcgi", providers: [.apt(["libfcgi-dev"])]),

        // The core: identity, store, rendering, encodings. No Foundation. `-disable-type-layout`: with the default
        // type-layout lowering, copying an optional or an array held in memory went through value witnesses,
        // which made the runtime instantiate generic metadata on every CGI request (see README, Performance).
        .target(name: "Provisioning", dependencies: ["CSQLite", "CZlib", "CCrypto"],
                swiftSettings: [.unsafeFlags(["-Xfrontend", "-disable-type-layout"])]),

        // What only the admin needs: the configuration database's schema and writes, validation, the parameter
        // catalogue, the bulk renderer, the journal's readers. provctl links it; profile-cgi never does.
        // The parameter catalogue is the data file itself, embedded by SwiftPM as bytes (`PackageResources`);
        // tools/catalogue/generate.py writes it from the material beside the script.
        .target(name: "ProvisioningAdmin", dependencies: ["Provisioning", "CSQLite", "CXML2"],
                resources: [.embedInCode("Catalogue/catalogue.tsv")]),

        // Environment in, bytes out. Static: process start is the whole budget of a CGI. Linked with lld in the
        // order of link-order.txt (the functions and data one request touches, first), so a request faults in
        // fewer pages of the binary; bench/link-order writes that file. CGIStartup keeps the runtime from
        // scanning /proc/self/maps for arguments the CGI has none of.
        .target(name: "CGIStartup"),
        .executableTarget(
            name: "profile-cgi",
            dependencies: ["Provisioning", "CGIStartup", "CFastCGI"],
            exclude: ["link-order.txt"],
            swiftSettings: [.unsafeFlags(["-Xfrontend", "-disable-type-layout"])],
            linkerSettings: [.unsafeFlags([
                "-static-executable", "-use-ld=lld",
                "-Xlinker", "--symbol-ordering-file=\(Context.packageDirectory)/Sources/profile-cgi/link-order.txt",
                "-Xlinker", "--no-warn-symbol-ordering",
            ])]
        ),

        // The admin's tool; Foundation and ArgumentParser are fine here. `-static-stdlib`: the Swift runtime,
        // Foundation and Dispatch are linked in, so the program runs where no Swift toolchain is installed (the
        // Debian package ships it; what is left dynamic are Debian's own libraries, which dpkg-shlibdeps lists).
        .executableTarget(
            name: "provctl",
            dependencies: [
                "Provisioning", "ProvisioningAdmin", "CXML2",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: [.unsafeFlags(["-static-stdlib"])],
            linkerSettings: [.unsafeFlags(["-static-stdlib"])]
        ),

        // The admin daemon: the API of api/openapi.yaml on a Unix socket behind Apache's admin virtual host, and the
        // job runner. Types and routes are generated at build time from the document (the build plugin reads
        // Sources/provisioner-admind/openapi.yaml, a link to api/openapi.yaml); the handlers call the same engine
        // functions provctl calls. Static stdlib, as provctl: it runs where no Swift toolchain is installed.
        .executableTarget(
            name: "provisioner-admind",
            dependencies: [
                "Provisioning", "ProvisioningAdmin",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "OpenAPIHummingbird", package: "swift-openapi-hummingbird"),
                .product(name: "OpenAPIRuntime", package: "swift-openapi-runtime"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Mustache", package: "swift-mustache"),
            ],
            // The plugin reads openapi.yaml and its config; served-openapi.yaml (a second link to the same file) is
            // the copy embedded in the binary and served at /api/openapi.yaml.
            resources: [.embedInCode("served-openapi.yaml"),
                        // The console's templates and stylesheet, in the binary (nothing is read from disk at run time).
                        .embedInCode("Console/layout.mustache"), .embedInCode("Console/fleet.mustache"),
                        .embedInCode("Console/devices.mustache"), .embedInCode("Console/device.mustache"),
                        .embedInCode("Console/claims.mustache"), .embedInCode("Console/style.css"),
                        .embedInCode("Console/favicon.svg"), .embedInCode("Console/settings.mustache"),
                        .embedInCode("Console/preview.mustache"), .embedInCode("Console/problem.mustache"),
                        .embedInCode("Console/pending.mustache"), .embedInCode("Console/history.mustache"),
                        .embedInCode("Console/changeset.mustache"), .embedInCode("Console/jobs.mustache"),
                        .embedInCode("Console/job.mustache"), .embedInCode("Console/campaigns.mustache"),
                        .embedInCode("Console/campaign.mustache")],
            swiftSettings: [.unsafeFlags(["-static-stdlib"])],
            linkerSettings: [.unsafeFlags(["-static-stdlib"])],
            plugins: [.plugin(name: "OpenAPIGenerator", package: "swift-openapi-generator")]
        ),

        // What every test target shares: processes, folders, products, phones, the refusal table.
        .target(name: "TestSupport", dependencies: ["Provisioning", "ProvisioningAdmin"], path: "Tests/TestSupport"),
        // Unit tests of the core, and profile-cgi run as a real process.
        .testTarget(name: "ProvisioningTests", dependencies: ["Provisioning", "ProvisioningAdmin", "TestSupport"]),
        // provctl run as a real process on temporary databases.
        .testTarget(name: "ProvctlTests", dependencies: ["Provisioning", "ProvisioningAdmin", "TestSupport"]),
        // Through a real Apache with mod_ssl and client certificates; enabled by Tests/run.
        .testTarget(name: "EndToEndTests", dependencies: ["Provisioning", "ProvisioningAdmin", "TestSupport"]),
    ]
)

for target in package.targets where target.type != .system {
    var settings = target.swiftSettings ?? []
    settings.append(.enableUpcomingFeature("ExistentialAny"))
    settings.append(.enableUpcomingFeature("InternalImportsByDefault"))
    target.swiftSettings = settings
}

// `PROVISIONER_SERVING_ONLY=1 swift build -c release --product profile-cgi` (and provctl): the package without the
// admin daemon and its packages. SwiftPM builds every build-tool plugin of the package before any product, so
// otherwise the release CGI would wait for swift-openapi-generator and its tools to compile (Tests/run: about
// 150 s of CI). Neither program depends on anything removed here.
if Context.environment["PROVISIONER_SERVING_ONLY"] == "1" {
    let daemonOnly = ["hummingbird", "swift-openapi-hummingbird", "swift-openapi-generator", "swift-openapi-runtime",
                      "swift-service-lifecycle", "swift-prometheus", "swift-mustache"]
    package.products.removeAll { $0.name == "provisioner-admind" }
    package.targets.removeAll { $0.name == "provisioner-admind" }
    package.dependencies.removeAll { dependency in
        guard case .sourceControl(_, let location, _) = dependency.kind else { return false }
        return daemonOnly.contains { location.hasSuffix("/" + $0) }
    }
}
