"""One meeting participant, driven over JSON lines on stdin/stdout, so tests/lan/test_lan.py can
run each participant inside its own network namespace (`ip netns exec NS python agent.py …`).

Every HTTP request and the XMPP connection leave from the namespace's only address, so the
server sees the participant's real source address."""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import sys
import tarfile
import traceback
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "prosody"))
from sync_client import (  # noqa: E402
    NS, C, Member, find, http, http_json, png, s, seq_of, sha256, upload_png, document_request,
)


class Agent:
    def __init__(self, base: str, xmpp: str):
        self.base = base
        self.host, port = xmpp.rsplit(":", 1)
        self.port = int(port)
        self.m: Member | None = None

    async def op_create(self, title="LAN meeting"):
        return http_json(self.base, "POST", "/api/meetings", {"title": title})

    async def op_join(self, number, name, key=None):
        body = {"name": name}
        if key:
            body["key"] = key
        j = http_json(self.base, "POST", f"/api/meetings/{number}/join", body)
        self.m = Member(name, j, self.host, self.port, tls=True)
        await self.m.connect()
        await self.m.enter_room()
        hello = await self.m.hello()
        h = find(hello, "hello")
        return {"join": j, "hello_type": hello.get("type"), "hello": dict(h.attrib) if h is not None else None,
                "local": list(self.m.xmpp.transport.get_extra_info("sockname")[:2]),
                "tls": self.m.xmpp.transport.get_extra_info("ssl_object") is not None}

    async def op_share(self):
        manifest = upload_png(self.base, png(80, 60, 33))
        self.m.request(100, document_request(manifest))
        return {"manifest": manifest}

    async def op_wait_document(self, document, timeout=20):
        ev = await self.m.wait(
            lambda e: self.m.is_event(e) and (find(e, "document") is not None)
            and find(e, "document").get("id") == document, f"document {document} event", timeout)
        return {"seq": seq_of(ev), "xml": s(ev)}

    def _is_preload(self, e, document):
        p = find(e, "preload")
        return (e.tag == f"{{{C}}}message" and p is not None and e.get("from") == self.m.focus
                and p.get("document") == document)

    async def op_wait_preload(self, document, timeout=20):
        e = await self.m.wait(lambda e: self._is_preload(e, document), "preload notice from the focus", timeout)
        return {"xml": s(e), "attrs": dict(find(e, "preload").attrib)}

    async def op_no_preload(self, document, seconds):
        """A bounded wait: True when no preload (from anyone) arrived during and before it."""
        await asyncio.sleep(seconds)
        got = [s(e) for e in self.m.stanzas if find(e, "preload") is not None]
        return {"none": not got, "got": got}

    async def op_fetch_preload(self, document):
        """Download the preload URL (or, if the package route 404s, every page), verify the
        sha256 of every page against the <document/> event, then report <preloaded/>."""
        pre = next(e for e in self.m.stanzas if self._is_preload(e, document))
        url = find(pre, "preload").get("url")
        ev = next(e for e in self.m.stanzas if self.m.is_event(e) and find(e, "document") is not None
                  and find(e, "document").get("id") == document)
        doc = find(ev, "document")
        want = {int(p.get("n")): p.get("hash") for p in doc.findall(f"{{{NS}}}p")}
        full = url if url.startswith("http") else self.base + url
        status, body = http(full, "GET", "")
        how, got = None, {}
        if status == 200:
            how = "package"
            with tarfile.open(fileobj=io.BytesIO(body), mode="r:") as tar:
                names = tar.getnames()
                assert "manifest.json" in names, names
                for n in want:
                    got[n] = sha256(tar.extractfile(f"pages/{n}.png").read())
        elif status == 404:
            how = "pages (package route answered 404)"
            base = doc.get("base")
            base = base if base.startswith("http") else self.base + base
            for n in want:
                st, data = http(f"{base}pages/{n}.png", "GET", "")
                assert st == 200, (n, st)
                got[n] = sha256(data)
        else:
            raise AssertionError(f"GET {full} -> {status}: {body[:300]!r}")
        assert got == want, (got, want)
        self.m.send(f"<message to='{self.m.focus}' type='chat'><preloaded xmlns='{NS}' "
                    f"meeting='{self.m.number}' document='{document}'/></message>")
        return {"how": how, "status": status, "pages": len(want)}

    async def op_wait_preloaded(self, document, timeout=20):
        e = await self.m.wait(
            lambda e: e.tag == f"{{{C}}}message" and e.get("from") == self.m.focus
            and find(e, "preloaded") is not None and find(e, "preloaded").get("document") == document,
            "preloaded notice", timeout)
        return {"xml": s(e), "attrs": dict(find(e, "preloaded").attrib)}

    async def op_transcript(self):
        return {"stanzas": [s(e) for e in (self.m.stanzas if self.m else [])]}

    async def op_quit(self):
        if self.m:
            await self.m.close()
        return {}


async def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--base", required=True)
    ap.add_argument("--xmpp", required=True)
    args = ap.parse_args()
    agent = Agent(args.base, args.xmpp)
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    while True:
        line = await reader.readline()
        if not line:
            break
        cmd = json.loads(line)
        op = cmd.pop("op")
        try:
            result = {"ok": True, "result": await getattr(agent, f"op_{op}")(**cmd)}
        except BaseException as e:  # noqa: BLE001 - reported to the driver
            result = {"ok": False, "error": f"{type(e).__name__}: {e}", "trace": traceback.format_exc()}
        sys.stdout.write(json.dumps(result) + "\n")
        sys.stdout.flush()
        if op == "quit":
            break


if __name__ == "__main__":
    asyncio.run(main())
