import Foundation
import Testing
@testable import KDQFormats

/// How a finished output takes its destination's place.
@Suite struct AtomicOutputTests {
    func scratch(_ label: String) throws -> String {
        let dir = NSTemporaryDirectory() + "kdq-atomic-\(label)-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        return dir
    }

    func makeDirectory(_ path: String, _ files: [String: String]) throws {
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        for (name, text) in files { try Data(text.utf8).write(to: URL(fileURLWithPath: path + "/" + name)) }
    }

    func listing(_ path: String) -> [String: String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []
        return Dictionary(uniqueKeysWithValues: names.map { ($0, String(decoding: FileManager.default.contents(atPath: path + "/" + $0) ?? Data(), as: UTF8.self)) })
    }

    /// Two directories swap in one step where the filesystem can, and stay as they were where
    /// it cannot (the caller then falls back).
    @Test func exchangeSwapsTwoDirectoriesOrLeavesBoth() throws {
        let dir = try scratch("exchange")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try makeDirectory(dir + "/a", ["x": "a's"])
        try makeDirectory(dir + "/b", ["y": "b's", "z": "b's too"])
        if exchangePaths(dir + "/a", dir + "/b") {
            #expect(listing(dir + "/a") == ["y": "b's", "z": "b's too"] && listing(dir + "/b") == ["x": "a's"])
        } else {
            #expect(listing(dir + "/a") == ["x": "a's"] && listing(dir + "/b") == ["y": "b's", "z": "b's too"])
        }
        #expect(!exchangePaths(dir + "/a", dir + "/missing"), "nothing to swap with")
        #expect(listing(dir + "/a").count + listing(dir + "/b").count == 3)
    }

    /// A directory output replaces a previous one whole: only the new files, and nothing but
    /// the destination left beside it.
    @Test func aDirectoryOutputReplacesThePreviousOneWhole() throws {
        let dir = try scratch("directory")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try makeDirectory(dir + "/model", ["old.bin": "previous", "config.json": "{}"])
        try AtomicOutput.produce(dir + "/model", directory: true) { output in
            try makeDirectory(output.temporaryPath, ["model.bin": "new", "config.json": "{\"new\": true}"])
        }
        #expect(listing(dir + "/model") == ["model.bin": "new", "config.json": "{\"new\": true}"])
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir) == ["model"])
    }

    /// A file output replaces a previous file and leaves no temporary file.
    @Test func aFileOutputReplacesThePreviousOne() throws {
        let dir = try scratch("file")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try Data("previous".utf8).write(to: URL(fileURLWithPath: dir + "/out.txt"))
        try AtomicOutput.write("new", to: dir + "/out.txt")
        #expect(listing(dir) == ["out.txt": "new"])
    }
}
