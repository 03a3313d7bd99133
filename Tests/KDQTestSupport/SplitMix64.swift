/// Randomized tests draw from the library's deterministic generator.
@_exported import struct KDQTensor.SplitMix64
