import KDQAnalysis

/// Manifests of eval, quantize and distill (JSON Lines or TSV).
func fuzzManifest(_ data: UnsafePointer<UInt8>, _ size: Int) {
    guard size > 0 else { return }
    let name = data[0] % 2 == 0 ? "m.jsonl" : "m.tsv"
    _ = try? EvalManifest(path: FuzzScratch.write(UnsafeRawBufferPointer(start: data + 1, count: size - 1), as: name))
}
