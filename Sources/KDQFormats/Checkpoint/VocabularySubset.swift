import KDQTensor

/// The tokens a vocabulary-trimmed model can read and write. Its token embedding has one row
/// per kept token, in increasing id order, and the i32 tensor `decoder.kept_token_ids` lists
/// those ids; `n_vocab` stays the tokenizer's size, so every id means what it meant in the
/// teacher. Tokens that are not kept cannot be fed to the model, and it never predicts them.
public struct VocabularySubset: Sendable, Equatable {
    /// The tensor that lists the kept ids.
    public static let tensorName = "decoder.kept_token_ids"

    /// Kept token ids, increasing.
    public let ids: [Int]
    /// The tokenizer's size (`n_vocab`).
    public let vocabularySize: Int
    private let rows: [Int32]

    /// Checks that `ids` are distinct ids below `vocabularySize` (any order) and keeps them sorted.
    public init(ids: [Int], vocabularySize: Int) throws {
        guard vocabularySize > 0 else { throw FormatError(.badHeader, "a vocabulary of \(vocabularySize) tokens") }
        var rows = [Int32](repeating: -1, count: vocabularySize)
        for id in ids {
            guard id >= 0 && id < vocabularySize else {
                throw FormatError(.badHeader, "kept token \(id) is outside the vocabulary of \(vocabularySize)", tensor: Self.tensorName)
            }
            guard rows[id] < 0 else { throw FormatError(.badHeader, "kept token \(id) is listed twice", tensor: Self.tensorName) }
            rows[id] = 0
        }
        guard !ids.isEmpty else { throw FormatError(.badHeader, "no token is kept", tensor: Self.tensorName) }
        let sorted = ids.sorted()
        for (row, id) in sorted.enumerated() { rows[id] = Int32(row) }
        self.ids = sorted
        self.vocabularySize = vocabularySize
        self.rows = rows
    }

    /// The subset a checkpoint's tensors declare, or nil when it keeps the whole vocabulary.
    /// The list must be increasing and match the token embedding's rows.
    public init?(_ checkpoint: Checkpoint) throws {
        guard let tensor = checkpoint.tensor(named: Self.tensorName) else { return nil }
        try self.init(tensor: tensor, vocabularySize: checkpoint.dims.nVocab)
    }

    /// Reads the kept ids from `tensor` (i32, one dimension, strictly increasing).
    public init(tensor: Tensor, vocabularySize: Int) throws {
        guard tensor.encoding == .i32, tensor.shape.count == 1 else {
            throw FormatError(.badHeader, "\(tensor.encoding.rawValue) \(tensor.shape), expected one dimension of i32", tensor: Self.tensorName)
        }
        let raw = tensor.data.bytes
        let ids = (0..<tensor.elementCount).map { Int(Int32(littleEndian: raw.loadUnaligned(fromByteOffset: $0 * 4, as: Int32.self))) }
        for i in ids.indices.dropFirst() where ids[i] <= ids[i - 1] {
            throw FormatError(.badHeader, "kept ids are not increasing at entry \(i) (\(ids[i - 1]), then \(ids[i]))", tensor: Self.tensorName)
        }
        try self.init(ids: ids, vocabularySize: vocabularySize)
    }

    /// Kept tokens.
    public var count: Int { ids.count }

    /// The embedding row of token `id`, or nil when it is not kept.
    public func row(of id: Int) -> Int? {
        guard id >= 0 && id < vocabularySize else { return nil }
        let r = rows[id]
        return r < 0 ? nil : Int(r)
    }

    /// True when `id` is kept.
    public func contains(_ id: Int) -> Bool { row(of: id) != nil }

    /// The i32 tensor listing the kept ids.
    public var tensor: Tensor {
        get throws {
            try Tensor(shape: [ids.count], encoding: .i32, data: Storage(values: ids.map { Int32($0).littleEndian }))
        }
    }

    public static func == (a: VocabularySubset, b: VocabularySubset) -> Bool {
        a.ids == b.ids && a.vocabularySize == b.vocabularySize
    }
}
