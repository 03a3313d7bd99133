import KDQJSON

/// The manifest's JSON Schema, compiled in so that `kdq verify` needs no files beside the
/// binary. `formats/manifest.schema.json` holds the same text (a test keeps them equal).
enum ManifestSchema {
    /// The schema parsed once (nil only if `text` did not parse, which a test rules out).
    static let validator: JSONSchema? = (try? JSONValue.parse(text)).map { JSONSchema($0) }

    static let text = #"""
{
  "$schema": "https://json-schema.org/draft/2020-12/schema",
  "$id": "https://whisperkdq.invalid/formats/manifest.schema.json",
  "title": "WhisperKDQ .kdq archive manifest, format version 1",
  "type": "object",
  "required": ["format", "format_version", "dims", "tensors", "tokenizer", "mel_filters", "generation", "provenance", "compression"],
  "properties": {
    "format": {"const": "whisper-kdq"},
    "format_version": {"type": "integer", "minimum": 1},
    "dims": {
      "type": "object",
      "required": ["n_mels", "n_audio_ctx", "n_audio_state", "n_audio_head", "n_audio_layer", "n_vocab", "n_text_ctx", "n_text_state", "n_text_head", "n_text_layer"],
      "additionalProperties": {"type": "integer", "minimum": 1}
    },
    "tensors": {
      "type": "array",
      "minItems": 1,
      "items": {
        "type": "object",
        "required": ["name", "shape", "encoding", "member", "bytes", "sha256"],
        "properties": {
          "name": {"type": "string", "pattern": "^[A-Za-z0-9_.]+$"},
          "shape": {"type": "array", "items": {"type": "integer", "minimum": 0}, "maxItems": 8},
          "encoding": {"enum": ["f32", "f16", "bf16", "f64", "i8", "i16", "i32", "i64", "u8", "bool", "q4_0", "q4_1", "q5_0", "q5_1", "q8_0", "q6_K", "q5_K", "q4_K", "q3_K", "q2_K", "int8_rows", "sinusoids"]},
          "member": {"type": "string", "pattern": "^tensors/"},
          "bytes": {"type": "integer", "minimum": 0},
          "sha256": {"$ref": "#/$defs/sha256"},
          "scales": {"$ref": "#/$defs/member"}
        },
        "additionalProperties": false
      }
    },
    "tokenizer": {
      "type": "object",
      "required": ["vocabulary", "tokenizer_json", "special_tokens"],
      "properties": {
        "vocabulary": {"anyOf": [{"type": "null"}, {
          "type": "object",
          "required": ["member", "bytes", "sha256", "count", "spelling"],
          "properties": {
            "member": {"type": "string"}, "bytes": {"type": "integer", "minimum": 0}, "sha256": {"$ref": "#/$defs/sha256"},
            "compression": {"const": "zstd"}, "uncompressed_bytes": {"type": "integer", "minimum": 0},
            "count": {"type": "integer", "minimum": 0}, "spelling": {"enum": ["bytes", "byte-level"]}
          },
          "additionalProperties": false
        }]},
        "tokenizer_json": {"anyOf": [{"type": "null"}, {"$ref": "#/$defs/member"}]},
        "special_tokens": {"type": "object", "additionalProperties": {"type": "integer", "minimum": 0}}
      },
      "additionalProperties": false
    },
    "mel_filters": {"anyOf": [{"type": "null"}, {
      "type": "object",
      "required": ["member", "bytes", "sha256", "n_mels", "n_frequencies"],
      "properties": {
        "member": {"type": "string"}, "bytes": {"type": "integer", "minimum": 0}, "sha256": {"$ref": "#/$defs/sha256"},
        "n_mels": {"type": "integer", "minimum": 1}, "n_frequencies": {"type": "integer", "minimum": 1}
      },
      "additionalProperties": false
    }]},
    "generation": {
      "type": "object",
      "properties": {
        "suppress_tokens": {"$ref": "#/$defs/ids"},
        "begin_suppress_tokens": {"$ref": "#/$defs/ids"},
        "alignment_heads": {"anyOf": [{"type": "null"}, {"type": "array", "items": {"type": "array", "items": {"type": "integer", "minimum": 0}, "minItems": 2, "maxItems": 2}}]},
        "language_token_ids": {"$ref": "#/$defs/ids"}
      },
      "additionalProperties": false
    },
    "provenance": {"$ref": "#/$defs/provenance"},
    "compression": {
      "type": "object",
      "required": ["layer_map", "encodings", "error_profiles", "evaluation"],
      "properties": {
        "layer_map": {"type": ["object", "null"]},
        "encodings": {"type": ["object", "null"]},
        "error_profiles": {"type": ["object", "null"]},
        "evaluation": {"type": ["object", "null"]},
        "vocabulary": {"type": ["object", "null"]},
        "input_scaling": {"type": ["object", "null"]}
      }
    }
  },
  "additionalProperties": false,
  "$defs": {
    "sha256": {"type": "string", "pattern": "^[0-9a-f]{64}$"},
    "member": {
      "type": "object",
      "required": ["member", "bytes", "sha256"],
      "properties": {
        "member": {"type": "string"}, "bytes": {"type": "integer", "minimum": 0}, "sha256": {"$ref": "#/$defs/sha256"},
        "compression": {"const": "zstd"}, "uncompressed_bytes": {"type": "integer", "minimum": 0}
      },
      "additionalProperties": false
    },
    "ids": {"anyOf": [{"type": "null"}, {"type": "array", "items": {"type": "integer", "minimum": 0}}]},
    "provenance": {
      "type": "object",
      "required": ["source", "tool", "tool_version", "command", "created", "conversions"],
      "properties": {
        "source": {
          "type": "object",
          "required": ["format", "path", "bytes", "sha256"],
          "properties": {
            "format": {"enum": ["openai-pt", "hf-safetensors", "hf-pytorch-bin", "ggml", "ctranslate2", "kdq"]},
            "path": {"type": "string"}, "bytes": {"type": "integer", "minimum": 0}, "sha256": {"$ref": "#/$defs/sha256"}
          }
        },
        "derived_from": {"$ref": "#/$defs/provenance"},
        "tool": {"const": "kdq"},
        "tool_version": {"type": "string"},
        "command": {"type": "string"},
        "created": {"type": "string", "pattern": "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z$"},
        "conversions": {"type": "array", "items": {
          "type": "object", "required": ["tensor", "from", "to"],
          "properties": {"tensor": {"type": "string"}, "from": {"type": "string"}, "to": {"type": "string"}}
        }}
      }
    }
  }
}
"""#
}
