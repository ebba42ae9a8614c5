"""Start and stop the real `lectern` binary as docs/TEST-CONTRACT.md describes."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import threading
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
LISTEN_RE = re.compile(r"^(http|xmpp) listening on (\S+):(\d+)\s*$")
ANSI_RE = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


def lectern_bin() -> str:
    return os.environ.get("LECTERN_BIN") or str(REPO_ROOT / "target" / "debug" / "lectern")


class ServerError(AssertionError):
    pass


class LecternServer:
    """`lectern serve --http 127.0.0.1:0 --xmpp 127.0.0.1:0 --domain D --data DIR`."""

    def __init__(self, workdir: Path, domain: str = "localhost", extra_args: tuple[str, ...] = ()) -> None:
        self.bin = lectern_bin()
        self.workdir = Path(workdir)
        self.data = self.workdir / "data"
        self.data.mkdir(parents=True, exist_ok=True)
        self.domain = domain
        self.guest_domain = f"guest.{domain}"
        self.extra_args = tuple(extra_args)
        self.stderr_path = self.workdir / "server.stderr.log"
        self.stdout_path = self.workdir / "server.stdout.log"
        self.proc: subprocess.Popen | None = None
        self.http: tuple[str, int] | None = None
        self.xmpp: tuple[str, int] | None = None
        self._stdout_lines: list[str] = []
        self._ready = threading.Event()
        self._reader: threading.Thread | None = None

    # ---- paths the contract defines ----------------------------------------------------------
    @property
    def cacert(self) -> str:
        return str(self.data / "tls" / "cert.pem")

    @property
    def http_addr(self) -> str:
        assert self.http
        return f"{self.http[0]}:{self.http[1]}"

    # ---- lifecycle --------------------------------------------------------------------------------
    def start(self, timeout: float = 30) -> "LecternServer":
        if not os.access(self.bin, os.X_OK):
            raise ServerError(f"lectern binary not found or not executable: {self.bin} (set LECTERN_BIN)")
        cmd = [
            self.bin, "serve",
            "--http", "127.0.0.1:0",
            "--xmpp", "127.0.0.1:0",
            "--domain", self.domain,
            "--data", str(self.data),
            *self.extra_args,
        ]  # fmt: skip
        env = dict(os.environ)
        env.setdefault("RUST_LOG", "info,lectern=debug")
        env.setdefault("NO_COLOR", "1")
        self._stderr = open(self.stderr_path, "wb")
        self.proc = subprocess.Popen(
            cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=self._stderr, env=env
        )
        self._reader = threading.Thread(target=self._read_stdout, daemon=True)
        self._reader.start()
        if not self._ready.wait(timeout) or not (self.http and self.xmpp):
            try:
                rc = self.proc.wait(2)
                why = f"exited with code {rc} before printing both 'listening on' lines"
            except subprocess.TimeoutExpired:
                why = f"did not print both 'listening on' lines within {timeout}s"
            self.stop()
            raise ServerError(
                f"`{' '.join(cmd)}` {why}; stdout: {self._stdout_lines!r}\n"
                f"--- stderr ---\n{self.log_tail()}"
            )
        return self

    def _read_stdout(self) -> None:
        assert self.proc and self.proc.stdout
        with open(self.stdout_path, "w") as out:
            for raw in self.proc.stdout:
                line = raw.decode("utf-8", "replace")
                out.write(line)
                out.flush()
                self._stdout_lines.append(line.rstrip("\n"))
                m = LISTEN_RE.match(line.strip())
                if m:
                    addr = (m.group(2).strip("[]"), int(m.group(3)))
                    if m.group(1) == "http":
                        self.http = addr
                    else:
                        self.xmpp = addr
                    if self.http and self.xmpp:
                        self._ready.set()
        self._ready.set()  # EOF: the process is gone, wake start()

    def exited(self) -> int | None:
        return self.proc.poll() if self.proc else None

    def stop(self, timeout: float = 10) -> int | None:
        """SIGTERM, then SIGKILL after `timeout`. Returns the exit code."""
        if not self.proc:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        if self._reader:
            self._reader.join(5)
        self._stderr.close()
        return self.proc.returncode

    # ---- accounts --------------------------------------------------------------------------------
    def user_add(self, jid: str, password: str, *, via_stdin: bool = False) -> None:
        """`lectern user add JID --password P --data DIR` (or the password on stdin)."""
        cmd = [self.bin, "user", "add", jid, "--data", str(self.data)]
        if not via_stdin:
            cmd += ["--password", password]
        r = subprocess.run(
            cmd,
            input=(password + "\n") if via_stdin else None,
            capture_output=True,
            text=True,
            timeout=30,
        )
        if r.returncode != 0:
            raise ServerError(
                f"`{' '.join(cmd)}` exited {r.returncode}\nstdout: {r.stdout}\nstderr: {r.stderr}"
            )

    # ---- diagnostics -------------------------------------------------------------------------------
    def log_tail(self, lines: int = 300) -> str:
        try:
            text = self.stderr_path.read_text("utf-8", "replace")
        except FileNotFoundError:
            return "(no stderr log)"
        tail = ANSI_RE.sub("", text).splitlines()[-lines:]
        return "\n".join(tail) if tail else "(stderr empty)"
