import Foundation
@testable import KDQFormats

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

@_silgen_name("__lsan_disable") private func lsanDisable()
@_silgen_name("__lsan_enable") private func lsanEnable()

/// Before the first input: the caches a target keeps for the whole run (the manifest schema,
/// ct2-vocabulary's fixture) are filled with LeakSanitizer paused. They live as long as the
/// process, and Swift enums keep tag bits in their pointers, which LeakSanitizer does not
/// recognise as references: filled during an input, libFuzzer's leak check reported them.
@_cdecl("LLVMFuzzerInitialize")
public func fuzzInitialize(_ argc: UnsafeMutablePointer<Int32>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>>) -> Int32 {
    _ = selectedTarget
    lsanDisable()
    defer { lsanEnable() }
    _ = ManifestSchema.validator
    if ProcessInfo.processInfo.environment["KDQ_FUZZ_TARGET"] == "ct2-vocabulary" {
        _ = CT2VocabularyFixture.weights
        for name in ["vocabulary.json", "config.json"] { FuzzScratch.restoreFixture("ct2-float16/" + name, as: name) }
    }
    return 0
}
