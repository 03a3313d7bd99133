import Testing
import KDQJSON

/// `pattern` in kdq's JSON Schema validator: compiled once per schema, matched unanchored (as
/// JSON Schema specifies), an invalid expression reported as a mismatch rather than a crash.
struct JSONSchemaPatternTests {
    private func problems(_ pattern: String, _ value: String) throws -> [String] {
        let schema = try JSONValue.parse(#"{"type": "object", "properties": {"h": {"type": "string", "pattern": "\#(pattern)"}}}"#)
        return JSONSchema(schema).validate(.object(JSONObject([("h", .string(value))])))
    }

    @Test func matchingValuePasses() throws {
        #expect(try problems("^[0-9a-f]{4}$", "0a9f").isEmpty)
    }

    @Test func patternsAreNotAnchored() throws {
        #expect(try problems("[0-9]+", "abc123def").isEmpty)
    }

    @Test func mismatchIsReportedWithItsPath() throws {
        let found = try problems("^[0-9a-f]{4}$", "0A9F")
        #expect(found == [#"$.h: "0A9F" does not match ^[0-9a-f]{4}$"#], "\(found)")
    }

    @Test func invalidExpressionIsAMismatch() throws {
        #expect(try problems("([a-z", "abc").count == 1)
    }

    @Test func patternsInReferencedDefinitionsApply() throws {
        let schema = try JSONValue.parse(##"{"$defs": {"hex": {"type": "string", "pattern": "^[0-9a-f]+$"}}, "items": {"$ref": "#/$defs/hex"}}"##)
        let found = JSONSchema(schema).validate(.array([.string("00ff"), .string("xyz")]))
        #expect(found == [#"$[1]: "xyz" does not match ^[0-9a-f]+$"#], "\(found)")
    }
}
