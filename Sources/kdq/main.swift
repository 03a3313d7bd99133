import ArgumentParser
#if canImport(Glibc)
import Glibc
#endif

// A file-size limit (`ulimit -f`) makes a write fail with EFBIG, reported like a full disk,
// instead of killing kdq with SIGXFSZ before it can remove its temporary output.
signal(SIGXFSZ, SIG_IGN)
KDQCommand.main()
