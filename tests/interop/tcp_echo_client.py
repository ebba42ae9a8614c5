"""A slixmpp client over c2s TCP (STARTTLS + SASL) driven by another test process.

Used by strophe.test.mjs so that the WebSocket client talks to a real third-party TCP client.
It reports what happens as JSON lines on stdout:

    {"event": "online", "jid": ..., "tls": true, "mechanism": "SCRAM-SHA-256"}
    {"event": "message", "id": ..., "from": ..., "type": ..., "body": ..., "payloads": [xml, ...]}
    {"event": "echoed", "id": ...}
    {"event": "sent", "id": ...}
    {"event": "failed", "error": ...}

Every message it receives that is not an error is echoed to its sender (unless --no-echo): id +
"-echo", body "echo: " + body (if any), and every child element that is not <body/>/<thread/>,
re-sent. Message events also carry the whole stanza as "xml"; with --presence it reports
presences too: {"event": "presence", "from": ..., "type": ..., "xml": ...}.
Commands come as JSON lines on stdin: {"send": {"to", "id", "body", "payload"}} sends a message;
{"raw": "<presence .../>"} sends XML as is; {"quit": true} or end of input disconnects and exits 0.
It exits by itself after --lifetime s.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
import xml.etree.ElementTree as ET
from pathlib import Path
from xml.sax.saxutils import escape, quoteattr

from slixmpp.xmlstream.handler import Callback
from slixmpp.xmlstream.matcher import MatchXPath

sys.path.insert(0, str(Path(__file__).resolve().parent))

from lectern_client import CLIENT_NS, Client  # noqa: E402

SKIP = {f"{{{CLIENT_NS}}}body", f"{{{CLIENT_NS}}}thread", f"{{{CLIENT_NS}}}subject"}


def emit(**event) -> None:
    sys.stdout.write(json.dumps(event, ensure_ascii=False) + "\n")
    sys.stdout.flush()


def message_xml(to: str, mid: str, body: str | None, payloads: list[str], mtype: str = "chat") -> str:
    body_xml = f"<body>{escape(body)}</body>" if body is not None else ""
    return (
        f"<message to={quoteattr(to)} id={quoteattr(mid)} type={quoteattr(mtype)}>"
        f"{body_xml}{''.join(payloads)}</message>"
    )


async def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--host", required=True)
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--jid", required=True)
    ap.add_argument("--password")
    ap.add_argument("--cafile", required=True)
    ap.add_argument("--lifetime", type=float, default=90)
    ap.add_argument("--no-echo", dest="echo", action="store_false", help="only report messages")
    ap.add_argument("--presence", action="store_true", help="report presences as well")
    a = ap.parse_args()
    # Stanza-level trace on stderr; the Node test shows it when a test fails.
    logging.basicConfig(level=logging.DEBUG, stream=sys.stderr, format="%(asctime)s %(name)s %(message)s")

    c = Client(a.jid, a.password, host=a.host, port=a.port, cafile=a.cafile, name="tcp-echo")

    def on_message(msg) -> None:
        if msg["type"] == "error":
            emit(event="message", id=msg["id"], type="error", **{"from": str(msg["from"])}, xml=str(msg))
            return
        payloads = [ET.tostring(child, encoding="unicode") for child in msg.xml if child.tag not in SKIP]
        body_el = msg.xml.find(f"{{{CLIENT_NS}}}body")
        body = (body_el.text or "") if body_el is not None else None
        emit(
            event="message",
            id=msg["id"],
            type=msg.xml.get("type", "normal"),
            body=body,
            payloads=payloads,
            xml=str(msg),
            **{"from": str(msg["from"]), "to": str(msg["to"])},
        )
        if not a.echo:
            return
        reply_body = f"echo: {body}" if body is not None else None
        c.xmpp.send_raw(
            message_xml(str(msg["from"]), f"{msg['id']}-echo", reply_body, payloads,
                        msg.xml.get("type", "normal"))
        )  # fmt: skip
        emit(event="echoed", id=msg["id"])

    c.xmpp.add_event_handler("disconnected", lambda _r=None: emit(event="disconnected"))
    c.xmpp.register_handler(Callback("echo", MatchXPath(f"{{{CLIENT_NS}}}message"), on_message))
    if a.presence:
        c.xmpp.register_handler(
            Callback(
                "report-presence",
                MatchXPath(f"{{{CLIENT_NS}}}presence"),
                lambda p: emit(event="presence", type=p.xml.get("type", "available"), xml=str(p),
                               **{"from": str(p["from"])}),
            )
        )  # fmt: skip

    try:
        await c.start(timeout=10)
    except AssertionError as e:
        emit(event="failed", error=str(e))
        await c.stop()
        return 1
    emit(event="online", jid=str(c.jid), tls=c.tls_ok, mechanism=c.mechanism)

    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)

    async def commands() -> None:
        while True:
            line = await reader.readline()
            if not line:
                return
            try:
                cmd = json.loads(line)
            except ValueError:
                emit(event="bad-command", line=line.decode("utf-8", "replace"))
                continue
            if cmd.get("quit"):
                return
            if "raw" in cmd:
                c.xmpp.send_raw(cmd["raw"])
                emit(event="sent-raw")
            if "send" in cmd:
                s = cmd["send"]
                payloads = [s["payload"]] if s.get("payload") else []
                c.xmpp.send_raw(message_xml(s["to"], s["id"], s.get("body"), payloads, s.get("type", "chat")))
                emit(event="sent", id=s["id"])

    try:
        await asyncio.wait_for(commands(), a.lifetime)
    except asyncio.TimeoutError:
        emit(event="lifetime-over")
    await c.stop()
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
