import Foundation
import OpenAPIRuntime
import Provisioning
import ProvisioningAdmin

/// The operations of api/openapi.yaml (`APIProtocol`, generated), one file per group of resources. Each handler
/// checks the caller's role, calls the same engine function the provctl command calls, and answers the same
/// JSON; failures are thrown and become problem details in `ProblemMiddleware`.
struct AdminAPI: APIProtocol {
    let store: AdminStore
    /// The daemon's jobs (`jobs.db` in its state folder).
    let jobs: JobStore

    /// Secrets as this caller may see them.
    func disclosure() throws -> Disclosure { try Caller.required().disclosure }
}

extension AdminAPI {
    /// A MAC from a path or body, or 400 naming the field.
    static func mac(_ text: String, field: String = "mac") throws -> MACAddress {
        guard let mac = MACAddress(text) else {
            throw APIProblem.badRequest("\(field): \"\(text)\" is not a MAC address (12 hex digits, optionally separated by : - .)",
                                        field: field, rule: "mac_format")
        }
        return mac
    }

    /// A scope as provctl spells it, or 400 naming the field.
    static func scope(_ text: String) throws -> Scope {
        guard let scope = Scope(text) else {
            throw APIProblem.badRequest("scope: \"\(text)\" must be default, model:NAME, group:NAME or device:MAC",
                                        field: "scope", rule: "scope_format")
        }
        return scope
    }

    /// The If-Match a write must carry, compared with the resource's current ETag: 428 when missing, 412 when
    /// stale. `*` matches any existing resource (RFC 9110).
    static func precondition(_ ifMatch: String?, current: String) throws {
        guard let ifMatch, !ifMatch.isEmpty else {
            throw APIProblem(status: 428, detail: "this write needs If-Match with the ETag last read", code: "usage",
                             field: "If-Match", rule: "if_match_required")
        }
        let offered = ifMatch.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
        guard offered.contains("*") || offered.contains(current) else {
            throw APIProblem(status: 412, detail: "the resource changed since it was read (ETag \(current)); read it again",
                             code: "conflict", field: "If-Match", rule: "etag_mismatch")
        }
    }
}
