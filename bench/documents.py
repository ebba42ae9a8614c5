"""Documents benchmark: Lectern's upload → pages pipeline against BigBlueButton's per-page one.

Run by bench/documents.sh (which installs the tools and builds the release binary):

    python3 bench/documents.py --lectern target/release/lectern --out docs/BENCHMARKS.md

Inputs are made here: the 50-page PDF of the system tests (text, vector shapes, transparency
and an image on every page) and a 20-slide PPTX (tests/documents/make_office.py). Each run
uses distinct bytes (a tag in the file) so content addressing never answers from a cache.

Lectern: a release server with one resident LibreOffice converter (warmed with one small
PPTX and one DOCX first, as a server that has been up for a while is). The clock starts when
the last byte of the upload is written and stops when the server-sent event for page 1, and
then `done`, is read: what a presenter's browser sees.

BigBlueButton's pipeline, with its tools on the same files: for office files one
`soffice --headless --convert-to pdf` process with a fresh profile (BBB starts LibreOffice
per conversion); then per page `pdftocairo -r 300 -svg` (the page clients show),
`pdftocairo -png -scale-to 150` (thumbnail) and `pdftotext -layout` (text). Pages run on two
workers (this machine's two cores), page 1 first. BBB's page splitting is left out (the tools
take -f/-l), which favours BBB.
"""

import argparse
import concurrent.futures as cf
import http.client
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
START, END = "<!-- documents-bench:start -->", "<!-- documents-bench:end -->"


def deck_pdf(pages, tag):
    """The system tests' deck (tests/src/documents.rs) written directly."""
    objs = []

    def add(body):
        objs.append(body)
        return len(objs)

    font = add(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>")
    gs = add(b"<< /Type /ExtGState /ca 0.5 /CA 0.5 >>")
    px = bytes(b for i in range(64 * 64) for b in ((i % 64 * 4) % 256, (i // 64 * 4) % 256, 200))
    img = add(b"<< /Type /XObject /Subtype /Image /Width 64 /Height 64 /ColorSpace /DeviceRGB "
              b"/BitsPerComponent 8 /Length %d >>\nstream\n" % len(px) + px + b"\nendstream")
    res = add(b"<< /Font << /F1 %d 0 R >> /ExtGState << /GS1 %d 0 R >> /XObject << /Im1 %d 0 R >> >>"
              % (font, gs, img))
    pages_id = len(objs) + 1 + 2 * pages
    kids = []
    for i in range(1, pages + 1):
        x, c, ix = 40 + (i * 37) % 500, 50 + i * 20, 620 - (i * 13) % 200
        content = (f"0.2 0.3 0.8 rg {x} 60 160 90 re f 1 0 0 RG 4 w 50 300 m 200 {c} 400 100 750 380 c S "
                   f"q /GS1 gs 0 0.8 0 rg 300 150 200 150 re f 0.9 0.1 0.1 rg 380 200 200 150 re f Q "
                   f"q 120 0 0 120 {ix} 280 cm /Im1 Do Q "
                   f"BT /F1 28 Tf 40 400 Td (Slide {i} of {pages}: marker-{i}) Tj ET").encode()
        cid = add(b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream")
        kids.append(add(b"<< /Type /Page /Parent %d 0 R /Contents %d 0 R >>" % (pages_id, cid)))
    add(b"<< /Type /Pages /Kids [%s] /Count %d /Resources %d 0 R /MediaBox [0 0 800 450] >>"
        % (b" ".join(b"%d 0 R" % k for k in kids), pages, res))
    catalog = add(b"<< /Type /Catalog /Pages %d 0 R >>" % pages_id)
    info = add(b"<< /Title (Benchmark deck %s) >>" % tag.encode())
    out = bytearray(b"%PDF-1.5\n")
    offsets = []
    for n, body in enumerate(objs, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % n + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objs) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root %d 0 R /Info %d 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objs) + 1, catalog, info, xref)
    return bytes(out)


def office(kind, count, tag, venv):
    out = Path(tempfile.mkdtemp()) / f"input.{kind}"
    subprocess.run([str(venv / "bin/python"), str(ROOT / "tests/documents/make_office.py"), kind, str(out),
                    str(count)], check=True, env={**os.environ, "LECTERN_OFFICE_TAG": tag})
    return out.read_bytes()


# --- Lectern ------------------------------------------------------------------------------

class Lectern:
    def __init__(self, binary, venv):
        self.dir = Path(tempfile.mkdtemp(prefix="lectern-docbench-"))
        self.proc = subprocess.Popen(
            [binary, "serve", "--http", "127.0.0.1:0", "--xmpp", "127.0.0.1:0", "--data", str(self.dir / "data"),
             "--office-workers", "1", "--unoserver", str(venv / "bin/unoserver")],
            stdout=subprocess.PIPE, stderr=open(self.dir / "stderr", "wb"), text=True,
            env={**os.environ, "RUST_LOG": "warn"})
        for line in self.proc.stdout:
            m = re.match(r"http listening on (\S+)", line)
            if m:
                host, port = m.group(1).rsplit(":", 1)
                self.addr = (host, int(port))
                break
        else:
            sys.exit(f"lectern did not start; see {self.dir}/stderr")

    def conn(self):
        return http.client.HTTPConnection(*self.addr, timeout=600)

    def upload(self, data):
        """Returns (seconds from the end of the upload to page 1, to done, manifest)."""
        c = self.conn()
        c.putrequest("POST", "/api/documents")
        c.putheader("Content-Type", "application/octet-stream")
        c.putheader("Content-Length", str(len(data)))
        c.endheaders()
        c.send(data)
        t0 = time.perf_counter()
        r = c.getresponse()
        body = json.loads(r.read())
        if r.status != 201:
            sys.exit(f"upload answered {r.status}: {body}")
        ev = self.conn()
        ev.request("GET", f"/api/documents/{body['id']}/events")
        stream = ev.getresponse()
        first = None
        for raw in stream:
            line = raw.decode().strip()
            if line == "event: failed":
                sys.exit("a page failed to render")
            if line.startswith("data: "):
                d = json.loads(line[6:])
                if d.get("page") == 1 and first is None:
                    first = time.perf_counter() - t0
                if d.get("event") == "done":
                    done = time.perf_counter() - t0
                    break
        m = self.get(f"/api/documents/{body['id']}")
        return first, done, json.loads(m)

    def get(self, path):
        c = self.conn()
        c.request("GET", path)
        return c.getresponse().read()

    def page_bytes(self, manifest):
        pages = [len(self.get(p["image"])) for p in manifest["pages"]]
        thumbs = [len(self.get(p["thumbnail"])) for p in manifest["pages"]]
        return statistics.mean(pages), statistics.mean(thumbs)

    def stop(self):
        self.proc.terminate()
        self.proc.wait(30)
        shutil.rmtree(self.dir, ignore_errors=True)


# --- BigBlueButton's pipeline ---------------------------------------------------------------

def bbb(data, kind):
    """Returns (page 1 s, all pages s, mean SVG bytes, mean thumbnail bytes)."""
    work = Path(tempfile.mkdtemp(prefix="bbb-docbench-"))
    src = work / f"input.{kind}"
    src.write_bytes(data)
    t0 = time.perf_counter()
    if kind != "pdf":
        profile = work / "profile"
        subprocess.run(["soffice", f"-env:UserInstallation=file://{profile}", "--headless", "--convert-to", "pdf",
                        "--outdir", str(work / "pdf"), str(src)], check=True, capture_output=True)
        src = work / "pdf" / "input.pdf"
    info = subprocess.run(["pdfinfo", str(src)], check=True, capture_output=True, text=True).stdout
    pages = int(re.search(r"Pages:\s+(\d+)", info).group(1))

    def page(n):
        f = ["-f", str(n), "-l", str(n)]
        subprocess.run(["pdftocairo", "-r", "300", "-svg", *f, str(src), str(work / f"{n}.svg")], check=True)
        subprocess.run(["pdftocairo", "-png", "-scale-to", "150", "-singlefile", *f, str(src),
                        str(work / f"thumb-{n}")], check=True)
        subprocess.run(["pdftotext", "-layout", *f, str(src), str(work / f"{n}.txt")], check=True)
        return n, time.perf_counter() - t0

    with cf.ThreadPoolExecutor(2) as pool:
        done = dict(pool.map(page, range(1, pages + 1)))
    total = time.perf_counter() - t0
    svg = statistics.mean((work / f"{n}.svg").stat().st_size for n in range(1, pages + 1))
    thumb = statistics.mean((work / f"thumb-{n}.png").stat().st_size for n in range(1, pages + 1))
    shutil.rmtree(work, ignore_errors=True)
    return done[1], total, svg, thumb


# --- report -------------------------------------------------------------------------------

def tool_version(cmd):
    try:
        out = subprocess.run(cmd, capture_output=True, text=True)
        return (out.stdout + out.stderr).strip().splitlines()[0]
    except (OSError, IndexError):
        return "not installed"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--lectern", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--venv", default=os.environ.get("LECTERN_UNOSERVER_VENV", "/opt/lectern-unoserver"))
    ap.add_argument("--command", default="make bench")
    a = ap.parse_args()
    venv = Path(a.venv)

    load = "%.2f %.2f %.2f" % os.getloadavg()
    server = Lectern(a.lectern, venv)
    # Warm-up: LibreOffice loads Impress and Writer on their first documents.
    server.upload(office("pptx", 2, "warm-up", venv))
    server.upload(office("docx", 2, "warm-up", venv))
    rows = {}
    for name, kind, make in [("50-page PDF", "pdf", lambda t: deck_pdf(50, t)),
                             ("20-slide PPTX", "pptx", lambda t: office("pptx", 20, t, venv))]:
        lec, ref = [], []
        for run in range(a.runs):
            data = make(f"run-{run}-{time.time_ns()}")
            first, done, m = server.upload(data)
            lec.append((first, done, *server.page_bytes(m)))
            ref.append(bbb(data, kind))
            print(f"{name} run {run + 1}: lectern {first:.3f}/{done:.3f} s, bbb {ref[-1][0]:.3f}/{ref[-1][1]:.3f} s",
                  file=sys.stderr)
        rows[name] = (lec, ref, len(data))
    server.stop()

    med = lambda xs, i: statistics.median(x[i] for x in xs)
    lines = [START, "", "## Documents: upload to pages, Lectern vs BigBlueButton's pipeline", "",
             f"Generated by `bench/documents.py` (run by `bench/documents.sh`, part of `{a.command}`) on "
             f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; {os.cpu_count()} cores; Lectern release build "
             f"`{subprocess.run(['git', '-C', str(ROOT), 'rev-parse', '--short', 'HEAD'], capture_output=True, text=True).stdout.strip()}`; "
             f"{tool_version(['soffice', '--version'])}; {tool_version(['pdftocairo', '-v'])}. "
             f"Medians of {a.runs} runs, each on distinct bytes. Load average at the start: {load} "
             f"(other work on the machine shares its cores).", "",
             "Method: see the docstring of `bench/documents.py`. Lectern's times run from the last byte of the "
             "upload to the server-sent event a browser reads (page 1 ready; done), PNG pages at most 1600 px on "
             "the long side plus 240 px thumbnails, text per page. BBB: `soffice --headless --convert-to pdf` per "
             "document (fresh profile), then per page `pdftocairo -r 300 -svg`, `pdftocairo -png -scale-to 150`, "
             "`pdftotext -layout`, on two workers.", "",
             "| document | pipeline | page 1 ready | all pages | bytes per page (page / thumbnail) |",
             "|---|---|--:|--:|--:|"]
    verdict = []
    for name, (lec, ref, size) in rows.items():
        lines.append(f"| {name} ({size // 1024} KiB) | Lectern | {med(lec, 0) * 1000:.0f} ms | {med(lec, 1) * 1000:.0f} ms "
                     f"| {med(lec, 2) / 1024:.0f} KiB PNG / {med(lec, 3) / 1024:.1f} KiB |")
        lines.append(f"| | BBB pipeline | {med(ref, 0) * 1000:.0f} ms | {med(ref, 1) * 1000:.0f} ms "
                     f"| {med(ref, 2) / 1024:.0f} KiB SVG / {med(ref, 3) / 1024:.1f} KiB |")
        verdict.append((name, med(lec, 0), med(lec, 1), med(ref, 1)))
    pdf, pptx = verdict[0], verdict[1]
    ok = lambda b: "met" if b else "**not met**"
    lines += ["", "Aims:", "",
              f"- PDF page 1 ready < 300 ms after the upload: {pdf[1] * 1000:.0f} ms — {ok(pdf[1] < 0.3)}.",
              f"- Whole deck ≥ 3× faster than the BBB pipeline: PDF {pdf[3] / pdf[2]:.1f}×, PPTX "
              f"{pptx[3] / pptx[2]:.1f}× — {ok(pdf[3] / pdf[2] >= 3 and pptx[3] / pptx[2] >= 3)}.",
              f"- PPTX page 1 < 1.5 s: {pptx[1] * 1000:.0f} ms — {ok(pptx[1] < 1.5)}.", "", END, ""]
    section = "\n".join(lines)
    out = Path(a.out)
    text = out.read_text() if out.exists() else ""
    if START in text and END in text:
        text = text[:text.index(START)] + section.rstrip("\n") + text[text.index(END) + len(END):]
    else:
        text = text.rstrip("\n") + "\n\n" + section
    out.write_text(text)
    print(f"wrote the documents section of {out}", file=sys.stderr)


if __name__ == "__main__":
    main()
