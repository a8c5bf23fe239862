import Foundation
import HTTPTypes
import OpenAPIRuntime
import Provisioning
import ProvisioningAdmin

/// An RFC 9457 problem detail: what every 4xx and 5xx of the API answers (`application/problem+json`). The
/// engine's `AdminError` becomes one at one place (`init(_: AdminError)`); the handlers only throw.
struct APIProblem: Error, Sendable {
    var status: Int
    var title: String
    var detail: String
    /// AdminError's kind as provctl --json names it (`not_found`, `conflict`, `breaks`, ...).
    var code: String?
    var field: String?
    var rule: String?
    var problems: [AdminError.Problem] = []
    var warnings: [String] = []
    /// Extra headers (e.g. `Allow`, `Retry-After`).
    var headers: [(HTTPField.Name, String)] = []

    init(status: Int, detail: String, code: String? = nil, field: String? = nil, rule: String? = nil,
         problems: [AdminError.Problem] = []) {
        self.status = status
        self.title = APIProblem.title(status)
        self.detail = detail
        self.code = code
        self.field = field
        self.rule = rule
        self.problems = problems
    }

    /// The status an engine failure answers: its cause decides, never its text.
    init(_ error: AdminError) {
        let status: Int
        switch (error.kind, error.cause) {
        case (_, .notFound), (.notFound, _): status = 404
        case (_, .conflict), (_, .revertConflict), (.conflict, _): status = 409
        case (_, .lockHeld): status = 503
        case (.breaks, _), (.refused, _), (.usage, _), (.rowsSkipped, _), (_, .rule), (_, .breaks): status = 422
        default: status = 500
        }
        self.init(status: status, detail: status == 500 ? APIProblem.redacted(error) : error.message,
                  code: error.kind.name, field: error.field, rule: error.rule, problems: error.problems)
        if status == 503 { headers.append((.retryAfter, "2")) }
    }

    /// A 500's detail: the engine's message names files and SQLite's words, never a secret; kept to one line.
    static func redacted(_ error: AdminError) -> String {
        String(error.message.split(separator: "\n", omittingEmptySubsequences: false).first ?? "")
    }

    static func title(_ status: Int) -> String {
        switch status {
        case 400: "Bad Request"
        case 401: "Unauthorized"
        case 403: "Forbidden"
        case 404: "Not Found"
        case 405: "Method Not Allowed"
        case 409: "Conflict"
        case 412: "Precondition Failed"
        case 413: "Content Too Large"
        case 415: "Unsupported Media Type"
        case 422: "Unprocessable Content"
        case 428: "Precondition Required"
        case 501: "Not Implemented"
        case 503: "Service Unavailable"
        default: "Internal Server Error"
        }
    }

    /// The problem type: one URI per kind of failure, so a client switches on it rather than on the text.
    var type: String {
        let kind = rule.map(APIProblem.slug) ?? code ?? "status-\(status)"
        return "https://provisioner.invalid/problems/\(kind)"
    }

    static func slug(_ text: String) -> String {
        String(text.lowercased().map { $0.isLetter || $0.isNumber ? $0 : "-" })
    }

    var json: JSON {
        var members: [(String, JSON)] = [("type", .string(type)), ("title", .string(title)), ("status", .int(status)),
                                         ("detail", .string(detail))]
        if let code { members.append(("code", .string(code))) }
        members.append(("field", .text(field)))
        members.append(("rule", .text(rule)))
        if !problems.isEmpty { members.append(("problems", .array(problems.map(\.json)))) }
        if !warnings.isEmpty { members.append(("warnings", .array(warnings.map(JSON.string)))) }
        return .object(members)
    }

    var response: (HTTPResponse, HTTPBody) {
        var fields = HTTPFields()
        fields[.contentType] = "application/problem+json"
        fields[.cacheControl] = "no-store"
        for (name, value) in headers { fields[name] = value }
        return (HTTPResponse(status: .init(code: status), headerFields: fields), HTTPBody(json.bytes))
    }

    // The few the handlers throw themselves.
    static func notFound(_ what: String, field: String) -> APIProblem {
        APIProblem(status: 404, detail: "\(what): no such \(field)", code: "not_found", field: field, rule: "exists")
    }

    static func badRequest(_ detail: String, field: String? = nil, rule: String? = nil) -> APIProblem {
        APIProblem(status: 400, detail: detail, code: "usage", field: field, rule: rule)
    }
}

/// Turns whatever a handler or the generated decoder threw into a problem detail: an `APIProblem` as it is, an
/// `AdminError` by its cause, a request the generated code could not decode as 400, anything else as 500 with no
/// detail beyond one line.
struct ProblemMiddleware: ServerMiddleware {
    func intercept(_ request: HTTPRequest, body: HTTPBody?, metadata: ServerRequestMetadata, operationID: String,
                   next: @Sendable (HTTPRequest, HTTPBody?, ServerRequestMetadata) async throws -> (HTTPResponse, HTTPBody?))
        async throws -> (HTTPResponse, HTTPBody?) {
        do {
            return try await next(request, body, metadata)
        } catch let error as ServerError {
            // No operation input: the generated code could not decode the request, the caller's fault.
            let decoding = error.operationInput == nil ? error.causeDescription : nil
            return ProblemMiddleware.problem(for: error.underlyingError, decoding: decoding).response
        } catch {
            return ProblemMiddleware.problem(for: error, decoding: nil).response
        }
    }

    static func problem(for error: any Error, decoding cause: String?) -> APIProblem {
        switch error {
        case let problem as APIProblem: return problem
        case let error as AdminError: return APIProblem(error)
        // The engine's own errors that provctl maps the same way (Provctl.failure(for:)).
        case let conflict as RevertConflict: return APIProblem(.revertConflict(conflict))
        case let violation as RuleViolation: return APIProblem(.refused(violation))
        case let error as SQLiteError: return APIProblem(.database(error))
        default:
            // The generated code failed to decode the request (a parameter out of its schema, unreadable JSON,
            // a media type the operation does not take): the caller's fault.
            if let cause, !(error is CancellationError) {
                if cause.contains("content type") || cause.contains("Content-Type") {
                    return APIProblem(status: 415, detail: oneLine(cause), code: "usage", field: "Content-Type", rule: "media_type")
                }
                return APIProblem(status: 400, detail: oneLine("\(cause): \(error)"), code: "usage", rule: "schema")
            }
            return APIProblem(status: 500, detail: oneLine("\(error)"), code: "runtime")
        }
    }

    static func oneLine(_ text: String) -> String {
        String(text.prefix { $0 != "\n" }.prefix(400))
    }
}

extension APIProblem {
    /// An operation of the document this build does not serve yet (501).
    static func notBuilt(_ operation: String) -> APIProblem {
        APIProblem(status: 501, detail: "\(operation): not served by this build", code: "runtime", rule: "not_implemented")
    }
}
