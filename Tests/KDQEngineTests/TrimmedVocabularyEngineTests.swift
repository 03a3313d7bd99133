import Foundation
import KDQFormats
import Testing
@testable import KDQEngine

/// A vocabulary-trimmed model runs its kept tokens exactly as the whole model does and cannot
/// produce or read the others.
@Suite struct TrimmedVocabularyEngineTests {
    @Test func keptTokensHaveTheWholeModelsLogitsAndTheOthersNone() throws {
        let source = try Checkpoint.open(Golden.randomModel)
        let kept = try VocabularySubset(ids: (0..<1024).filter { $0 % 4 != 2 }, vocabularySize: 1024)
        let whole = try WhisperModel(source), trimmed = try WhisperModel(try source.trimmingVocabulary(to: kept))
        let g = try Golden(Golden.randomGolden)
        let encoded = try g.floats("encoder_out")
        let tokens = try g.ints("tokens").filter { kept.contains($0) }
        let a = try whole.decoder.forward(tokens, state: try whole.decoder.makeState(encoderOutput: encoded))
        let b = try trimmed.decoder.forward(tokens, state: try trimmed.decoder.makeState(encoderOutput: encoded))
        var worst: Float = 0
        for i in a.indices {
            if kept.contains(i % 1024) { worst = max(worst, abs(a[i] - b[i])) } else { #expect(b[i] == -.infinity) }
        }
        print("trimmed against whole: kept logits max |diff| \(worst) (tolerance 1e-4)")
        #expect(worst <= 1e-4)
    }

    @Test func aTokenTheModelLacksIsAnError() throws {
        let source = try Checkpoint.open(Golden.randomModel)
        let model = try WhisperModel(try source.trimmingVocabulary(to: try VocabularySubset(ids: Array(0..<100), vocabularySize: 1024)))
        let state = try model.decoder.makeState(encoderOutput: try Golden(Golden.randomGolden).floats("encoder_out"))
        #expect(throws: EngineError.self) { try model.decoder.forward([5, 200], state: state) }
    }
}
