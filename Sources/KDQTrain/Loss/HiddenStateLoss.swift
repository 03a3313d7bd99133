import KDQTensor

/// Mean squared error between a student layer's residual stream and a teacher layer's, through an
/// optional learned linear adapter (`adapter.<student layer>.weight` [teacher width, student
/// width] and `.bias`) when the widths differ, over the positions that have a target.
public struct HiddenStateLoss {
    let normalize: Bool

    /// The adapter tensors for student layer `layer`: identity-like where the widths allow.
    public static func adapterTensors(layer: Int, studentWidth: Int, teacherWidth: Int) throws -> [(name: String, tensor: Tensor)] {
        var w = [Float](repeating: 0, count: teacherWidth * studentWidth)
        for i in 0..<min(teacherWidth, studentWidth) { w[i * studentWidth + i] = 1 }
        return [("adapter.\(layer).weight", try Tensor(shape: [teacherWidth, studentWidth], floats: w)),
                ("adapter.\(layer).bias", try Tensor(shape: [teacherWidth], floats: [Float](repeating: 0, count: teacherWidth)))]
    }

    /// The student rows at `positions` (gathered) and what the adapter makes of them (the rows
    /// themselves without one), positions × teacher width.
    static func mapped(_ student: UnsafePointer<Float>, width ws: Int, positions: [Int], adapter: (UnsafePointer<Float>, UnsafePointer<Float>)?,
                       teacherWidth wt: Int) -> (rows: FloatBuffer, mapped: FloatBuffer) {
        let n = positions.count
        let xs = FloatBuffer(n * ws)
        for (i, r) in positions.enumerated() { (xs.pointer + i * ws).update(from: student + r * ws, count: ws) }
        guard let (w, b) = adapter else { return (xs, xs) }
        let mapped = FloatBuffer(n * wt)
        Linear.forward(xs.pointer, n, ws, w, wt, bias: b, into: mapped.pointer)
        return (xs, mapped)
    }

    /// The loss (mean over `positions` and the teacher width, divided by the teacher's mean square
    /// when normalizing); adds weight·d(loss)/d(student) into `dStudent` and the adapter's
    /// gradients into `dAdapter` (weight, bias).
    func run(student: UnsafePointer<Float>, studentWidth ws: Int, teacher: UnsafePointer<Float>, teacherWidth wt: Int,
             positions: [Int], adapter: (UnsafePointer<Float>, UnsafePointer<Float>)?, weight: Double,
             dStudent: UnsafeMutablePointer<Float>,
             dAdapter: (UnsafeMutablePointer<Float>?, UnsafeMutablePointer<Float>?)) -> Double {
        guard !positions.isEmpty else { return 0 }
        let n = positions.count
        let (xs, mapped) = Self.mapped(student, width: ws, positions: positions, adapter: adapter, teacherWidth: wt)
        var squares: Double = 0, reference: Double = 0
        for (i, r) in positions.enumerated() {
            for j in 0..<wt {
                let t = teacher[r * wt + j]
                let diff = mapped.pointer[i * wt + j] - t
                squares += Double(diff * diff)
                reference += Double(t * t)
            }
        }
        let count = Double(n * wt)
        let scale = normalize ? max(reference / count, 1e-12) : 1
        let loss = squares / count / scale
        // d(loss)/d(mapped) = 2(mapped − teacher)/(count·scale), kept in `mapped`.
        let g = Float(2 * weight / (count * scale))
        for (i, r) in positions.enumerated() {
            for j in 0..<wt { mapped.pointer[i * wt + j] = g * (mapped.pointer[i * wt + j] - teacher[r * wt + j]) }
        }
        let dxs = FloatBuffer(n * ws)
        if let (w, _) = adapter {
            Linear.backward(mapped.pointer, n, wt, x: xs.pointer, ws, w: w, dx: dxs.pointer, dw: dAdapter.0, db: dAdapter.1)
        } else {
            dxs.pointer.update(from: mapped.pointer, count: n * ws)
        }
        for (i, r) in positions.enumerated() {
            for j in 0..<ws { dStudent[r * ws + j] += dxs.pointer[i * ws + j] }
        }
        return loss
    }
}
