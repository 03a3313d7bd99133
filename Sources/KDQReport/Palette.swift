import KDQTensor

/// Colours readable by people with colour-blindness (Okabe and Ito's palette), and a fixed
/// colour per encoding so every chart of a report agrees.
public enum Palette {
    public static let black = "#000000", orange = "#E69F00", skyBlue = "#56B4E9", green = "#009E73"
    public static let yellow = "#F0E442", blue = "#0072B2", vermillion = "#D55E00", purple = "#CC79A7", grey = "#999999"

    /// Series colours in order of use.
    public static let series = [blue, orange, green, vermillion, purple, skyBlue, yellow, black]

    /// The colour of an encoding: wide ones blue, 8 and 6 bits green, 5 bits sky blue, 4 bits
    /// orange and yellow, 3 and 2 bits vermillion and purple.
    public static func color(_ encoding: Encoding) -> String {
        switch encoding {
        case .f32, .f64: return black
        case .f16, .bf16: return blue
        case .q8_0, .q6_K, .int8Rows, .i8, .u8: return green
        case .q5_0, .q5_1, .q5_K: return skyBlue
        case .q4_0, .q4_K: return orange
        case .q4_1: return yellow
        case .q3_K: return vermillion
        case .q2_K: return purple
        default: return grey
        }
    }
}
