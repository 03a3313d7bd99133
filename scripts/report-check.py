#!/usr/bin/env python3
"""Renders a `kdq report` page in headless Chromium and checks it: the page prints to PNG and
PDF, Chromium logs no console errors and loads nothing from anywhere, and every chart has drawn
content (each <svg class="chart"> is rendered alone and must show its data colours, not only
axes and text). Usage: report-check.py REPORT.html [--png OUT.png] [--pdf OUT.pdf]"""
import argparse, os, re, shutil, struct, subprocess, sys, tempfile, zlib

def chromium():
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    sys.exit("report-check: no Chromium found (apt-get install chromium)")

def run(browser, args, html):
    cmd = [browser, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--no-first-run",
           "--enable-logging=stderr", "--v=0"] + args + ["file://" + os.path.abspath(html)]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120)

def png_pixels(path):
    """(width, height, rows of RGB(A) tuples) of an 8-bit RGB/RGBA PNG (what Chromium writes)."""
    data = open(path, "rb").read()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, idat, width = 8, b"", 0
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        chunk = data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            width, height, depth, color = struct.unpack(">IIBB", chunk[:10])
            assert depth == 8 and color in (2, 6), f"PNG colour type {color} depth {depth}"
            channels = 3 if color == 2 else 4
        elif kind == b"IDAT":
            idat += chunk
        pos += 12 + length
    raw, stride, rows, prev = zlib.decompress(idat), width * channels, [], bytearray(width * channels)
    for y in range(height):
        start = y * (stride + 1)
        kind, line = raw[start], bytearray(raw[start + 1:start + 1 + stride])
        for i in range(stride):
            a = line[i - channels] if i >= channels else 0
            b, c = prev[i], prev[i - channels] if i >= channels else 0
            if kind == 1: line[i] = (line[i] + a) & 255
            elif kind == 2: line[i] = (line[i] + b) & 255
            elif kind == 3: line[i] = (line[i] + (a + b) // 2) & 255
            elif kind == 4:
                p = a + b - c; pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        rows.append(line)
        prev = line
    return width, height, channels, rows

def coloured_pixels(path):
    """Pixels that are neither white, grey nor black: drawn data (bars, lines, markers)."""
    width, height, channels, rows = png_pixels(path)
    count = 0
    for line in rows:
        for x in range(0, width * channels, channels):
            r, g, b = line[x], line[x + 1], line[x + 2]
            if max(r, g, b) - min(r, g, b) > 40:
                count += 1
    return count

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("report")
    ap.add_argument("--png")
    ap.add_argument("--pdf")
    a = ap.parse_args()
    browser = chromium()
    html = open(a.report, encoding="utf-8").read()
    problems = []
    if re.search(r"<script|\bsrc=|\bhref=|@import|url\(", html):
        problems.append("the page refers to something outside itself")
    work = tempfile.mkdtemp(prefix="report-check-")
    png = a.png or os.path.join(work, "page.png")
    pdf = a.pdf or os.path.join(work, "page.pdf")
    shot = run(browser, [f"--screenshot={png}", "--window-size=1060,2600"], a.report)
    printed = run(browser, [f"--print-to-pdf={pdf}", "--no-pdf-header-footer"], a.report)
    for name, result in (("screenshot", shot), ("pdf", printed)):
        for line in result.stderr.splitlines():
            if "CONSOLE" in line or "Uncaught" in line or "net::ERR" in line:
                problems.append(f"{name}: {line.strip()}")
    if not (os.path.exists(png) and os.path.getsize(png) > 0):
        problems.append(f"no screenshot: {shot.stderr[-400:]}")
    if not (os.path.exists(pdf) and open(pdf, "rb").read(5) == b"%PDF-"):
        problems.append(f"no PDF: {printed.stderr[-400:]}")
    charts = re.findall(r'<svg class="chart".*?</svg>', html, flags=re.S)
    if not charts:
        problems.append("the page has no charts")
    for k, svg in enumerate(charts):
        title = re.search(r"<title>(.*?)</title>", svg)
        name = title.group(1) if title else f"chart {k}"
        page = os.path.join(work, f"chart{k}.html")
        with open(page, "w", encoding="utf-8") as out:
            out.write('<!DOCTYPE html><html><head><meta charset="utf-8"></head><body style="margin:0;background:#fff">' + svg + "</body></html>")
        image = os.path.join(work, f"chart{k}.png")
        r = run(browser, [f"--screenshot={image}", "--window-size=1000,520"], page)
        drawn = coloured_pixels(image) if os.path.exists(image) else 0
        status = "ok" if drawn >= 50 else "EMPTY"
        print(f"{status:5} {drawn:7} coloured pixels  {name}")
        if drawn < 50:
            problems.append(f"chart '{name}' drew no data ({drawn} coloured pixels)")
    shutil.rmtree(work, ignore_errors=True)
    print(f"{len(charts)} charts; screenshot {png if a.png else '(discarded)'}; pdf {pdf if a.pdf else '(discarded)'}")
    if problems:
        print("\n".join("problem: " + p for p in problems), file=sys.stderr)
        sys.exit(1)
    print("report renders: no console errors, nothing fetched, every chart drawn")

if __name__ == "__main__":
    main()
