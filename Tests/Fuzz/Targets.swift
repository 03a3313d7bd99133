import Foundation

/// Every fuzz target by name: one binary serves them all (one link instead of one per target),
/// the target chosen by KDQ_FUZZ_TARGET.
let fuzzTargets: [String: (UnsafePointer<UInt8>, Int) -> Void] = [
    "ggml": fuzzGGML,
    "torch": fuzzTorch,
    "safetensors": fuzzSafetensors,
    "hf-index": fuzzHFIndex,
    "ct2": fuzzCT2,
    "ct2-vocabulary": fuzzCT2Vocabulary,
    "kdq": fuzzKDQ,
    "vocabulary": fuzzVocabulary,
    "manifest": fuzzManifest,
    "audio": fuzzAudio,
]

/// The target this process runs; an unknown name stops it before any input.
let selectedTarget: (UnsafePointer<UInt8>, Int) -> Void = {
    let name = ProcessInfo.processInfo.environment["KDQ_FUZZ_TARGET"] ?? ""
    guard let target = fuzzTargets[name] else {
        FileHandle.standardError.write(Data("KDQ_FUZZ_TARGET must be one of \(fuzzTargets.keys.sorted().joined(separator: ", ")), not '\(name)'\n".utf8))
        exit(2)
    }
    return target
}()

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    selectedTarget(data, size)
    return 0
}
