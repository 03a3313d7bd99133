#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A minimal mutex (pthread) for the rare shared write from parallel loops.
public final class NSLockLite: @unchecked Sendable {
    private var mutex = pthread_mutex_t()
    public init() { pthread_mutex_init(&mutex, nil) }
    deinit { pthread_mutex_destroy(&mutex) }
    /// Runs `body` while holding the lock.
    public func withLock<T>(_ body: () throws -> T) rethrows -> T {
        pthread_mutex_lock(&mutex)
        defer { pthread_mutex_unlock(&mutex) }
        return try body()
    }
}

/// The first error of concurrent work (later ones are dropped), for parallel loops that cannot
/// throw out of their body.
public final class FirstError: @unchecked Sendable {
    private let lock = NSLockLite()
    private var error: Error?

    public init() {}

    /// Whether an error was recorded (workers stop early when it is).
    public var isSet: Bool { lock.withLock { error != nil } }

    /// Records `e` unless an earlier error was.
    public func set(_ e: Error) { lock.withLock { if error == nil { error = e } } }

    /// Throws the recorded error, if any.
    public func rethrow() throws { if let e = lock.withLock({ error }) { throw e } }
}
