import CKernels
import KDQJSON

/// The kernels this process computes with: `CKernels`' instruction-set level, the kernel set
/// OpenBLAS loaded, and whether q8_0 matrices multiply many rows in integers. Timings depend on
/// all three, so `kdq transcribe --json` reports them beside its timings.
public struct EngineKernels: Sendable, Equatable {
    /// `CKernels`' level: "avx512", "avx2" or "portable".
    public let cpuKernels: String
    /// OpenBLAS's kernel set (`openblas_get_corename`), nil when the BLAS is not OpenBLAS.
    public let blasCore: String?
    /// Whether q8_0 weights multiply 64 rows or more in integers (AVX-512 VNNI).
    public let integerQ8Products: Bool

    /// What this process runs.
    public static var current: EngineKernels {
        EngineKernels(cpuKernels: String(cString: kdq_kernels().pointee.name), blasCore: BLASCore.current,
                      integerQ8Products: LinearWeight.hasIntegerProducts)
    }

    /// `{"cpu": …, "blas": …, "integer_q8_0": …}`.
    public var json: JSONValue {
        .object(["cpu": .string(cpuKernels), "blas": blasCore.map { .string($0) } ?? .null, "integer_q8_0": .bool(integerQ8Products)])
    }
}
