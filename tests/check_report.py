#!/usr/bin/env python3
"""check_report.py REPORT.html METRICS.jsonl [GRID.png] — validate a vkcontrast report.html.

Parses the page with html.parser and checks: tags balance (void elements aside), no
<script> and no external src/href, one SVG chart per curve, and every per-epoch value of
metrics.jsonl (loss, knn_top1, lr, images_per_s) is a <circle data-epoch data-value> of its
chart. With GRID.png, the embedded data: URI decodes to exactly that file.
Exits 0 when everything holds, else prints what is wrong and exits 1."""
import base64
import json
import sys
from html.parser import HTMLParser

VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}
SVG_SELF_CLOSING = {"rect", "polyline", "circle", "line", "path"}


class Page(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.stack, self.errors, self.points, self.images = [], [], {}, []
        self.chart = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "script":
            self.errors.append("page has a <script>")
        for key in ("src", "href"):
            if key in a and not a[key].startswith("data:"):
                self.errors.append(f"<{tag}> refers to an external {key}: {a[key][:60]}")
        if tag == "img":
            self.images.append(a.get("src", ""))
        if tag == "svg":
            self.chart = a.get("id", "")
            self.points.setdefault(self.chart, {})
        if tag == "circle" and self.chart is not None:
            self.points[self.chart][float(a["data-epoch"])] = float(a["data-value"])
        if tag not in VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)
        if tag not in VOID:
            self.stack.pop()

    def handle_endtag(self, tag):
        if tag in VOID:
            return
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"</{tag}> closes <{self.stack[-1] if self.stack else 'nothing'}>")
            return
        self.stack.pop()
        if tag == "svg":
            self.chart = None


def main():
    html_path, metrics_path = sys.argv[1], sys.argv[2]
    page = Page()
    text = open(html_path, encoding="utf-8").read()
    if not text.startswith("<!DOCTYPE html>"):
        page.errors.append("no <!DOCTYPE html>")
    page.feed(text)
    page.close()
    if page.stack:
        page.errors.append(f"unclosed tags at the end: {page.stack}")
    lines = [json.loads(l) for l in open(metrics_path) if l.strip()]
    checked = 0
    for key in ("loss", "knn_top1", "lr", "images_per_s"):
        chart = page.points.get("chart-" + key)
        if chart is None:
            page.errors.append(f"no chart-{key}")
            continue
        for m in lines:
            if m.get(key) is None:
                continue
            got = chart.get(float(m["epoch"]))
            if got is None or abs(got - m[key]) > 1e-6 * max(1e-12, abs(m[key])):
                page.errors.append(f"chart-{key}: epoch {m['epoch']} has {got}, metrics.jsonl {m[key]}")
            checked += 1
    if len(sys.argv) > 3:
        want = open(sys.argv[3], "rb").read()
        uris = [s for s in page.images if s.startswith("data:image/png;base64,")]
        if not uris or base64.b64decode(uris[0].split(",", 1)[1]) != want:
            page.errors.append("the augmentation grid is not embedded as a data: URI of the PNG")
    for e in page.errors:
        print("report check:", e)
    print(f"report check: {checked} data points, {len(page.errors)} problems")
    return 1 if page.errors or checked == 0 else 0


if __name__ == "__main__":
    sys.exit(main())
