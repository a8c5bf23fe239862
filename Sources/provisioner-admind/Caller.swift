import HTTPTypes
import Hummingbird
import ProvisioningAdmin

/// Who is asking: the user Apache authenticated and the role Apache gave. Both come in headers Apache sets after
/// removing any the client sent (apache/provisioner-admin.conf); the daemon listens on its Unix socket only, so no
/// one but a process allowed to open that socket can set them.
struct Caller: Sendable {
    enum Role: String, Sendable {
        /// Reads everything a viewer may see (secrets masked); any change is 403.
        case viewer
        /// Reads and changes.
        case admin
    }

    var user: String
    var role: Role

    static let userHeader = HTTPField.Name("X-Provisioner-User")!
    static let roleHeader = HTTPField.Name("X-Provisioner-Role")!

    /// The caller of the request the current task serves (set by `CallerMiddleware`).
    @TaskLocal static var current: Caller?

    /// The caller, or 401 when no authenticated user reached the API.
    static func required() throws -> Caller {
        guard let current else {
            throw APIProblem(status: 401, detail: "no authenticated user reached the API", code: "usage",
                             field: "X-Provisioner-User", rule: "set by Apache")
        }
        return current
    }

    /// The caller, who must be an admin: 403 for a viewer.
    static func admin() throws -> Caller {
        let caller = try required()
        guard caller.role == .admin else {
            throw APIProblem(status: 403, detail: "user \(caller.user) has the role viewer, which may not change anything",
                             code: "usage", field: "role", rule: "admin role required")
        }
        return caller
    }

    /// The audit's user for a change made through the API: `api:NAME`, so the history tells it from provctl's.
    var who: String { "api:" + user }

    /// What a response may show this caller: secrets stay masked for every role (export with secrets is asked
    /// explicitly, and only an admin may).
    var disclosure: Disclosure { Disclosure(showSecrets: false) }
}

/// Reads the user and role Apache passed and runs the rest of the request with them as `Caller.current`. A user
/// name must be printable and short (it goes into the history); an unknown role is 403.
struct CallerMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let user = request.headers[Caller.userHeader] ?? ""
        guard !user.isEmpty, user.count <= 256, user.unicodeScalars.allSatisfy({ $0.value >= 0x20 && $0.value != 0x7F }) else {
            return problemResponse(APIProblem(status: 401, detail: "no authenticated user reached the API", code: "usage",
                                              field: "X-Provisioner-User", rule: "set by Apache"))
        }
        guard let role = request.headers[Caller.roleHeader].flatMap(Caller.Role.init(rawValue:)) else {
            return problemResponse(APIProblem(status: 403, detail: "user \(user) has no role (viewer or admin)", code: "usage",
                                              field: "X-Provisioner-Role", rule: "viewer or admin"))
        }
        let caller = Caller(user: user, role: role)
        if role == .viewer, ![.get, .head, .options].contains(request.method) {
            return problemResponse(APIProblem(status: 403, detail: "user \(user) has the role viewer, which may not change anything",
                                              code: "usage", field: "role", rule: "admin role required"))
        }
        return try await Caller.$current.withValue(caller) {
            try await next(request, context)
        }
    }
}

/// A problem detail as a Hummingbird response (for what the generated routes never see).
func problemResponse(_ problem: APIProblem) -> Response {
    let (head, _) = problem.response
    return Response(status: .init(code: problem.status), headers: head.headerFields,
                    body: ResponseBody(byteBuffer: ByteBuffer(bytes: problem.json.bytes)))
}
