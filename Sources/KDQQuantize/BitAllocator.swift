import KDQTensor

/// Chooses one encoding per tensor to minimize the summed measured loss under a byte budget:
/// a Lagrangian relaxation (each tensor takes the option minimizing loss + λ·bytes, with λ
/// bisected to the smallest value that fits), then a greedy pass that spends what is left
/// on the upgrades with the best loss saved per byte.
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
    public static func allocate(_ items: [Item], fixedBytes: Int, budget: Int) throws -> [Int] {
        for item in items where item.options.isEmpty { throw QuantizeError("no encoding to choose from", tensor: item.tensor) }
        let smallest = fixedBytes + items.reduce(0) { $0 + $1.options.map(\.bytes).min()! }
        guard smallest <= budget else {
            throw QuantizeError("the budget of \(budget) bytes is below the smallest reachable size, \(smallest) bytes")
        }
        func choose(_ lambda: Double) -> [Int] {
            items.map { item in
                item.options.indices.min { a, b in
                    let ca = item.options[a].loss + lambda * Double(item.options[a].bytes)
                    let cb = item.options[b].loss + lambda * Double(item.options[b].bytes)
                    return ca != cb ? ca < cb : item.options[a].bytes < item.options[b].bytes
                }!
            }
        }
        func size(_ choice: [Int]) -> Int { fixedBytes + zip(items, choice).reduce(0) { $0 + $1.0.options[$1.1].bytes } }

        var choice = choose(0)
        if size(choice) > budget {
            var low = 0.0, high = 1e-12
            while size(choose(high)) > budget { high *= 4 }
            for _ in 0..<200 {
                let mid = (low + high) / 2
                if size(choose(mid)) > budget { low = mid } else { high = mid }
            }
            choice = choose(high)
        }
        return fill(items, choice, used: size(choice), budget: budget)
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
