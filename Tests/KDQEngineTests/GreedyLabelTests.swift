import Testing
import KDQEngine

/// The one rule that decides when a model's greedy transcript can be a label.
@Suite struct GreedyLabelTests {
    /// A label of `sampled` tokens after a 3-token prompt, ending in end of text.
    func label(sampled: Int) -> GreedyLabel {
        GreedyLabel(tokens: [1, 2, 3] + Array(repeating: 7, count: sampled) + [0], promptLength: 3)
    }

    @Test func aTranscriptOfSomeTokensIsUsable() {
        #expect(label(sampled: 1).sampled == 1)
        #expect(label(sampled: 1).unusable == nil)
        #expect(label(sampled: GreedyLabel.longest - 1).unusable == nil)
    }

    @Test func anEmptyTranscriptIsNot() {
        #expect(label(sampled: 0).unusable == "the teacher heard nothing")
    }

    @Test func oneThatReachesTheLongestNeverEnds() {
        #expect(label(sampled: GreedyLabel.longest).unusable == "the teacher's transcript never ends")
    }
}
