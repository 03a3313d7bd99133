import ArgumentParser
import KDQEngine
#if canImport(Glibc)
import Glibc
#endif

// OpenBLAS's generic kernels on a CPU it does not recognize: restart once with its vector kernels.
BLASCore.restartWithVectorKernelsIfNeeded()
// A file-size limit (`ulimit -f`) makes a write fail with EFBIG, reported like a full disk,
// instead of killing kdq with SIGXFSZ before it can remove its temporary output.
signal(SIGXFSZ, SIG_IGN)
// Before any thread runs a product: OpenBLAS's pool sleeps as soon as a product ends.
BLASThreadPool.sleepAfterEachProduct()
KDQCommand.main()
