/// A tensor name inside one of the transformer blocks: `decoder.blocks.3.mlp.0.weight` is
/// block 3 of the decoder, `mlp.0.weight` within it. Students renumber blocks; this is the one
/// place that takes such names apart and puts them back together.
public struct BlockTensorName: Sendable, Equatable {
    /// Which stack the block belongs to.
    public enum Stack: String, Sendable {
        case encoder, decoder
    }

    public let stack: Stack
    public let index: Int
    /// The name within the block (`mlp.0.weight`).
    public let rest: String

    /// nil when `name` is not inside an encoder or decoder block.
    public init?(_ name: String) {
        for stack in [Stack.encoder, .decoder] {
            let prefix = stack.rawValue + ".blocks."
            guard name.hasPrefix(prefix) else { continue }
            let tail = name.dropFirst(prefix.count)
            guard let dot = tail.firstIndex(of: "."), let index = Int(tail[..<dot]), index >= 0 else { return nil }
            self.init(stack: stack, index: index, rest: String(tail[tail.index(after: dot)...]))
            return
        }
        return nil
    }

    public init(stack: Stack, index: Int, rest: String) {
        self.stack = stack
        self.index = index
        self.rest = rest
    }

    /// The full tensor name.
    public var name: String { "\(stack.rawValue).blocks.\(index).\(rest)" }

    /// The same tensor in block `index` of the same stack.
    public func renumbered(_ index: Int) -> BlockTensorName { BlockTensorName(stack: stack, index: index, rest: rest) }
}
