import Testing
import KDQEngine
import KDQFormats
import KDQTensor
@testable import KDQQuantize

/// Activation statistics: what they accumulate, and that weighting the search quantizer by
/// them lowers the error the model actually sees.
struct ActivationStatisticsTests {
    @Test func meanSquaresAccumulatePerColumnOverAllRows() {
        var stats = ActivationStatistics()
        let first: [Float] = [1, 2, 3, -1, 0, 1]  // 2 rows × 3
        let second: [Float] = [2, 0, 0]           // 1 row
        first.withUnsafeBufferPointer { stats.add("w", $0, rows: 2) }
        second.withUnsafeBufferPointer { stats.add("w", $0, rows: 1) }
        #expect(stats.rowCount("w") == 3)
        let importance = stats.importance("w", rowLength: 3)!
        let expected: [Float] = [6.0 / 3, 4.0 / 3, 10.0 / 3]
        let diff = zip(importance, expected).map { abs($0 - $1) }.max()!
        #expect(diff < 1e-6, "max difference \(diff)")
    }

    @Test func aColumnNeverDrivenKeepsASmallPositiveWeight() {
        var stats = ActivationStatistics()
        let rows: [Float] = [0, 4, 0, 4]
        rows.withUnsafeBufferPointer { stats.add("w", $0, rows: 2) }
        let importance = stats.importance("w", rowLength: 2)!
        #expect(importance[0] > 0 && importance[0] < importance[1] * 1e-5, "\(importance)")
    }

    @Test func anotherRowWidthOrAnUnseenLayerHasNoImportance() {
        var stats = ActivationStatistics()
        let rows: [Float] = [1, 2, 3, 4]
        rows.withUnsafeBufferPointer { stats.add("conv", $0, rows: 1) }
        #expect(stats.importance("conv", rowLength: 3) == nil)
        #expect(stats.importance("other", rowLength: 4) == nil)
    }

    @Test(.enabled(if: SensitivityProfilerTests.tinyEn != nil, "run scripts/fetch-models.sh"))
    func everyLinearLayerIsObservedOnTheCalibrationWindows() throws {
        let checkpoint = try Checkpoint.open(SensitivityProfilerTests.tinyEn!)
        let model = try WhisperModel(checkpoint)
        let calibration = try SensitivityProfilerTests.calibration()
        let profiler = try SensitivityProfiler(checkpoint: checkpoint, model: model, calibration: calibration,
                                               options: DecodingOptions(), blocks: .search, weighting: .activations)
        let stats = try #require(profiler.quantizer.statistics)
        for (name, t) in checkpoint.tensors where CanonicalNames.isMatrixWeight(name, shape: t.shape) {
            #expect(stats.importance(name, rowLength: t.shape[1]) != nil, "\(name) not observed")
        }
        // Cross-attention keys read the encoder output: 1500 rows per window, their mean squares.
        let reference = profiler.references[0]
        #expect(stats.rowCount("decoder.blocks.0.cross_attn.key.weight") == 1500 * profiler.references.count)
        #expect(stats.rowCount("decoder.blocks.0.attn.query.weight") == profiler.positions)
        let width = model.dims.nTextState
        var expected = [Double](repeating: 0, count: width)
        for (i, v) in reference.encoderOutput.enumerated() { expected[i % width] += Double(v * v) / 1500 }
        let importance = stats.importance("decoder.blocks.0.cross_attn.key.weight", rowLength: width)!
        let diff = zip(importance, expected).map { abs(Double($0) - $1) / max($1, 1e-6) }.max()!
        #expect(diff < 1e-4, "max relative difference \(diff)")
    }

    @Test(.enabled(if: SensitivityProfilerTests.tinyEn != nil, "run scripts/fetch-models.sh"))
    func weightedSearchChangesTheLayerOutputLess() throws {
        let checkpoint = try Checkpoint.open(SensitivityProfilerTests.tinyEn!)
        let model = try WhisperModel(checkpoint)
        let name = "encoder.blocks.3.mlp.2.weight"
        var changes: [Double] = []
        for weighted in [false, true] {
            let profiler = try SensitivityProfiler(checkpoint: checkpoint, model: model, calibration: try SensitivityProfilerTests.calibration(),
                                                   options: DecodingOptions(), blocks: .search, weighting: weighted ? .activations : .none)
            let q4 = try profiler.profile([(name, [.q4_0])]).entries[0].alternatives.first { $0.encoding == .q4_0 }!
            changes.append(q4.encoderLayers[3])
        }
        #expect(changes[1] < changes[0], "relative change of block 3's output: unweighted \(changes[0]), weighted \(changes[1])")
    }
}

/// A teacher's statistics serve a student that renumbers its blocks.
@Suite struct RenamedStatisticsTests {
    @Test func renamedStatisticsFollowTheNewNamesAndDropTheRest() {
        var s = ActivationStatistics()
        let input: [Float] = [1, 2, 3, 4]
        input.withUnsafeBufferPointer { s.add("decoder.blocks.5.mlp.0.weight", $0, rows: 2) }
        input.withUnsafeBufferPointer { s.add("decoder.blocks.3.mlp.0.weight", $0, rows: 1) }
        let renamed = s.renamed { $0 == "decoder.blocks.5.mlp.0.weight" ? "decoder.blocks.1.mlp.0.weight" : nil }
        #expect(renamed.importance("decoder.blocks.1.mlp.0.weight", rowLength: 2) == s.importance("decoder.blocks.5.mlp.0.weight", rowLength: 2))
        #expect(renamed.rowCount("decoder.blocks.1.mlp.0.weight") == 2)
        #expect(renamed.importance("decoder.blocks.3.mlp.0.weight", rowLength: 4) == nil)
    }
}
