/// Arithmetic on sizes and offsets that came from a file: every operation reports overflow
/// as an error instead of trapping.
public enum Checked {
    /// `a * b`, or an overflow error naming `what`.
    public static func multiply(_ a: Int, _ b: Int, _ what: @autoclosure () -> String) throws -> Int {
        let (r, o) = a.multipliedReportingOverflow(by: b)
        if o { throw TensorError(.overflow, "\(what()): \(a) × \(b) overflows") }
        return r
    }

    /// `a + b`, or an overflow error naming `what`.
    public static func add(_ a: Int, _ b: Int, _ what: @autoclosure () -> String) throws -> Int {
        let (r, o) = a.addingReportingOverflow(b)
        if o { throw TensorError(.overflow, "\(what()): \(a) + \(b) overflows") }
        return r
    }

    /// The product of all dimensions, rejecting negative dimensions and overflow.
    public static func elementCount(_ shape: [Int]) throws -> Int {
        var n = 1
        for d in shape {
            guard d >= 0 else { throw TensorError(.invalidShape, "negative dimension \(d) in shape \(shape)") }
            n = try multiply(n, d, "element count of shape \(shape)")
        }
        return n
    }

    /// Converts a file-supplied unsigned value to `Int`, rejecting values that do not fit.
    public static func int<T: BinaryInteger>(_ v: T, _ what: @autoclosure () -> String) throws -> Int {
        guard let r = Int(exactly: v) else { throw TensorError(.overflow, "\(what()): \(v) does not fit in a 64-bit size") }
        return r
    }
}
