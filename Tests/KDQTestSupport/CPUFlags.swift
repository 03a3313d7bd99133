import Foundation

/// The instruction-set flags of this machine's CPU, as Linux lists them in /proc/cpuinfo.
public enum CPUFlags {
    /// Every flag of the first processor (empty where /proc/cpuinfo cannot be read).
    public static let all: Set<String> = {
        guard let info = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8),
              let line = info.split(separator: "\n").first(where: { $0.hasPrefix("flags") }),
              let colon = line.firstIndex(of: ":") else { return [] }
        return Set(line[line.index(after: colon)...].split(separator: " ").map(String.init))
    }()

    /// Whether the CPU has every one of `flags`.
    public static func has(_ flags: [String]) -> Bool { flags.allSatisfy(all.contains) }
}
