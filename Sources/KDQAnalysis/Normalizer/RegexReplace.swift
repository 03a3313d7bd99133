import Foundation

/// Python's `re.sub` on top of NSRegularExpression (ICU): `$1` in templates stands for
/// Python's `\1`.
struct RegexReplace {
    /// nil only for a pattern ICU rejects: the patterns are this module's constants, and the
    /// normalizer tests would show one that does not compile.
    let regex: NSRegularExpression?
    let template: String

    init(_ pattern: String, _ template: String = "") {
        regex = try? NSRegularExpression(pattern: pattern)
        self.template = template
    }

    func apply(_ s: String) -> String {
        regex?.stringByReplacingMatches(in: s, range: NSRange(s.startIndex..., in: s), withTemplate: template) ?? s
    }

    /// True when the pattern matches somewhere in `s`.
    func matches(_ s: String) -> Bool {
        regex?.firstMatch(in: s, range: NSRange(s.startIndex..., in: s)) != nil
    }

    /// `re.sub` with a function of the groups.
    func apply(_ s: String, _ transform: ([String?]) -> String) -> String {
        regex?.replacing(in: s, transform) ?? s
    }

    /// `re.split`.
    func split(_ s: String) -> [String] {
        guard let regex else { return [s] }
        let ns = s as NSString
        var parts: [String] = []
        var last = 0
        for m in regex.matches(in: s, range: NSRange(location: 0, length: ns.length)) {
            parts.append(ns.substring(with: NSRange(location: last, length: m.range.location - last)))
            last = m.range.location + m.range.length
        }
        return parts + [ns.substring(from: last)]
    }
}

extension NSRegularExpression {
    /// Python's `re.sub(pattern, function, s)`: each match replaced by `transform(groups)`,
    /// where groups[0] is the whole match and a missing group is nil.
    func replacing(in s: String, _ transform: ([String?]) -> String) -> String {
        let ns = s as NSString
        var out = ""
        var last = 0
        for m in matches(in: s, range: NSRange(location: 0, length: ns.length)) {
            out += ns.substring(with: NSRange(location: last, length: m.range.location - last))
            let groups = (0..<m.numberOfRanges).map { i -> String? in
                let r = m.range(at: i)
                return r.location == NSNotFound ? nil : ns.substring(with: r)
            }
            out += transform(groups)
            last = m.range.location + m.range.length
        }
        return out + ns.substring(from: last)
    }
}
