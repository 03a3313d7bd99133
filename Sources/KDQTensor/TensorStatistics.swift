import Dispatch
#if canImport(Glibc)
import Glibc
#endif

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

    /// Accumulates `n` decoded values: a SIMD pass over runs of 256 values, and a careful
    /// scalar pass for any run that holds NaN or ±Inf.
    mutating func accumulate(_ x: UnsafePointer<Float>, _ n: Int) {
        var i = 0
        while i < n {
            let run = Swift.min(256, n - i)
            if !accumulateFinite(x + i, run) { accumulateScalar(x + i, run) }
            i += run
        }
    }

    /// The SIMD pass; false (and nothing recorded) when the run is not all finite.
    private mutating func accumulateFinite(_ x: UnsafePointer<Float>, _ n: Int) -> Bool {
        let lanes = n / 8 * 8
        var lo = SIMD8<Float>(repeating: .infinity), hi = SIMD8<Float>(repeating: -.infinity)
        var s = SIMD8<Float>(), ss = SIMD8<Float>()
        var z = SIMD8<Int32>()
        let raw = UnsafeRawPointer(x)
        for j in stride(from: 0, to: lanes, by: 8) {
            let v = raw.loadUnaligned(fromByteOffset: 4 * j, as: SIMD8<Float>.self)
            lo.replace(with: v, where: v .< lo)
            hi.replace(with: v, where: v .> hi)
            s += v
            ss += v * v
            z &+= SIMD8<Int32>(repeating: 0).replacing(with: 1, where: v .== 0)
        }
        var sum = Double(s.sum()), squares = Double(ss.sum())
        var runMin = lo.min(), runMax = hi.max(), zeros = Int(z.wrappedSum())
        for j in lanes..<n {
            let v = x[j]
            runMin = Swift.min(runMin, v); runMax = Swift.max(runMax, v)
            sum += Double(v); squares += Double(v * v)
            if v == 0 { zeros += 1 }
        }
        guard sum.isFinite, squares.isFinite, runMin.isFinite || n == 0, runMax.isFinite || n == 0 else { return false }
        min = Swift.min(min, runMin); max = Swift.max(max, runMax)
        self.sum += sum; sumOfSquares += squares
        self.zeros += zeros
        count += n; finiteCount += n
        return true
    }

    private mutating func accumulateScalar(_ x: UnsafePointer<Float>, _ n: Int) {
        for i in 0..<n {
            let v = x[i]
            count += 1
            if v.isNaN { nans += 1; continue }
            if v.isInfinite { infinities += 1; continue }
            finiteCount += 1
            min = Swift.min(min, v); max = Swift.max(max, v)
            sum += Double(v); sumOfSquares += Double(v) * Double(v)
            if v == 0 { zeros += 1 }
        }
    }
}

extension Tensor {
    /// Decodes and measures the whole tensor (see `TensorStatistics.measure`).
    public func statistics() throws -> TensorStatistics {
        try TensorStatistics.measure([self])[0]
    }
}

extension TensorStatistics {
    /// Measures many tensors at once: their chunks of 64 Ki elements are shared out among
    /// one worker per core, each decoding into a buffer of its own. `progress` receives the
    /// encoded bytes done so far and the total, from one thread at a time.
    public static func measure(_ tensors: [Tensor], progress: ((Int, Int) -> Void)? = nil) throws -> [TensorStatistics] {
        let chunk = 1 << 16  // a multiple of every block size
        var items: [(tensor: Int, start: Int, count: Int)] = []
        for (t, tensor) in tensors.enumerated() {
            for start in stride(from: 0, to: tensor.elementCount, by: chunk) {
                items.append((t, start, Swift.min(chunk, tensor.elementCount - start)))
            }
        }
        let totalBytes = tensors.reduce(0) { $0 + $1.byteCount }
        var partials = [TensorStatistics](repeating: TensorStatistics(), count: items.count)
        var next = 0, doneBytes = 0
        var failure: Error?
        let lock = NSLockLite()
        let workers = Swift.max(1, Swift.min(items.count, sysconf(Int32(_SC_NPROCESSORS_ONLN))))
        partials.withUnsafeMutableBufferPointer { parts in
            let parts = parts
            DispatchQueue.concurrentPerform(iterations: workers) { _ in
                let buffer = UnsafeMutablePointer<Float>.allocate(capacity: chunk)
                defer { buffer.deallocate() }
                while true {
                    let index: Int? = lock.withLock {
                        guard next < items.count, failure == nil else { return nil }
                        next += 1
                        return next - 1
                    }
                    guard let index else { return }
                    let item = items[index]
                    let tensor = tensors[item.tensor]
                    do {
                        try tensor.decode(start: item.start, count: item.count, into: buffer)
                        parts[index].accumulate(buffer, item.count)
                    } catch {
                        lock.withLock { failure = failure ?? error }
                    }
                    lock.withLock {
                        doneBytes += tensor.elementCount == 0 ? 0 : tensor.byteCount * item.count / tensor.elementCount
                        progress?(doneBytes, totalBytes)
                    }
                }
            }
        }
        if let failure { throw failure }
        var totals = [TensorStatistics](repeating: TensorStatistics(), count: tensors.count)
        for (i, item) in items.enumerated() { totals[item.tensor].merge(partials[i]) }
        return totals
    }
}
