// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "WhisperKDQ",
    products: [
        .executable(name: "kdq", targets: ["kdq"]),
        .executable(name: "kdq-train-bench", targets: ["kdq-train-bench"]),
        .library(name: "KDQTensor", targets: ["KDQTensor"]),
        .library(name: "KDQFormats", targets: ["KDQFormats"]),
        .library(name: "KDQAnalysis", targets: ["KDQAnalysis"]),
        .library(name: "KDQEngine", targets: ["KDQEngine"]),
        .library(name: "KDQQuantize", targets: ["KDQQuantize"]),
        .library(name: "KDQTrain", targets: ["KDQTrain"]),
        .library(name: "KDQDistill", targets: ["KDQDistill"]),
        .library(name: "KDQReport", targets: ["KDQReport"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
    ],
    targets: [
        .systemLibrary(name: "CArchive", pkgConfig: "libarchive", providers: [.apt(["libarchive-dev"])]),
        .systemLibrary(name: "CJSONC", pkgConfig: "json-c", providers: [.apt(["libjson-c-dev"])]),
        .systemLibrary(name: "CBLAS", pkgConfig: "openblas", providers: [.apt(["libopenblas-dev"])]),
        .systemLibrary(name: "COpenSSL", pkgConfig: "libcrypto", providers: [.apt(["libssl-dev"])]),
        .systemLibrary(name: "CSndFile", pkgConfig: "sndfile", providers: [.apt(["libsndfile1-dev"])]),
        .systemLibrary(name: "CSoxr", pkgConfig: "soxr", providers: [.apt(["libsoxr-dev"])]),
        .systemLibrary(name: "CFFTW", pkgConfig: "fftw3f", providers: [.apt(["libfftw3-dev"])]),

        .target(name: "KDQTensor", dependencies: ["COpenSSL"]),
        .target(name: "KDQJSON", dependencies: ["CJSONC"]),
        .target(name: "KDQFormats", dependencies: ["KDQTensor", "KDQJSON", "CArchive"],
                resources: [.copy("Resources/gpt2.tiktoken"), .copy("Resources/multilingual.tiktoken"), .copy("Resources/LICENSE-openai-whisper"),
                            .copy("Resources/alignment-heads.json")]),
        .target(name: "KDQEngine", dependencies: ["KDQTensor", "KDQFormats", "KDQJSON", "CBLAS", "CSndFile", "CSoxr", "CFFTW"]),
        .target(name: "KDQAnalysis", dependencies: ["KDQTensor", "KDQFormats", "KDQJSON", "CBLAS"]),
        .target(name: "KDQQuantize", dependencies: ["KDQTensor", "KDQFormats", "KDQJSON", "KDQEngine", "KDQAnalysis"]),
        .target(name: "KDQTrain", dependencies: ["KDQTensor", "KDQFormats", "KDQEngine", "CBLAS"]),
        .target(name: "KDQDistill", dependencies: ["KDQTrain", "KDQEngine", "KDQFormats", "KDQTensor", "KDQJSON", "KDQAnalysis", "KDQQuantize"],
                resources: [.copy("Recipe/train_student.py")]),
        .target(name: "KDQCompare", dependencies: ["KDQDistill", "KDQQuantize", "KDQEngine", "KDQAnalysis", "KDQFormats", "KDQTensor", "KDQJSON"]),
        .target(name: "KDQReport", dependencies: ["KDQCompare", "KDQDistill", "KDQQuantize", "KDQFormats", "KDQTensor"]),
        .executableTarget(name: "kdq-train-bench", dependencies: ["KDQTrain", "KDQFormats"]),
        .executableTarget(name: "kdq", dependencies: [
            "KDQTensor", "KDQFormats", "KDQAnalysis", "KDQEngine", "KDQJSON", "KDQQuantize", "KDQDistill", "KDQTrain", "KDQCompare", "KDQReport",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),

        .target(name: "KDQTestSupport", dependencies: ["KDQFormats", "KDQTensor"], path: "Tests/KDQTestSupport"),
        .testTarget(name: "KDQTensorTests", dependencies: ["KDQTensor"], exclude: ["Fixtures"]),
        .testTarget(name: "KDQFormatsTests", dependencies: ["KDQFormats", "KDQTensor", "KDQJSON", "CArchive", "KDQTestSupport"],
                    exclude: ["Fixtures"]),
        .testTarget(name: "KDQEngineTests", dependencies: ["KDQEngine", "KDQFormats", "KDQTensor", "CSndFile", "KDQTestSupport"], exclude: ["Fixtures"]),
        .testTarget(name: "KDQAnalysisTests", dependencies: ["KDQAnalysis", "KDQFormats", "KDQTensor", "KDQJSON"], exclude: ["Fixtures"]),
        .testTarget(name: "KDQQuantizeTests", dependencies: ["KDQQuantize", "KDQEngine", "KDQFormats", "KDQTensor", "KDQAnalysis", "KDQTestSupport"]),
        .testTarget(name: "KDQTrainTests", dependencies: ["KDQTrain", "KDQEngine", "KDQFormats", "KDQTensor", "KDQTestSupport"],
                    exclude: ["Fixtures"]),
        .testTarget(name: "KDQDistillTests", dependencies: ["KDQDistill", "KDQTrain", "KDQFormats", "KDQQuantize", "KDQAnalysis", "KDQTensor", "KDQTestSupport"]),
        .testTarget(name: "KDQReportTests", dependencies: ["KDQReport", "KDQQuantize", "KDQFormats", "KDQJSON", "KDQTensor"]),
        .testTarget(name: "KDQCompareTests", dependencies: ["KDQCompare", "KDQQuantize", "KDQAnalysis", "KDQFormats", "KDQJSON"]),
        .testTarget(name: "KDQCLITests", dependencies: ["KDQJSON"]),
    ],
    swiftLanguageModes: [.v5]
)
