import KDQTensor

/// Chooses one encoding per tensor to minimize the summed measured loss under a byte budget:
/// a multiple-choice knapsack solved by dynamic programming over the bytes above the smallest
/// choice of every tensor (counted in `resolution` steps, each option's extra rounded up so
/// the result always fits), then a greedy pass that spends what the rounding left on the
/// upgrades with the best loss saved per byte.
public enum BitAllocator {
    /// One tensor's options; a pinned tensor has exactly one.
    public struct Item: Sendable {
        public let tensor: String
        public let options: [(encoding: Encoding, bytes: Int, loss: Double)]

        public init(tensor: String, options: [(encoding: Encoding, bytes: Int, loss: Double)]) {
            self.tensor = tensor
            self.options = options
        }
    }

    /// The index of the chosen option of each item; `fixedBytes` (tensors not in `items`)
    /// count against `budget`. Throws when even the smallest options do not fit.
    public static func allocate(_ items: [Item], fixedBytes: Int, budget: Int, resolution: Int = 20_000) throws -> [Int] {
        let (smallest, floor) = try smallestChoice(items, fixedBytes: fixedBytes, budget: budget)
        let spare = budget - floor
        guard spare > 0 else { return smallest }
        let step = (spare + resolution - 1) / resolution
        let units = spare / step
        // best[u]: least loss of the items so far with at most u extra steps; picks[i][u]: item i's option there.
        var best = [Double](repeating: 0, count: units + 1)
        var picks: [[UInt8]] = []
        for (i, item) in items.enumerated() {
            let base = item.options[smallest[i]].bytes
            let costs = item.options.map { ($0.bytes - base + step - 1) / step }
            var next = [Double](repeating: .infinity, count: units + 1)
            var pick = [UInt8](repeating: UInt8(smallest[i]), count: units + 1)
            for u in 0...units {
                for (j, o) in item.options.enumerated() where costs[j] <= u {
                    let candidate = best[u - costs[j]] + o.loss
                    if candidate < next[u] { next[u] = candidate; pick[u] = UInt8(j) }
                }
            }
            best = next
            picks.append(pick)
        }
        var choice = smallest, u = units
        for i in stride(from: items.count - 1, through: 0, by: -1) {
            choice[i] = Int(picks[i][u])
            u -= (items[i].options[choice[i]].bytes - items[i].options[smallest[i]].bytes + step - 1) / step
        }
        let used = fixedBytes + zip(items, choice).reduce(0) { $0 + $1.0.options[$1.1].bytes }
        return fill(items, choice, used: used, budget: budget)
    }

    /// Each item's smallest option and the total size they give with `fixedBytes`; throws
    /// when that does not fit `budget` (or an item has no option).
    public static func smallestChoice(_ items: [Item], fixedBytes: Int, budget: Int) throws -> (picks: [Int], bytes: Int) {
        for item in items where item.options.isEmpty { throw QuantizeError("no encoding to choose from", tensor: item.tensor) }
        let smallest = items.map { item in item.options.indices.min { item.options[$0].bytes < item.options[$1].bytes }! }
        let floor = fixedBytes + zip(items, smallest).reduce(0) { $0 + $1.0.options[$1.1].bytes }
        guard floor <= budget else {
            throw QuantizeError("the budget of \(budget) bytes is below the smallest reachable size, \(floor) bytes")
        }
        return (smallest, floor)
    }

    /// Spends the bytes left under `budget` on the single-tensor upgrades that save the most
    /// loss per extra byte, until none fits.
    static func fill(_ items: [Item], _ choice: [Int], used: Int, budget: Int) -> [Int] {
        var choice = choice, used = used
        while true {
            var best: (item: Int, option: Int, rate: Double)? = nil
            for (i, item) in items.enumerated() {
                let current = item.options[choice[i]]
                for (j, o) in item.options.enumerated() where o.loss < current.loss {
                    let extra = o.bytes - current.bytes
                    guard used + extra <= budget else { continue }
                    let rate = extra <= 0 ? .infinity : (current.loss - o.loss) / Double(extra)
                    if best == nil || rate > best!.rate { best = (i, j, rate) }
                }
            }
            guard let move = best else { return choice }
            used += items[move.item].options[move.option].bytes - items[move.item].options[choice[move.item]].bytes
            choice[move.item] = move.option
        }
    }
}
