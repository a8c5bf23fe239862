public import Provisioning

/// A create's first answer, kept under its `Idempotency-Key` for a day in `jobs.db` (table `idempotency`).
public struct IdempotentAnswer: Sendable, Equatable {
    public var status: Int
    /// Header lines as `Name: value`.
    public var headers: [String]
    public var body: [UInt8]

    public init(status: Int, headers: [String], body: [UInt8]) {
        self.status = status
        self.headers = headers
        self.body = body
    }
}

extension JobStore {
    /// How long a key and its answer are kept.
    public static let idempotencySeconds = 24 * 3600

    /// What a request with a key meets.
    public enum IdempotencyClaim: Sendable, Equatable {
        /// No answer under this key: the request runs (the key is held for it until `keep` or `release`).
        case first
        /// The same request was answered: this is its answer.
        case replay(IdempotentAnswer)
        /// The key was used for another request (other method, path or body).
        case reused
        /// The same request is being answered right now.
        case inFlight
    }

    /// Looks the key up (forgetting keys older than a day first) and holds it for this request when it is new.
    /// `key` should name the caller too (one user's key is not another's).
    public func claim(idempotencyKey key: String, requestHash: String, now: Int) throws -> IdempotencyClaim {
        try sqlite { database in
            try database.transaction {
                let purge = try database.prepare("DELETE FROM idempotency WHERE created_at < ?1")
                try purge.bind(1, now - Self.idempotencySeconds)
                _ = try purge.step()
                let find = try database.prepare("SELECT request_hash, status, headers, body FROM idempotency WHERE key = ?1")
                try find.bind(1, key)
                if try find.step() {
                    guard find.text(0) == requestHash else { return .reused }
                    guard find.int(1) != 0 else { return .inFlight }
                    return .replay(IdempotentAnswer(status: find.int(1), headers: (find.text(2) ?? "").split(separator: "\n").map(String.init),
                                                    body: find.blob(3)))
                }
                let hold = try database.prepare("INSERT INTO idempotency (key, request_hash, status, created_at) VALUES (?1, ?2, 0, ?3)")
                try hold.bind([.text(key), .text(requestHash), .integer(now)])
                _ = try hold.step()
                return .first
            }
        }
    }

    /// Keeps the first answer under the key held by `claim`.
    public func keep(idempotencyKey key: String, answer: IdempotentAnswer) throws {
        try sqlite { database in
            let statement = try database.prepare("UPDATE idempotency SET status = ?2, headers = ?3, body = ?4 WHERE key = ?1")
            try statement.bind([.text(key), .integer(answer.status), .text(answer.headers.joined(separator: "\n"))])
            try statement.bind(4, blob: answer.body)
            _ = try statement.step()
        }
    }

    /// Lets go of a key whose answer is not kept (a retry may do better): the next request with it runs.
    public func release(idempotencyKey key: String) throws {
        try sqlite { database in
            let statement = try database.prepare("DELETE FROM idempotency WHERE key = ?1 AND status = 0")
            try statement.bind(1, key)
            _ = try statement.step()
        }
    }
}
