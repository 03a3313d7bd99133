import Foundation
import Testing
@testable import KDQEngine
import KDQFormats

/// The forward pass against openai-whisper fp32: mel, encoder output and logits within a
/// relative error of 1e-4 (of the largest magnitude), and greedy tokens identical.
@Suite(.serialized) struct ForwardGoldenTests {
    static let tolerance: Float = 1e-4

    @Test func randomModelMatchesGolden() throws {
        let model = try WhisperModel(try Checkpoint.open(Golden.randomModel))
        let g = try Golden(Golden.randomGolden)
        let mel = model.mel.compute(try g.floats("audio"))
        let melError = relativeError(Array(mel.prefix(80 * 3000)), try g.floats("mel"))
        print("random model: mel max |diff| \(melError.maxAbs) (relative \(melError.relative), tolerance \(Self.tolerance))")
        #expect(melError.relative <= Self.tolerance)

        let encoded = try model.encoder.encode(try g.floats("mel"))
        let encError = relativeError(encoded, try g.floats("encoder_out"))
        print("random model: encoder max |diff| \(encError.maxAbs) (relative \(encError.relative))")
        #expect(encError.relative <= Self.tolerance)

        let state = try model.decoder.makeState(encoderOutput: try g.floats("encoder_out"))
        let logits = try model.decoder.forward(try g.ints("tokens"), state: state)
        let logitError = relativeError(logits, try g.floats("logits"))
        print("random model: logits max |diff| \(logitError.maxAbs) (relative \(logitError.relative))")
        #expect(logitError.relative <= Self.tolerance)
    }

    @Test(.enabled(if: Golden.referenceDirectory != nil && Golden.realModel("tiny.en") != nil && Golden.realModel("base") != nil,
                   "needs ../shared/reference and scripts/fetch-models.sh"),
          arguments: ["tiny.en", "base"])
    func realModelsMatchReference(_ name: String) throws {
        let model = try WhisperModel(try Checkpoint.open(Golden.realModel(name)!))
        for clip in ["jfk", "cathy_arctic_b0005", "librivox_0880"] {
            let g = try Golden(Golden.referenceDirectory! + "/\(name)-\(clip).safetensors")
            let audio = try g.floats("audio")
            var padded = audio + [Float](repeating: 0, count: max(0, LogMelSpectrogram.windowSamples - audio.count))
            padded = Array(padded.prefix(LogMelSpectrogram.windowSamples))
            let mel = model.mel.compute(padded)
            let melError = relativeError(mel, try g.floats("mel"))
            let encoded = try model.encoder.encode(try g.floats("mel"))
            let encError = relativeError(encoded, try g.floats("encoder_out"))
            let tokens = try g.ints("tokens")
            let state = try model.decoder.makeState(encoderOutput: try g.floats("encoder_out"))
            let logits = try model.decoder.forward(Array(tokens.prefix(8)), state: state)
            let logitError = relativeError(logits, try g.floats("logits"))
            print("\(name) \(clip): max |diff| mel \(melError.maxAbs), encoder \(encError.maxAbs), logits \(logitError.maxAbs); relative \(melError.relative), \(encError.relative), \(logitError.relative) (tolerance \(Self.tolerance))")
            #expect(melError.relative <= Self.tolerance, "\(name) \(clip) mel")
            #expect(encError.relative <= Self.tolerance, "\(name) \(clip) encoder")
            #expect(logitError.relative <= Self.tolerance, "\(name) \(clip) logits")

            // Greedy decoding from our own mel reproduces openai-whisper's tokens.
            let promptLength = Int(g.metadata["prompt_len"] ?? "0")!
            var options = DecodingOptions()
            options.language = "en"
            let result = try WindowDecoder(model: model, options: options).decode(encoderOutput: try model.encoder.encode(mel))
            let text = try model.tokenizer().decode(result.tokens)
            #expect(result.tokens == Array(tokens[promptLength...]), "\(name) \(clip): \(text)")
            #expect(text.trimmingSpaces() == g.metadata["text"], "\(name) \(clip) text")
        }
    }
}

@Suite struct ForwardAPITests {
    @Test func batchForwardGivesEveryLayer() throws {
        let model = try WhisperModel(try Checkpoint.open(Golden.randomModel))
        let g = try Golden(Golden.randomGolden)
        let mel = try g.floats("mel"), tokens = try g.ints("tokens")
        let results = try model.forward(batch: [(mel, tokens), (mel, Array(tokens.prefix(2)))])
        #expect(results.count == 2)
        #expect(results[0].encoderHidden.count == 2 && results[0].decoderHidden.count == 2)
        #expect(results[0].encoderHidden[0].count == 1500 * 64)
        #expect(results[0].decoderHidden[1].count == tokens.count * 64)
        #expect(relativeError(results[0].logits, try g.floats("logits")).relative <= 1e-4)
        // Causality: the first two positions do not depend on later tokens.
        #expect(relativeError(Array(results[0].logits.prefix(2 * 1024)), results[1].logits).maxAbs < 1e-5)
        #expect(relativeError(model.melWindow(try g.floats("audio")), mel).relative <= 1e-4)
    }

    @Test func crossAttentionIsADistributionOverTheAudioPerPositionAndBlock() throws {
        let model = try WhisperModel(try Checkpoint.open(Golden.randomModel))
        let g = try Golden(Golden.randomGolden)
        let mel = try g.floats("mel"), tokens = try g.ints("tokens")
        let plain = try model.forward(mel: mel, tokens: tokens)
        let r = try model.forward(mel: mel, tokens: tokens, keepCrossAttention: true)
        #expect(plain.crossAttention.isEmpty && r.crossAttention.count == 2)
        #expect(r.logits == plain.logits)
        for block in r.crossAttention {
            #expect(block.count == tokens.count * 1500 && block.allSatisfy { $0 >= 0 })
            for row in 0..<tokens.count {
                let sum = block[(row * 1500)..<((row + 1) * 1500)].reduce(0, +)
                #expect(abs(sum - 1) < 1e-4, "row \(row) sums to \(sum)")
            }
        }
    }
}
