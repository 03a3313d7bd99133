#!/usr/bin/env python3
"""Writes Sources/KDQAnalysis/Normalizer/EnglishSpellingTable.swift from openai-whisper's
whisper/normalizers/english.json (MIT). Usage: scripts/generate-spelling-table.py PATH/english.json"""
import json, sys
d = json.load(open(sys.argv[1]))
lines = "\n".join(f"{k}\t{v}" for k, v in d.items())
out = '''/// openai-whisper's British → American spelling table (whisper/normalizers/english.json,
/// MIT License, Copyright (c) 2022 OpenAI), one tab-separated "british, american" pair a line.
/// Regenerate with scripts/generate-spelling-table.py.
enum EnglishSpellingTable {
    static let pairs = #"""
''' + lines + '''
"""#
}
'''
open("Sources/KDQAnalysis/Normalizer/EnglishSpellingTable.swift", "w").write(out)
