import KDQTensor

/// ggml's tensor type codes (ggml.h `enum ggml_type`) for the encodings whisper.cpp files use.
public enum GGMLType {
    /// The encoding of a ggml type code, or nil for types kdq does not handle (q8_K, IQ…).
    public static func encoding(code: Int32) -> Encoding? {
        switch code {
        case 0: return .f32
        case 1: return .f16
        case 2: return .q4_0
        case 3: return .q4_1
        case 6: return .q5_0
        case 7: return .q5_1
        case 8: return .q8_0
        case 10: return .q2_K
        case 11: return .q3_K
        case 12: return .q4_K
        case 13: return .q5_K
        case 14: return .q6_K
        case 30: return .bf16
        default: return nil
        }
    }

    /// The ggml type code of an encoding, or nil when ggml has none (int8 rows, integers).
    public static func code(of encoding: Encoding) -> Int32? {
        switch encoding {
        case .f32: return 0
        case .f16: return 1
        case .q4_0: return 2
        case .q4_1: return 3
        case .q5_0: return 6
        case .q5_1: return 7
        case .q8_0: return 8
        case .q2_K: return 10
        case .q3_K: return 11
        case .q4_K: return 12
        case .q5_K: return 13
        case .q6_K: return 14
        case .bf16: return 30
        default: return nil
        }
    }
}
