import Foundation
import Hummingbird
import Logging
import NIOCore
import OpenAPIHummingbird
import OpenAPIRuntime
import ProvisioningAdmin

/// The daemon: the API's routes (generated from the document) on a Unix socket, the document itself at
/// `/api/openapi.yaml`, and the job runner, stopped together by SIGTERM or SIGINT (service-lifecycle).
struct AdminDaemon {
    let options: DaemonOptions

    /// The largest request body taken (a CSV import of 100k rows fits); 413 beyond.
    static let bodyLimit = 16 << 20

    func run() async throws {
        let logger = {
            var logger = Logger(label: "provisioner-admind")
            logger.logLevel = .notice
            return logger
        }()
        let etags = try ETagKey(stateDirectory: options.state)
        let store = AdminStore(databasePath: options.databasePath, etags: etags)
        let jobs = JobStore(stateDirectory: options.state)
        let api = AdminAPI(store: store, jobs: jobs)
        let runner = JobRunner(worker: JobWorker(jobs: jobs, databasePath: store.databasePath, journals: store.journals),
                               logger: logger)

        let router = Router()
        router.add(middleware: CallerMiddleware())
        router.add(middleware: BodyLimitMiddleware(limit: AdminDaemon.bodyLimit))
        router.add(middleware: ResponseHeaderMiddleware())
        router.get("/api/openapi.yaml") { _, _ in
            Response(status: .ok, headers: [.contentType: "application/yaml", .cacheControl: "no-cache"],
                     body: ResponseBody(byteBuffer: ByteBuffer(bytes: PackageResources.served_openapi_yaml)))
        }
        try Console(store: store, jobs: jobs).register(on: router)
        let metrics = FleetMetrics(store: store, jobs: jobs)
        router.get("/metrics") { _, _ in
            Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8", .cacheControl: "no-store"],
                     body: ResponseBody(byteBuffer: ByteBuffer(bytes: try await metrics.exposition())))
        }
        try api.registerHandlers(on: router, serverURL: URL(string: "/api/v1")!, middlewares: [IdempotencyMiddleware(jobs: jobs), VerbatimBodyMiddleware(), ProblemMiddleware()])

        let socket = options.socketPath
        unlink(socket)
        let group = options.socketGroup
        let app = Application(
            router: router,
            configuration: .init(address: .unixDomainSocket(path: socket), serverName: nil),
            services: [runner, OnboardingPromoter(store: store, logger: logger)],
            onServerRunning: { _ in
                // Only the owner and the web server's group may open the socket: the user headers are trusted
                // because nobody else can send them.
                chmod(socket, 0o660)
                if let group, let entry = getgrnam(group) { chown(socket, getuid(), entry.pointee.gr_gid) }
                logger.notice("listening on \(socket)")
            },
            logger: logger
        )
        try await app.runService()
        unlink(socket)
    }
}

/// Refuses a body over `limit` with 413 before a handler reads it: by its Content-Length when it has one, else
/// by collecting at most `limit` bytes.
struct BodyLimitMiddleware<Context: RequestContext>: RouterMiddleware {
    let limit: Int

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let tooLarge = APIProblem(status: 413, detail: "the body exceeds \(limit) bytes", code: "usage",
                                  field: "body", rule: "at most 16 MiB")
        if let length = request.headers[.contentLength].flatMap(Int.init), length > limit {
            return problemResponse(tooLarge)
        }
        guard request.headers[.transferEncoding] != nil else { return try await next(request, context) }
        var request = request
        do {
            _ = try await request.collectBody(upTo: limit)
        } catch {
            return problemResponse(tooLarge)
        }
        return try await next(request, context)
    }
}
