"""The Android engine driven through its UniFFI boundary, from the generated Python bindings.

A real `lectern serve` on port 0; a scripted presenter speaking raw XMPP (plain TCP on
loopback, SASL PLAIN) shares a two-page PDF, turns a page and speaks (Opus frames made with
the system libopus through ctypes); the attendee is `android_bridge.Attendee` from the
generated bindings: it must join, show the page turn, hand out audible PCM and, once closed,
let go of the listener.

Run by tests/android/run.sh, which builds the cdylib and generates the bindings first.
"""

import base64
import ctypes
import ctypes.util
import gc
import json
import math
import os
import queue
import re
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
import weakref

sys.path.insert(0, os.environ["ANDROID_BRIDGE_PY"])
import android_bridge as ab  # noqa: E402

NS = "urn:lectern:sync:1"
WAIT = 30.0


def start_server(data):
    proc = subprocess.Popen(
        [os.environ["LECTERN_BIN"], "serve", "--http", "127.0.0.1:0", "--xmpp", "127.0.0.1:0",
         "--domain", "localhost", "--data", data],
        stdout=subprocess.PIPE, stderr=open(os.path.join(data, "stderr.log"), "w"),
        env=dict(os.environ, LECTERN_OFFICE_WORKERS="0"), text=True)
    http = xmpp = None
    while http is None or xmpp is None:
        line = proc.stdout.readline()
        assert line, "lectern serve exited before listening"
        if line.startswith("http listening on "):
            http = line.split()[-1]
        elif line.startswith("xmpp listening on "):
            xmpp = line.split()[-1]
    return proc, http, xmpp


def api(http, method, path, body=None, raw=None, content_type="application/json"):
    data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
    req = urllib.request.Request(f"http://{http}{path}", data=data, method=method,
                                 headers={"Content-Type": content_type})
    with urllib.request.urlopen(req, timeout=WAIT) as r:
        return json.loads(r.read())


def two_page_pdf():
    """A minimal valid PDF with two pages, each a coloured rectangle."""
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R 5 0 R] /Count 2 >>",
    ]
    for i, colour in enumerate([b"1 0 0", b"0 0 1"]):
        content = colour + b" rg 50 50 300 200 re f"
        objects.append(b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 400 300] /Contents %d 0 R >>"
                       % (4 + 2 * i))
        objects.append(b"<< /Length %d >>\nstream\n%s\nendstream" % (len(content), content))
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for n, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (n, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    for off in offsets:
        out += b"%010d 00000 n \n" % off
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


def upload(http, name, data):
    boundary = "lectern-ffi-test-boundary"
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\n"
            "Content-Type: application/octet-stream\r\n\r\n").encode() + data + \
        f"\r\n--{boundary}--\r\n".encode()
    doc = api(http, "POST", "/api/documents", raw=body,
              content_type=f"multipart/form-data; boundary={boundary}")
    deadline = time.time() + WAIT
    while api(http, "GET", f"/api/documents/{doc['id']}")["status"] != "ready":
        assert time.time() < deadline, "document never ready"
        time.sleep(0.05)
    return doc["id"]


class RawXmpp:
    """Just enough XMPP for a presenter: PLAIN login, bind, MUC join, IQs, messages."""

    def __init__(self, addr, user, password):
        host, port = addr.rsplit(":", 1)
        self.sock = socket.create_connection((host, int(port)), timeout=WAIT)
        self.buf = ""
        self.n = 0
        self.open()
        plain = base64.b64encode(f"\0{user}\0{password}".encode()).decode()
        self.send(f"<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>{plain}</auth>")
        self.expect("<success")
        self.open()
        self.send("<iq type='set' id='bind'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'/></iq>")
        self.expect("</iq>")

    def open(self):
        self.send("<?xml version='1.0'?><stream:stream to='localhost' version='1.0' "
                  "xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'>")
        self.expect("</stream:features>")

    def send(self, text):
        self.sock.sendall(text.encode())

    def expect(self, marker):
        """Reads until `marker`; returns everything up to and including it."""
        deadline = time.time() + WAIT
        while marker not in self.buf:
            assert time.time() < deadline, f"no {marker!r} in {self.buf[-500:]!r}"
            self.buf += self.sock.recv(65536).decode()
        i = self.buf.index(marker) + len(marker)
        head, self.buf = self.buf[:i], self.buf[i:]
        return head

    def iq(self, kind, to, payload):
        self.n += 1
        self.send(f"<iq type='{kind}' id='q{self.n}' to='{to}'>{payload}</iq>")
        return self.expect(f"id='q{self.n}'") + self.expect("</iq>")

    def drain(self):
        self.sock.setblocking(False)
        try:
            while self.sock.recv(65536):
                pass
        except BlockingIOError:
            pass
        finally:
            self.sock.setblocking(True)
            self.sock.settimeout(WAIT)
        self.buf = ""


class Presenter:
    def __init__(self, http, xmpp, number, key):
        j = api(http, "POST", f"/api/meetings/{number}/join", {"name": "Alice", "key": key})
        self.focus, self.number = j["focus"], number
        self.x = RawXmpp(xmpp, j["login"]["jid"].split("@")[0], j["login"]["password"])
        self.x.send(f"<presence to='{j['room']}/{j['nick']}'><x xmlns='http://jabber.org/protocol/muc'>"
                    "<history maxstanzas='0'/></x></presence>")
        self.x.expect("status code='110'")
        hello = self.x.iq("set", self.focus, f"<hello xmlns='{NS}' meeting='{number}' ticket='{j['ticket']}'/>")
        assert "presenter" in hello, hello

    def request(self, t, payload):
        self.x.send(f"<message to='{self.focus}' type='chat'><event xmlns='{NS}' meeting='{self.number}' "
                    f"t='{t}'>{payload}</event></message>")
        self.x.drain()


class Opus:
    """The system libopus through ctypes: 20 ms mono frames at 48 kHz."""

    def __init__(self):
        self.lib = ctypes.CDLL(ctypes.util.find_library("opus") or "libopus.so.0")
        err = ctypes.c_int()
        self.lib.opus_encoder_create.restype = ctypes.c_void_p
        self.enc = ctypes.c_void_p(self.lib.opus_encoder_create(48000, 1, 2049, ctypes.byref(err)))
        assert err.value == 0

    def frame(self, start, hz):
        pcm = (ctypes.c_int16 * 960)(*[int(8000 * math.sin(2 * math.pi * hz * (start + i) / 48000))
                                       for i in range(960)])
        out = (ctypes.c_ubyte * 1275)()
        n = self.lib.opus_encode(self.enc, pcm, 960, out, 1275)
        assert n > 0
        return base64.b64encode(bytes(out[:n])).decode()


class Listener(ab.AttendeeListener):
    def __init__(self):
        self.changes = queue.Queue()

    def on_change(self, change):
        self.changes.put(change)


class Output(threading.Thread):
    """Pulls 20 ms of PCM every 20 ms, as the app's audio output does, keeping the peak."""

    def __init__(self, attendee):
        super().__init__(daemon=True)
        self.attendee = attendee
        self.peak = 0
        self.short = 0
        self.stopping = threading.Event()

    def run(self):
        due = time.monotonic()
        while not self.stopping.is_set():
            pcm = self.attendee.pull_pcm(960)
            self.short += len(pcm) != 960
            self.peak = max(self.peak, max(abs(s) for s in pcm))
            due += 0.02
            time.sleep(max(0.0, due - time.monotonic()))

    def stop(self):
        self.stopping.set()
        self.join()


def wait_for(listener, what, pred):
    deadline = time.time() + WAIT
    while True:
        change = listener.changes.get(timeout=max(0.01, deadline - time.time()))
        if pred(change):
            return change
        assert time.time() < deadline, f"no {what}"


def main():
    data = tempfile.mkdtemp(prefix="lectern-ffi-")
    server, http, xmpp = start_server(data)
    passed = failed = 0
    output = None
    try:
        meeting = api(http, "POST", "/api/meetings", {"title": "FFI"})
        number, key = meeting["number"], meeting["host_key"]
        doc = upload(http, "two.pdf", two_page_pdf())
        presenter = Presenter(http, xmpp, number, key)
        pages = "".join(f"<p n='{n}' hash='{'0' * 64}' w='1' h='1'/>" for n in (1, 2))
        presenter.request(0, f"<document id='{doc}' pages='2' base='/api/documents/{doc}/'>{pages}</document>")

        pem = open(os.path.join(data, "tls", "cert.pem")).read()
        listener = Listener()
        config = ab.AttendeeConfig(
            server_url=f"http://{http}", xmpp_address=xmpp, meeting=number, name="Python",
            cache_dir=os.path.join(data, "cache"),
            tls=ab.TlsMode.PINNED_CERTIFICATE(sha256_hex=ab.certificate_pin_from_pem(pem)))
        attendee = ab.Attendee(config, listener)
        joined = wait_for(listener, "joined", lambda c: c.is_JOINED())
        assert joined.role == "attendee", joined
        wait_for(listener, "the snapshot", lambda c: c.is_STATE() and c.kind == "snapshot")
        passed += 1
        print("ok - joined through the FFI and loaded the snapshot")

        output = Output(attendee)
        output.start()
        opus = Opus()
        start = time.monotonic()
        t = 0
        for batch in range(25):  # 1.5 s of a 440 Hz tone, 3 frames a message
            frames = " ".join(opus.frame((t + 20 * i) * 48, 440) for i in range(3))
            presenter.request(t, f"<audio codec='opus' rate='48000' channels='1' ms='20'>{frames}</audio>")
            if batch == 10:
                presenter.request(t, "<page n='2'/>")
            t += 60
            time.sleep(max(0, start + t / 1000 - time.monotonic()))
        turn = wait_for(listener, "the page turn", lambda c: c.is_STATE() and c.kind == "page")
        assert json.loads(turn.state_json)["page"] == 2, turn
        assert json.loads(attendee.state_json())["page"] == 2
        passed += 1
        print("ok - the page turn arrived as a State change with the canonical state")

        # The output pulls at its pace from before the voice starts, so every frame is due
        # while it pulls; wait for the voice to play out (75 frames, or 0.5 s without one).
        deadline, last, still = time.monotonic() + WAIT, -1, 0
        while time.monotonic() < deadline and last < 75 and still < 10:
            played = attendee.stats().frames_played
            still = still + 1 if played == last and played > 0 else 0
            last = played
            time.sleep(0.05)
        output.stop()
        stats = attendee.stats()
        assert output.short == 0, f"{output.short} pulls were not 960 samples"
        assert output.peak > 2000, (output.peak, stats)
        assert stats.frames_played >= 38, stats  # at least half of the 1.5 s tone
        passed += 1
        print(f"ok - pulled audible PCM (peak {output.peak}, {stats.frames_played} of 75 frames "
              f"played, {stats.frames_late} late, {stats.frames_concealed} concealed)")

        # An app closes and lives on (or exits): the engine must let go of the listener at
        # once, on this thread. Released later by an engine thread, it is freed through a
        # call into an interpreter that may be exiting, which aborts the process.
        released = weakref.ref(listener)
        attendee.close()
        calls = listener.changes.qsize()
        time.sleep(0.3)
        assert listener.changes.qsize() == calls, "the listener was called after close()"
        del listener
        gc.collect()
        assert released() is None, "the engine still holds the listener after close()"
        passed += 1
        print("ok - close() released the listener at once")
    except Exception as e:  # noqa: BLE001 — report, then fail
        failed += 1
        print(f"not ok - {type(e).__name__}: {e}")
        print(open(os.path.join(data, "stderr.log")).read()[-3000:], file=sys.stderr)
    finally:
        if output is not None:
            output.stop()  # a failure may leave it pulling
        server.kill()
    print(f"{passed} passed, {failed} failed")
    sys.exit(1 if failed or passed < 4 else 0)


if __name__ == "__main__":
    main()
