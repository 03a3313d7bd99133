/// Escaping for text and attribute values placed in HTML or SVG.
enum HTML {
    static func escape(_ s: String) -> String {
        var out = ""
        out.reserveCapacity(s.count)
        for c in s {
            switch c {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default: out.append(c)
            }
        }
        return out
    }

    /// A table with a header row; `numeric` columns are right-aligned.
    static func table(_ headers: [String], _ rows: [[String]], numeric: Set<Int> = [], caption: String? = nil) -> String {
        func cell(_ tag: String, _ text: String, _ k: Int) -> String {
            "<\(tag)\(numeric.contains(k) ? " class=\"num\"" : "")>\(escape(text))</\(tag)>"
        }
        var s = "<table>"
        if let caption { s += "<caption>\(escape(caption))</caption>" }
        s += "<thead><tr>" + headers.enumerated().map { cell("th", $0.element, $0.offset) }.joined() + "</tr></thead><tbody>"
        for row in rows { s += "<tr>" + row.enumerated().map { cell("td", $0.element, $0.offset) }.joined() + "</tr>" }
        return s + "</tbody></table>"
    }
}
