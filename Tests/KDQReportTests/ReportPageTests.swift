import KDQFormats
import KDQJSON
@testable import KDQReport
import KDQTensor
import Foundation
import Testing

/// The HTML page and its charts.
@Suite struct ReportPageTests {
    static let fixture = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("KDQFormatsTests/Fixtures/tiny-random.pt").path

    @Test func layersGroupTensorsAsTheReportShowsThem() {
        #expect(ArchiveReport.layer(of: "encoder.blocks.3.mlp.0.weight") == "enc 3")
        #expect(ArchiveReport.layer(of: "decoder.blocks.0.cross_attn.key.weight") == "dec 0")
        #expect(ArchiveReport.layer(of: "decoder.token_embedding.weight") == "token emb.")
        #expect(ArchiveReport.layer(of: "encoder.conv1.weight") == "enc stem")
        #expect(ArchiveReport.layer(of: "decoder.ln.bias") == "norms")
    }

    @Test func linearTicksAreRoundAndCoverTheData() {
        let axis = ChartAxis(covering: [0.3, 7.2], label: "x", fromZero: true)
        #expect(axis.low == 0 && axis.high >= 7.2 && axis.ticks.contains(0) && axis.ticks.allSatisfy { ($0 / 2).rounded() == $0 / 2 })
        #expect(axis.fraction(axis.low) == 0 && axis.fraction(axis.high) == 1 && axis.fraction(1e9) == 1)
    }

    @Test func logTicksArePowersOfTen() {
        let axis = ChartAxis(covering: [0.003, 0.8, -1, 0], label: "y", logarithmic: true)
        #expect(axis.low == 0.001 && axis.high == 1)
        #expect(axis.ticks.contains(0.01) && axis.ticks.contains(0.1))
        #expect(axis.fraction(0) == 0 && abs(axis.fraction(0.01) - 1.0 / 3) < 1e-12)
    }

    @Test func textIsEscaped() {
        #expect(HTML.escape("<a href=\"x\">&'") == "&lt;a href=&quot;x&quot;&gt;&amp;&#39;")
    }

    @Test func chartsDrawTheirDataWithAxesAndLegends() {
        let line = LineChart(title: "t", xLabel: "MB", yLabel: "KL", series: [.init(name: "curve", color: Palette.blue, points: [(1, 2), (2, 1)])]).svg
        #expect(line.contains("<path class=\"mark\"") && line.contains(">MB<") && line.contains(">KL<") && line.contains(">curve<"))
        let bars = BarChart(title: "b", categories: ["x", "y"], series: [.init(name: "s", color: Palette.orange, values: [1, 3])], yLabel: "MB").svg
        #expect(bars.components(separatedBy: "<rect class=\"mark\"").count - 1 == 2)
    }

    @Test func aCheckpointWithoutRecordsGetsItsSizesAndNothingFetched() throws {
        let report = try ArchiveReport(checkpoint: try Checkpoint.open(Self.fixture))
        #expect(report.plan == nil && report.distillation == nil && !report.byLayer.isEmpty)
        let page = ReportPage.html(report)
        #expect(page.hasPrefix("<!DOCTYPE html>") && page.contains("id=\"size\"") && !page.contains("id=\"plan\""))
        #expect(!page.contains("<script") && !page.contains("src=") && !page.contains("href="))
        #expect(page.components(separatedBy: "<svg class=\"chart\"").count - 1 == 2)
    }
}
