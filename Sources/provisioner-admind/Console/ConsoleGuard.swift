import Foundation
import HTTPTypes
import Hummingbird
import Provisioning
import ProvisioningAdmin

/// What keeps another site from making an admin's browser change something (CSRF). The admin is authenticated by
/// the client certificate the browser presents to Apache by itself, on any request to the admin host, so a
/// forged form post from another site would carry it: every change must prove it came from a page of this console.
///
/// Two checks, both on every POST:
/// 1. The browser's own word on where the request came from: `Sec-Fetch-Site` (sent by every current browser)
///    must be `same-origin` when present, and `Origin` must be this host (`https://` and the host Apache was asked
///    for, `X-Forwarded-Host`) when present; `Origin: null` (a sandboxed frame, a data: page) is refused. The
///    console's pages answer `Referrer-Policy: same-origin`, so the browser sends a real Origin on its own posts.
/// 2. A token in a hidden field of every form: HMAC-SHA-256 of the user and the hour, under the daemon's key (the
///    ETag key, with a label of its own), so a page of another site can neither read nor make one. A token is good
///    for the hour it was made in and the next; it names the user, so one admin's token is no other's.
/// A refusal is 403 with the reason; nothing is changed.
struct ConsoleGuard: Sendable {
    let key: [UInt8]
    /// How long one bucket of tokens lasts, in seconds.
    static let bucket = 3600

    func token(for user: String, at now: Int = Clock.unixSeconds()) -> String {
        token(user, bucket: now / ConsoleGuard.bucket)
    }

    private func token(_ user: String, bucket: Int) -> String {
        let message = Array("provisioner-console-csrf\u{0}\(user)\u{0}\(bucket)".utf8)
        return Hex.encode(Array(HMACSHA256.mac(key: key, message).prefix(16)))
    }

    /// Why this request may not change anything, or nil when it may.
    /// `authority`: the request's host, when no proxy named the one it was asked for (`X-Forwarded-Host`).
    func refusal(_ headers: HTTPFields, authority: String?, token offered: String?, user: String,
                 now: Int = Clock.unixSeconds()) -> String? {
        if let site = headers[HTTPField.Name("Sec-Fetch-Site")!], site != "same-origin" {
            return "Sec-Fetch-Site: \(site): a change must come from a page of this console (same-origin)"
        }
        if let origin = headers[HTTPField.Name("Origin")!] {
            let host = headers[HTTPField.Name("X-Forwarded-Host")!]?.split(separator: ",").first
                .map { $0.trimmingCharacters(in: .whitespaces) } ?? authority ?? ""
            guard origin == "https://" + host else {
                return "Origin: \(origin) is not this console's origin (https://\(host))"
            }
        }
        guard let offered, !offered.isEmpty else { return "csrf: the form carries no token (reload the page and try again)" }
        let bucket = now / ConsoleGuard.bucket
        guard [bucket, bucket - 1].contains(where: { ConsoleGuard.same(token(user, bucket: $0), offered) }) else {
            return "csrf: the form's token is not this user's or has expired (reload the page and try again)"
        }
        return nil
    }

    /// Compares in time independent of where the texts differ.
    static func same(_ a: String, _ b: String) -> Bool {
        let x = Array(a.utf8), y = Array(b.utf8)
        guard x.count == y.count else { return false }
        var difference: UInt8 = 0
        for index in x.indices { difference |= x[index] ^ y[index] }
        return difference == 0
    }
}

/// A posted form (`application/x-www-form-urlencoded`): the first value of each name.
struct ConsoleForm: Sendable {
    var fields: [String: String] = [:]

    init(_ text: String) {
        for pair in text.split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let decode = { (part: Substring) in String(part).replacing("+", with: " ").removingPercentEncoding ?? "" }
            let name = decode(parts[0])
            if fields[name] == nil { fields[name] = parts.count > 1 ? decode(parts[1]) : "" }
        }
    }

    subscript(_ name: String) -> String? { fields[name] }

    /// A field that must be there and not be empty, or 400 naming it.
    func required(_ name: String) throws -> String {
        guard let value = fields[name], !value.isEmpty else {
            throw APIProblem.badRequest("\(name): the form must fill it", field: name, rule: "required")
        }
        return value
    }
}
