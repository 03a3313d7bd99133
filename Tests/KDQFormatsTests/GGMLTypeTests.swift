import Testing
import KDQTensor
@testable import KDQFormats

/// ggml's tensor type codes (ggml.h `enum ggml_type`) against kdq's encodings.
@Suite struct GGMLTypeTests {
    @Test func theKQuantsHaveGGMLsCodes() {
        let expected: [Int32: Encoding] = [10: .q2_K, 11: .q3_K, 12: .q4_K, 13: .q5_K, 14: .q6_K]
        for (code, encoding) in expected {
            #expect(GGMLType.encoding(code: code) == encoding, "code \(code)")
            #expect(GGMLType.code(of: encoding) == code, "\(encoding.rawValue)")
        }
    }

    @Test func everyCodedEncodingReadsBackAsItself() {
        for encoding in Encoding.allCases {
            guard let code = GGMLType.code(of: encoding) else { continue }
            #expect(GGMLType.encoding(code: code) == encoding, "\(encoding.rawValue) → \(code)")
        }
    }

    @Test func whisperCppCanHoldEveryKQuant() {
        for encoding in [Encoding.q2_K, .q3_K, .q4_K, .q5_K, .q6_K] {
            #expect(GGMLWriter.weightEncoding(encoding).0 == encoding, "\(encoding.rawValue)")
            #expect(GGMLWriter.ftype(encoding) == 2000 + GGMLType.code(of: encoding)!, "\(encoding.rawValue)")
        }
    }

    @Test func typesKDQDoesNotReadAreNil() {
        for code: Int32 in [4, 5, 9, 15, 16, 99, -1] { #expect(GGMLType.encoding(code: code) == nil, "code \(code)") }
    }
}
