import CKernels
#if canImport(Glibc)
import Glibc
#endif

/// OpenBLAS built for many CPUs (Debian's is) picks its kernels from the CPU's model number
/// when it loads. A CPU newer than the library is not recognized and gets the generic SSE3
/// kernels ("Prescott"): Debian 12's OpenBLAS 0.3.21 on a Sapphire Rapids Xeon multiplies
/// base's 1,500 × 2,048 × 512 products at 65 GFLOP/s on 2 cores, where its AVX-512 kernels
/// ("SkylakeX") reach 290. The choice can only be changed by `OPENBLAS_CORETYPE`, which
/// OpenBLAS reads as it loads, before any of kdq's code runs — so kdq restarts itself once with
/// it set (docs/performance.md).
public enum BLASCore {
    /// Kernel sets of OpenBLAS that use AVX2 or AVX-512 (lowercased `openblas_get_corename`).
    static let vectorCores: Set<String> = ["haswell", "zen", "skylakex", "cooperlake", "sapphirerapids"]

    /// The core OpenBLAS chose when it loaded (nil when the BLAS library is not OpenBLAS).
    public static var current: String? {
        guard let symbol = dlsym(nil, "openblas_get_corename") else { return nil }
        let corename = unsafeBitCast(symbol, to: (@convention(c) () -> UnsafeMutablePointer<CChar>?).self)
        return corename().map { String(cString: $0) }
    }

    /// The core to ask OpenBLAS for instead of `chosen` on a CPU that has AVX-512 (`avx512`) or
    /// AVX2 with FMA (`avx2`): nil when `chosen` already uses them or the CPU has neither.
    static func better(than chosen: String, avx512: Bool, avx2: Bool) -> String? {
        guard !vectorCores.contains(chosen.lowercased()) else { return nil }
        if avx512 { return "SkylakeX" }
        if avx2 { return "Haswell" }
        return nil
    }

    /// Where OpenBLAS runs generic kernels on a CPU with AVX2 or AVX-512 and the user has not
    /// set `OPENBLAS_CORETYPE`: sets it to the kernels the CPU can run and replaces the process
    /// with a new run of the same executable and arguments (which then keeps what it finds).
    /// Returns when there is nothing to change or the restart fails (kdq then runs as it is).
    /// Call it first thing in `main`, before any other thread starts.
    public static func restartWithVectorKernelsIfNeeded() {
        guard getenv("OPENBLAS_CORETYPE") == nil, let chosen = current,
              let core = better(than: chosen, avx512: kdq_kernels_cpu_has_avx512() != 0, avx2: kdq_kernels_cpu_has_avx2() != 0)
        else { return }
        setenv("OPENBLAS_CORETYPE", core, 1)
        var arguments = CommandLine.arguments.map { strdup($0) }
        arguments.append(nil)
        execv("/proc/self/exe", arguments)
        // Still here: the restart failed; the setting would only apply to child processes.
        unsetenv("OPENBLAS_CORETYPE")
        for argument in arguments { free(argument) }
    }
}
