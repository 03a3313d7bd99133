import Foundation
import KDQJSON
import Testing
@testable import KDQAnalysis

/// The normalizer gives exactly openai-whisper's output on every reference text and
/// hypothesis of the dev set (pairs written by openai-whisper's EnglishTextNormalizer).
@Suite struct NormalizerTests {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures").path

    static func pairs(_ file: String) throws -> [(String, String)] {
        let text = try String(contentsOfFile: fixtures + "/" + file, encoding: .utf8)
        return try text.split(separator: "\n").map { line in
            let v = try JSONValue.parse(String(line))
            return ((v["text"] ?? v["hyp"])?.stringValue ?? "", v["normalized"]?.stringValue ?? "")
        }
    }

    @Test(arguments: ["normalized-texts.jsonl", "normalized-hyps.jsonl"])
    func matchesOpenAIWhisperOnTheDevSet(_ file: String) throws {
        let normalize = EnglishTextNormalizer()
        let pairs = try Self.pairs(file)
        var mismatches: [String] = []
        for (input, expected) in pairs where normalize(input) != expected {
            mismatches.append("\(input) -> \(normalize(input)) (expected \(expected))")
        }
        print("\(file): \(pairs.count - mismatches.count) of \(pairs.count) normalized exactly as openai-whisper")
        #expect(mismatches.isEmpty, "\(mismatches.prefix(5))")
    }

    @Test func hardCases() throws {
        let normalize = EnglishTextNormalizer()
        let pairs = try Self.pairs("normalized-tricky.jsonl")
        let mismatches = pairs.filter { normalize($0.0) != $0.1 }.map { "\($0.0) -> \(normalize($0.0)) (expected \($0.1))" }
        print("tricky: \(pairs.count - mismatches.count) of \(pairs.count)")
        #expect(mismatches.isEmpty, "\(mismatches)")
    }
}
