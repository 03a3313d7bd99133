import Foundation
import KDQFormats
@testable import KDQEngine
import Testing

/// The large-v3 / turbo layout (128 mel bins, 51,866 tokens, a 4-layer decoder) against
/// openai-whisper fp32: from its own .pt and from whisper.cpp's conversion of it, the log-mel,
/// encoder output and logits within 1e-4 relative to the largest magnitude.
@Suite struct LayoutGoldenTests {
    static let tolerance: Float = 1e-4

    @Test(arguments: [Golden.v3Model, Golden.v3GGML])
    func largeV3LayoutMatchesOpenAIWhisper(_ path: String) throws {
        let checkpoint = try Checkpoint.open(path)
        #expect(checkpoint.dims.nMels == 128 && checkpoint.dims.nVocab == 51866 && checkpoint.dims.nTextLayer == 4)
        let model = try WhisperModel(checkpoint)
        let g = try Golden(Golden.v3Golden)
        let name = (path as NSString).lastPathComponent
        let mel = model.melWindow(try g.floats("audio"))
        let melError = relativeError(mel, try g.floats("mel"))
        print("\(name): 128-bin mel max |diff| \(melError.maxAbs) (relative \(melError.relative), tolerance \(Self.tolerance))")
        #expect(mel.count == 128 * 3000 && melError.relative <= Self.tolerance)
        let encoded = try model.encoder.encode(try g.floats("mel"))
        let encError = relativeError(encoded, try g.floats("encoder_out"))
        print("\(name): encoder max |diff| \(encError.maxAbs) (relative \(encError.relative))")
        #expect(encError.relative <= Self.tolerance)
        let logits = try model.decoder.forward(try g.ints("tokens"), state: try model.decoder.makeState(encoderOutput: try g.floats("encoder_out")))
        let logitError = relativeError(logits, try g.floats("logits"))
        print("\(name): logits max |diff| \(logitError.maxAbs) (relative \(logitError.relative))")
        #expect(logitError.relative <= Self.tolerance)
    }

    @Test func largeV3SpecialTokensFollowItsLayout() throws {
        let tokenizer = try WhisperModel(try Checkpoint.open(Golden.v3Model)).tokenizer()
        // large-v3 adds <|yue|>: every special token after the languages moves up by one.
        #expect(tokenizer.label(50358) == "<|yue|>" && tokenizer.label(50360) == "<|transcribe|>" && tokenizer.label(50364) == "<|notimestamps|>")
    }
}
