import Dispatch

/// Summary statistics of a tensor's decoded values. NaN and ±Inf are counted and left out
/// of min, max, mean and standard deviation.
public struct TensorStatistics: Sendable, Equatable {
    public var count: Int = 0
    public var finiteCount: Int = 0
    public var min: Float = .infinity
    public var max: Float = -.infinity
    public var sum: Double = 0
    public var sumOfSquares: Double = 0
    public var zeros: Int = 0
    public var nans: Int = 0
    public var infinities: Int = 0

    public init() {}

    /// Mean of the finite values (0 when there are none).
    public var mean: Double { finiteCount == 0 ? 0 : sum / Double(finiteCount) }

    /// Population standard deviation of the finite values.
    public var standardDeviation: Double {
        guard finiteCount > 0 else { return 0 }
        let m = mean
        return (Swift.max(0, sumOfSquares / Double(finiteCount) - m * m)).squareRoot()
    }

    /// Adds the values of `other` (statistics of a disjoint set of elements).
    public mutating func merge(_ other: TensorStatistics) {
        count += other.count
        finiteCount += other.finiteCount
        min = Swift.min(min, other.min)
        max = Swift.max(max, other.max)
        sum += other.sum
        sumOfSquares += other.sumOfSquares
        zeros += other.zeros
        nans += other.nans
        infinities += other.infinities
    }

    /// Accumulates `n` decoded values.
    mutating func accumulate(_ x: UnsafePointer<Float>, _ n: Int) {
        var lo = min, hi = max, s: Float = 0, ss: Float = 0
        var z = 0, nan = 0, inf = 0
        var i = 0
        while i < n {
            let end = Swift.min(n, i + 256)
            s = 0; ss = 0
            while i < end {
                let v = x[i]
                if v.isFinite {
                    lo = Swift.min(lo, v); hi = Swift.max(hi, v)
                    s += v; ss += v * v
                    if v == 0 { z += 1 }
                } else if v.isNaN { nan += 1 } else { inf += 1 }
                i += 1
            }
            sum += Double(s); sumOfSquares += Double(ss)
        }
        min = lo; max = hi
        count += n
        finiteCount += n - nan - inf
        zeros += z; nans += nan; infinities += inf
    }
}

extension Tensor {
    /// Streams the tensor through a decode buffer in chunks, spread over all cores.
    public func statistics() throws -> TensorStatistics {
        let chunk = 1 << 16  // a multiple of every block size
        let chunks = (elementCount + chunk - 1) / chunk
        guard chunks > 0 else { return TensorStatistics() }
        var partials = [TensorStatistics](repeating: TensorStatistics(), count: chunks)
        var failure: Error?
        let lock = NSLockLite()
        partials.withUnsafeMutableBufferPointer { parts in
            let parts = parts
            DispatchQueue.concurrentPerform(iterations: chunks) { c in
                let start = c * chunk
                let n = Swift.min(chunk, elementCount - start)
                let buffer = UnsafeMutablePointer<Float>.allocate(capacity: n)
                defer { buffer.deallocate() }
                do {
                    try decode(start: start, count: n, into: buffer)
                    parts[c].accumulate(buffer, n)
                } catch {
                    lock.withLock { failure = error }
                }
            }
        }
        if let failure { throw failure }
        var total = TensorStatistics()
        for p in partials { total.merge(p) }
        return total
    }
}
