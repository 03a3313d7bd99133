import KDQAnalysis

/// Manifests of eval, quantize and distill (JSON Lines or TSV).
func fuzzManifest(_ data: UnsafePointer<UInt8>, _ size: Int) {
    guard size > 0 else { return }
    let name = data[0] % 2 == 0 ? "m.jsonl" : "m.tsv"
    let path = FuzzScratch.write(UnsafeRawBufferPointer(start: data + 1, count: size - 1), as: name)
    _ = try? EvalManifest(path: path)
    // Training and covariance audio (JSON Lines, text optional).
    if name == "m.jsonl" { _ = try? ClipManifest(path: path) }
}
