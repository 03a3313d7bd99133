#if canImport(Glibc)
import Glibc
#endif

/// OpenBLAS's pool threads keep polling for work (with `sched_yield`) for about 2²⁸ cycles —
/// a tenth of a second — after every product they served. The engine's own steps between
/// products (softmax, GELU, one decoding step's kernels) run on the same cores, so a polling
/// pool thread takes cycles from them: lowering the timeout to OpenBLAS's least (2⁴ cycles:
/// the pool sleeps as soon as a product ends and is woken for the next) made base's decoding
/// ~8% faster on this project's 2-core machine (docs/performance.md).
public enum BLASThreadPool {
    /// Applies the short timeout, unless the user has set `OPENBLAS_THREAD_TIMEOUT` (kept as
    /// given) or the BLAS library is not OpenBLAS (nothing to do). OpenBLAS reads the setting
    /// when its pool starts, so the pool is stopped here and starts again, with it, at the next
    /// product. Call it once at the start of a process, before any thread runs a BLAS product
    /// (the `kdq` command does): stopping the pool under a running product would lose its work.
    public static func sleepAfterEachProduct() {
        guard getenv("OPENBLAS_THREAD_TIMEOUT") == nil,
              let readEnvironment = dlsym(nil, "openblas_read_env"),
              let shutDown = dlsym(nil, "blas_thread_shutdown_") else { return }
        setenv("OPENBLAS_THREAD_TIMEOUT", "4", 0)
        unsafeBitCast(readEnvironment, to: (@convention(c) () -> Void).self)()
        _ = unsafeBitCast(shutDown, to: (@convention(c) () -> Int32).self)()
    }
}
