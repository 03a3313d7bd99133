import KDQFormats
import KDQTensor

/// Builds quantization plans: whisper.cpp's uniform rule, or a guided allocation over a
/// measured sensitivity profile under a size budget; keep rules override both.
public enum QuantizationPlanner {
    /// whisper.cpp's quantization: every linear weight and the token embedding in `encoding`,
    /// the encoder's sinusoidal positions computed (`QuantizationCandidates.computed`), the rest
    /// as they are.
    public static func uniform(_ c: Checkpoint, _ encoding: Encoding, rules: [KeepRule] = []) -> QuantizationPlan {
        let choices = c.tensors.map { name, t in
            choice(name, t, rules: rules) ?? computedChoice(name, t)
                ?? choice(name, t, QuantizationCandidates.isUniformTarget(name, t) ? encoding : t.encoding, pinned: false)
        }
        return QuantizationPlan(method: .uniform, choices: choices, budgetBytes: nil, budget: nil, sourceBytes: c.tensorBytes,
                                predictedKL: nil, elements: elements(c))
    }

    /// The tensors a guided plan measures (eligible, not pinned, not computed), each with the
    /// candidate encodings narrower than its own.
    public static func measurable(_ c: Checkpoint, rules: [KeepRule] = [],
                                  among encodings: [Encoding] = QuantizationCandidates.encodings) -> [(name: String, candidates: [Encoding])] {
        c.tensors.compactMap { name, t in
            guard QuantizationCandidates.isEligible(t), KeepRule.pinned(name, source: t.encoding, rules: rules) == nil,
                  QuantizationCandidates.computed(name, t) == nil else { return nil }
            return (name, Array(QuantizationCandidates.alternatives(for: t, among: encodings).dropFirst()))
        }
    }

    /// The bytes `budget` allows for `c`'s tensors.
    public static func bytes(of budget: SizeBudget, for c: Checkpoint, rules: [KeepRule] = []) -> Int {
        switch budget {
        case .megabytes(let mb): return Int(mb * 1_000_000)
        case .bitsPerWeight(let bpw): return Int(bpw * Double(elements(c)) / 8)
        case .sameAsUniform(let e): return uniform(c, e, rules: rules).tensorBytes
        }
    }

    /// Throws when `budget` is below the smallest size a guided plan over `tensors` can reach;
    /// a check to make before measuring anything.
    public static func checkReachable(_ c: Checkpoint, _ tensors: [(name: String, candidates: [Encoding])], budget: SizeBudget,
                                      rules: [KeepRule] = []) throws {
        let candidates = Dictionary(uniqueKeysWithValues: tensors.map { ($0.name, $0.candidates) })
        let split = partition(c, rules: rules) { name, t in
            candidates[name].map { [t.encoding] + $0 }?.map { ($0, QuantizationCandidates.bytes(of: t, in: $0), 0) }
        }
        _ = try BitAllocator.smallestChoice(split.items, fixedBytes: split.fixedBytes, budget: bytes(of: budget, for: c, rules: rules))
    }

    /// The allocation minimizing the profile's summed mean KL under `budget` less
    /// `reservedBytes`: profiled tensors choose among their measured alternatives (a tensor
    /// `restricting` names only its given one), pinned ones take their rule's encoding, the
    /// rest stay as they are.
    public static func guided(_ c: Checkpoint, profile: SensitivityProfile, budget: SizeBudget,
                              rules: [KeepRule] = [], reservedBytes: Int = 0, restricting: [String: Encoding] = [:]) throws -> QuantizationPlan {
        let target = bytes(of: budget, for: c, rules: rules) - reservedBytes
        let split = partition(c, rules: rules) { name, _ in
            profile.entry(name)?.alternatives.filter { restricting[name] == nil || restricting[name] == $0.encoding }
                .map { ($0.encoding, $0.bytes, $0.meanKL ?? 0) }
        }
        let picks = try BitAllocator.allocate(split.items, fixedBytes: split.fixedBytes, budget: target)
        var chosen: [String: (Encoding, Int, Double)] = [:]
        for (item, k) in zip(split.items, picks) { chosen[item.tensor] = item.options[k] }
        let choices = c.tensors.enumerated().map { i, entry -> QuantizationPlan.Choice in
            if let f = split.fixed[i] { return f }
            let (e, b, _) = chosen[entry.name]!
            return QuantizationPlan.Choice(tensor: entry.name, source: entry.tensor.encoding, chosen: e, bytes: b, pinned: false)
        }
        let predicted = chosen.values.reduce(0) { $0 + $1.2 }
        return QuantizationPlan(method: .guided, choices: choices, budgetBytes: target, budget: budget, sourceBytes: c.tensorBytes,
                                predictedKL: predicted, elements: elements(c))
    }

    /// `c`'s tensors split into allocation items (those `options` gives options for and no
    /// rule pins) and fixed choices by checkpoint index (pinned, computed, or kept as they are).
    static func partition(_ c: Checkpoint, rules: [KeepRule], options: (String, Tensor) -> [(encoding: Encoding, bytes: Int, loss: Double)]?)
        -> (items: [BitAllocator.Item], fixed: [Int: QuantizationPlan.Choice], fixedBytes: Int) {
        var items: [BitAllocator.Item] = []
        var fixed: [Int: QuantizationPlan.Choice] = [:]
        var fixedBytes = 0
        for (i, (name, t)) in c.tensors.enumerated() {
            let pinned = choice(name, t, rules: rules), computed = pinned == nil ? computedChoice(name, t) : nil
            if pinned == nil, computed == nil, let o = options(name, t) {
                items.append(.init(tensor: name, options: o))
            } else {
                let kept = pinned ?? computed ?? choice(name, t, t.encoding, pinned: false)
                fixed[i] = kept
                fixedBytes += kept.bytes
            }
        }
        return (items, fixed, fixedBytes)
    }

    /// The pinned choice for `name`, when a rule pins it: the rule's encoding, or the tensor's
    /// own where that encoding's blocks do not tile its rows (a convolution's rows of 3).
    static func choice(_ name: String, _ t: Tensor, rules: [KeepRule]) -> QuantizationPlan.Choice? {
        KeepRule.pinned(name, source: t.encoding, rules: rules).map { e in
            choice(name, t, e.tilesRows(of: t.shape) ? e : t.encoding, pinned: true)
        }
    }

    /// The computed choice for `name`, when its values have one (`QuantizationCandidates.computed`).
    static func computedChoice(_ name: String, _ t: Tensor) -> QuantizationPlan.Choice? {
        QuantizationCandidates.computed(name, t).map { choice(name, t, $0, pinned: false) }
    }

    static func choice(_ name: String, _ t: Tensor, _ e: Encoding, pinned: Bool) -> QuantizationPlan.Choice {
        QuantizationPlan.Choice(tensor: name, source: t.encoding, chosen: e, bytes: QuantizationCandidates.bytes(of: t, in: e), pinned: pinned)
    }

    static func elements(_ c: Checkpoint) -> Int { c.tensors.reduce(0) { $0 + $1.tensor.elementCount } }
}
