import CZlib

/// A failed zlib call: the function, its return code and zlib's message.
public struct ZlibError: Error, CustomStringConvertible, Sendable {
    /// The zlib function that failed, such as `deflate`.
    public var function: String
    /// zlib's return code (`Z_STREAM_ERROR`, `Z_DATA_ERROR`, ...).
    public var code: Int32
    /// `z_stream.msg`, when zlib set one.
    public var message: String?
    public var description: String { "zlib \(function) failed (\(code))" + (message.map { ": \($0)" } ?? "") }
}

/// gzip streams made and read with zlib: windowBits 31 gives the real gzip header (`1f 8b`) that the phones sniff.
public enum Gzip {
    /// Compresses `input` into one gzip member (`deflateInit2`, `deflate(Z_FINISH)`, `deflateEnd`): a
    /// `GzipCompressor` of one member, so the deflate loop is written once.
    public static func compress(_ input: [UInt8], level: Int32 = 9) throws(ZlibError) -> [UInt8] {
        try GzipCompressor(level: level).compress(input)
    }

    /// Decompresses a gzip stream (`inflateInit2` with windowBits 31). `limit` caps the output size in bytes.
    public static func decompress(_ input: [UInt8], limit: Int = 64 << 20) throws(ZlibError) -> [UInt8] {
        var stream = z_stream()
        var rc = CZlib_inflateInit2(&stream, 31)
        guard rc == Z_OK else { throw ZlibError(function: "inflateInit2", code: rc, message: nil) }
        defer { inflateEnd(&stream) }
        var output: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 64 * 1024)
        var consumed = 0
        repeat {
            var produced = 0
            rc = input.withUnsafeBufferPointer { source in
                chunk.withUnsafeMutableBufferPointer { target in
                    stream.next_in = UnsafeMutablePointer(mutating: source.baseAddress! + consumed)
                    stream.avail_in = uInt(source.count - consumed)
                    stream.next_out = target.baseAddress
                    stream.avail_out = uInt(target.count)
                    let result = inflate(&stream, Z_NO_FLUSH)
                    consumed = source.count - Int(stream.avail_in)
                    produced = target.count - Int(stream.avail_out)
                    stream.next_in = nil
                    stream.next_out = nil
                    return result
                }
            }
            guard rc == Z_OK || rc == Z_STREAM_END else {
                throw ZlibError(function: "inflate", code: rc, message: stream.msg.map { String(cString: $0) })
            }
            output.append(contentsOf: chunk[..<produced])
            if output.count > limit { throw ZlibError(function: "inflate", code: Z_BUF_ERROR, message: "output over limit") }
            if rc == Z_OK && produced == 0 && consumed == input.count {
                throw ZlibError(function: "inflate", code: Z_BUF_ERROR, message: "truncated gzip stream")
            }
        } while rc != Z_STREAM_END
        return output
    }

    /// True when `bytes` starts with the gzip magic number.
    public static func isGzip(_ bytes: [UInt8]) -> Bool { bytes.count >= 2 && bytes[0] == 0x1f && bytes[1] == 0x8b }
}

/// One deflate stream reused for many gzip members (`deflateReset` between them), for renderings of many
/// profiles: `deflateInit2` at level 9 allocates and clears about 270 KB each time. `Gzip.compress` is one of
/// these for one member. Not for use from two threads at once.
public final class GzipCompressor {
    // Heap-allocated: zlib keeps a pointer back to the stream, so it must never move.
    let stream: UnsafeMutablePointer<z_stream>

    /// `deflateInit2` with the settings of `Gzip.compress`.
    public init(level: Int32 = 9) throws(ZlibError) {
        stream = .allocate(capacity: 1)
        stream.initialize(to: z_stream())
        let rc = CZlib_deflateInit2(stream, level, 31, 8, Z_DEFAULT_STRATEGY)
        guard rc == Z_OK else {
            stream.deallocate()
            throw ZlibError(function: "deflateInit2", code: rc, message: nil)
        }
    }

    deinit {
        deflateEnd(stream)
        stream.deallocate()
    }

    /// One gzip member holding `input` (`deflateReset`, `deflate(Z_FINISH)`).
    public func compress(_ input: [UInt8]) throws(ZlibError) -> [UInt8] {
        var rc = deflateReset(stream)
        guard rc == Z_OK else { throw ZlibError(function: "deflateReset", code: rc, message: nil) }
        var output = [UInt8](repeating: 0, count: Int(deflateBound(stream, uLong(input.count))))
        var produced = 0
        rc = input.withUnsafeBufferPointer { source in
            output.withUnsafeMutableBufferPointer { target in
                stream.pointee.next_in = UnsafeMutablePointer(mutating: source.baseAddress)
                stream.pointee.avail_in = uInt(source.count)
                stream.pointee.next_out = target.baseAddress
                stream.pointee.avail_out = uInt(target.count)
                let result = deflate(stream, Z_FINISH)
                produced = target.count - Int(stream.pointee.avail_out)
                stream.pointee.next_in = nil
                stream.pointee.next_out = nil
                return result
            }
        }
        guard rc == Z_STREAM_END else {
            throw ZlibError(function: "deflate", code: rc, message: stream.pointee.msg.map { String(cString: $0) })
        }
        output.removeSubrange(produced...)
        return output
    }
}
