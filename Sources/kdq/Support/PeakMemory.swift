import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// This process's peak resident memory in bytes: the kernel's high-water mark of this program
/// (`VmHWM`, reset when the program is executed). `getrusage`'s `ru_maxrss` is not: a process
/// started by fork and exec from a large parent (a Python benchmark holding a model) reports
/// the parent's peak.
enum PeakMemory {
    static var bytes: Int {
        if let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
           let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") }),
           let kB = Int(line.dropFirst(6).trimmingCharacters(in: .whitespaces).split(separator: " ").first ?? "") {
            return kB * 1024
        }
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        return Int(usage.ru_maxrss) * 1024
    }
}
