import Testing
import KDQTestSupport
import KDQTensor
@testable import KDQQuantize

@Suite struct BitAllocatorTests {
    typealias Option = (encoding: Encoding, bytes: Int, loss: Double)

    /// Every assignment of `items`, for a brute-force optimum.
    func bruteForce(_ items: [BitAllocator.Item], fixed: Int, budget: Int) -> Double {
        var best = Double.infinity
        func visit(_ i: Int, _ bytes: Int, _ loss: Double) {
            guard bytes <= budget else { return }
            if i == items.count { best = min(best, loss); return }
            for o in items[i].options { visit(i + 1, bytes + o.bytes, loss + o.loss) }
        }
        visit(0, fixed, 0)
        return best
    }

    func loss(_ items: [BitAllocator.Item], _ picks: [Int]) -> Double { zip(items, picks).reduce(0) { $0 + $1.0.options[$1.1].loss } }
    func bytes(_ items: [BitAllocator.Item], _ picks: [Int]) -> Int { zip(items, picks).reduce(0) { $0 + $1.0.options[$1.1].bytes } }

    @Test func spendsTheBudgetOnTheMostSensitiveTensor() throws {
        let items = [
            BitAllocator.Item(tensor: "robust", options: [(.f16, 200, 0), (.q8_0, 106, 0.001), (.q4_0, 56, 0.002)]),
            BitAllocator.Item(tensor: "sensitive", options: [(.f16, 200, 0), (.q8_0, 106, 0.01), (.q4_0, 56, 0.5)]),
        ]
        let picks = try BitAllocator.allocate(items, fixedBytes: 10, budget: 10 + 56 + 106)
        #expect(picks == [2, 1])
    }

    @Test func matchesTheBruteForceOptimum() throws {
        var rng = SplitMix64(seed: 7)
        var worst = 0.0
        for _ in 0..<200 {
            let items = (0..<6).map { i -> BitAllocator.Item in
                let size = 32 * Int(rng.next() % 20 + 1)
                let sensitivity = Double(rng.next() % 1000 + 1) / 1000
                // Loss falling by ~4× per extra bit, as quantization noise does.
                let options: [Option] = [(.f16, size * 2, 0), (.q8_0, size * 34 / 32, sensitivity / 256),
                                         (.q5_0, size * 22 / 32, sensitivity / 8), (.q4_0, size * 18 / 32, sensitivity / 2)]
                return BitAllocator.Item(tensor: "t\(i)", options: options)
            }
            let low = bytes(items, items.map { _ in 3 }), high = bytes(items, items.map { _ in 0 })
            let budget = low + Int(rng.next() % UInt64(high - low + 1))
            let picks = try BitAllocator.allocate(items, fixedBytes: 0, budget: budget)
            #expect(bytes(items, picks) <= budget)
            let optimum = bruteForce(items, fixed: 0, budget: budget)
            worst = max(worst, loss(items, picks) - optimum)
        }
        #expect(worst < 1e-3, "largest excess loss over the optimum: \(worst)")
    }

    @Test func rejectsABudgetBelowTheSmallestReachableSize() {
        let items = [BitAllocator.Item(tensor: "a", options: [(.f16, 200, 0), (.q4_0, 56, 1)])]
        #expect(throws: QuantizeError.self) { try BitAllocator.allocate(items, fixedBytes: 100, budget: 155) }
        do { _ = try BitAllocator.allocate(items, fixedBytes: 100, budget: 155) } catch {
            #expect("\(error)".contains("156"), "\(error)")
        }
    }

    @Test func rejectsAnItemWithoutOptions() {
        #expect(throws: QuantizeError.self) { try BitAllocator.allocate([.init(tensor: "a", options: [])], fixedBytes: 0, budget: 10) }
    }

    @Test func keepsEverythingWhenTheBudgetAllows() throws {
        let items = [BitAllocator.Item(tensor: "a", options: [(.f16, 200, 0), (.q4_0, 56, 1)])]
        #expect(try BitAllocator.allocate(items, fixedBytes: 0, budget: 1000) == [0])
    }
}
