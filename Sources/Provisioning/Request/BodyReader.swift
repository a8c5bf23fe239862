/// The one copy of the body-reading loop, for the CGI (stdin, with its deadline) and the FastCGI responder
/// (libfcgi's stream): the body as `Request.bodyPlan` says, `keep` bytes kept and up to `read` read in all, the
/// rest dropped.
public enum BodyReader {
    /// Reads through `source`, which fills the buffer it is given and returns the count, 0 (or less) at the end,
    /// at a deadline or on an error.
    public static func read(plan: (keep: Int, read: Int),
                            from source: (UnsafeMutableRawBufferPointer) -> Int) -> [UInt8] {
        guard plan.read > 0 else { return [] }
        var body = [UInt8](repeating: 0, count: plan.keep)
        // Only a body read past what is kept needs somewhere to go.
        var scratch = [UInt8](repeating: 0, count: plan.read > plan.keep ? 16384 : 0)
        var got = 0, total = 0
        while total < plan.read {
            let n: Int
            if got < plan.keep {
                let want = min(plan.keep - got, plan.read - total)
                n = body.withUnsafeMutableBytes { source(UnsafeMutableRawBufferPointer(rebasing: $0[got..<(got + want)])) }
            } else {
                n = scratch.withUnsafeMutableBytes { source(UnsafeMutableRawBufferPointer(rebasing: $0[0..<min($0.count, plan.read - total)])) }
            }
            if n <= 0 { break }
            if got < plan.keep { got += n }
            total += n
        }
        body.removeLast(plan.keep - got)
        return body
    }
}
