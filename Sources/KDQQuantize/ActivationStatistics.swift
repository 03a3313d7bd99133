import KDQEngine

/// The mean square of every input column of every linear layer over the calibration windows:
/// with it, a weight's quantization error counts as much as it changes the layer's output
/// (E‖ΔW·x‖² = Σⱼ ‖ΔW[:, j]‖² · E[xⱼ²] when the inputs' columns are uncorrelated), so an
/// error-minimizing quantizer spends its precision on the columns the audio actually drives.
public struct ActivationStatistics: Sendable {
    private var squares: [String: [Double]] = [:]
    private var rows: [String: Int] = [:]

    public init() {}

    /// Adds `count` rows of a linear layer's input (`input.count / count` columns each); rows
    /// of another width than the layer's first ones are ignored.
    public mutating func add(_ weight: String, _ input: UnsafeBufferPointer<Float>, rows count: Int) {
        guard count > 0, input.count % count == 0 else { return }
        let columns = input.count / count
        let added: Bool = squares[weight, default: [Double](repeating: 0, count: columns)].withUnsafeMutableBufferPointer { s in
            guard s.count == columns else { return false }
            for r in 0..<count {
                let row = input.baseAddress! + r * columns
                for j in 0..<columns { s[j] += Double(row[j] * row[j]) }
            }
            return true
        }
        if added { rows[weight, default: 0] += count }
    }

    /// Input rows seen by `weight`.
    public func rowCount(_ weight: String) -> Int { rows[weight] ?? 0 }

    /// The per-column importance of `weight`'s quantization error — the mean square of each
    /// input column, floored at a millionth of their mean so that no column is ignored — when
    /// its rows are `rowLength` wide; nil when the layer was not observed with that width
    /// (a convolution's kernel rows, a tensor that is no linear layer).
    public func importance(_ weight: String, rowLength: Int) -> [Float]? {
        guard let sums = squares[weight], sums.count == rowLength, let n = rows[weight], n > 0 else { return nil }
        let means = sums.map { $0 / Double(n) }
        let floor = max(means.reduce(0, +) / Double(means.count) * 1e-6, Double.leastNormalMagnitude)
        return means.map { Float(max($0, floor)) }
    }

    /// The same statistics under other names: `rename` gives each weight's new name, or nil
    /// to leave it out (a teacher's statistics for a student that renumbers its blocks).
    public func renamed(_ rename: (String) -> String?) -> ActivationStatistics {
        var out = ActivationStatistics()
        for (name, sums) in squares {
            guard let new = rename(name) else { continue }
            out.squares[new] = sums
            out.rows[new] = rows[name]
        }
        return out
    }
}
