import Dispatch
import KDQJSON
import KDQTensor

/// The outcome of `kdq verify`.
public struct VerifyReport: Sendable {
    public let path: String
    public let compressed: Bool
    /// Members checked against the manifest's hashes.
    public let membersHashed: Int
    public let problems: [String]

    public var isValid: Bool { problems.isEmpty }
}

/// Checks a `.kdq` archive end to end: the tar layout and the trailing digest over every
/// byte, the manifest against its schema, every member's size and SHA-256, members the
/// manifest does not mention, and the tensors against the dims.
public enum KDQVerifier {
    public static func verify(_ path: String) throws -> VerifyReport {
        let file: MappedFile
        do { file = try MappedFile(path: path) } catch { throw FormatError.wrapping(error, path: path) }
        let compressed = KDQArchiveReader.isCompressed(file.bytes)
        var problems: [String] = []
        let tar: Storage
        do { tar = try KDQArchiveReader.tarBytes(file) } catch {
            return VerifyReport(path: path, compressed: compressed, membersHashed: 0, problems: ["cannot decompress: \(error)"])
        }
        let layout = TarLayout(tar.bytes)
        problems += layout.problems

        let members: [(name: String, data: Storage)]
        do { members = try ArchiveMembers.read(tar, as: .tar, path: path) } catch {
            return VerifyReport(path: path, compressed: compressed, membersHashed: 0, problems: problems + ["\(error)"])
        }
        var byName: [String: Storage] = [:]
        for m in members {
            if byName[m.name] != nil { problems.append("member '\(m.name)' appears more than once") }
            byName[m.name] = m.data
        }
        guard let manifestData = byName[KDQArchiveLayout.manifest], members.first?.name == KDQArchiveLayout.manifest else {
            return VerifyReport(path: path, compressed: compressed, membersHashed: 0, problems: problems + ["the first member is not \(KDQArchiveLayout.manifest)"])
        }
        let manifest: JSONValue
        do { manifest = try JSONValue.parse(manifestData.bytes) } catch {
            return VerifyReport(path: path, compressed: compressed, membersHashed: 0, problems: problems + ["\(KDQArchiveLayout.manifest): \(error)"])
        }
        if let schema = ManifestSchema.validator {
            problems += schema.validate(manifest).map { "manifest schema: \($0)" }
        } else {
            problems.append("the built-in manifest schema does not parse")
        }

        let references = memberReferences(manifest)
        let digests = hashMembers(members.filter { $0.name != KDQArchiveLayout.manifest && $0.name != KDQArchiveLayout.digest })
        problems += referenceProblems(references, byName, digests)
        if layout.problems.isEmpty { problems += layout.digestProblems(tar.bytes) { digests[$0].map(hexBytes) } }
        let referenced = Set(references.map(\.member) + [KDQArchiveLayout.manifest, KDQArchiveLayout.digest])
        for m in members where !referenced.contains(m.name) { problems.append("member '\(m.name)' is not in the manifest") }

        if let object = manifest.objectValue {
            do { _ = try ManifestDecoder(manifest: object, members: byName, path: path).checkpoint(file: file) } catch {
                problems.append("\(error)")
            }
        }
        return VerifyReport(path: path, compressed: compressed, membersHashed: references.count, problems: problems)
    }

    struct Reference {
        let member: String
        let bytes: Int?
        let sha256: String?
    }

    /// Every `{member, bytes, sha256}` the manifest holds.
    static func memberReferences(_ manifest: JSONValue) -> [Reference] {
        func ref(_ v: JSONValue?) -> Reference? {
            guard let v, let member = v["member"]?.stringValue else { return nil }
            return Reference(member: member, bytes: v["bytes"]?.intValue, sha256: v["sha256"]?.stringValue)
        }
        var refs: [Reference] = []
        for t in manifest["tensors"]?.arrayValue ?? [] {
            if let r = ref(t) { refs.append(r) }
            if let r = ref(t["scales"]) { refs.append(r) }
        }
        for v in [manifest["tokenizer"]?["vocabulary"], manifest["tokenizer"]?["tokenizer_json"], manifest["mel_filters"]] {
            if let r = ref(v) { refs.append(r) }
        }
        return refs
    }

    /// SHA-256 (hex) of every member, hashed on all cores.
    static func hashMembers(_ members: [(name: String, data: Storage)]) -> [String: String] {
        var digests = [String](repeating: "", count: members.count)
        digests.withUnsafeMutableBufferPointer { out in
            let out = out
            DispatchQueue.concurrentPerform(iterations: members.count) { i in out[i] = SHA256Hasher.hex(members[i].data.bytes) }
        }
        return Dictionary(zip(members.map(\.name), digests)) { a, _ in a }
    }

    /// Each manifest reference against the member it names: present, the size it says, the hash it says.
    static func referenceProblems(_ refs: [Reference], _ members: [String: Storage], _ digests: [String: String]) -> [String] {
        refs.compactMap { r in
            guard let data = members[r.member], let digest = digests[r.member] else { return "member '\(r.member)' named in the manifest is missing" }
            if let bytes = r.bytes, bytes != data.count { return "member '\(r.member)' has \(data.count) bytes, the manifest says \(bytes)" }
            if digest != r.sha256 { return "member '\(r.member)' has SHA-256 \(digest), the manifest says \(r.sha256 ?? "nothing")" }
            return nil
        }
    }
}
