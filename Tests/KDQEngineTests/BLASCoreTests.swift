import Testing
@testable import KDQEngine

/// Which OpenBLAS kernels kdq asks for in place of the ones OpenBLAS chose.
@Suite struct BLASCoreTests {
    @Test func genericKernelsOnAnAVX512CPUBecomeSkylakeX() {
        #expect(BLASCore.better(than: "Prescott", avx512: true, avx2: true) == "SkylakeX")
    }

    @Test func genericKernelsOnAnAVX2CPUBecomeHaswell() {
        #expect(BLASCore.better(than: "Prescott", avx512: false, avx2: true) == "Haswell")
        #expect(BLASCore.better(than: "Nehalem", avx512: false, avx2: true) == "Haswell")
    }

    @Test func vectorKernelsAreKept() {
        for core in ["Haswell", "Zen", "SkylakeX", "Cooperlake", "SapphireRapids"] {
            #expect(BLASCore.better(than: core, avx512: true, avx2: true) == nil, "\(core)")
        }
    }

    @Test func aCPUWithoutAVX2KeepsWhatOpenBLASChose() {
        #expect(BLASCore.better(than: "Prescott", avx512: false, avx2: false) == nil)
    }
}
