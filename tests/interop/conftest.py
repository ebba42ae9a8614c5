"""Fixtures: one real `lectern serve` per test, on port 0, in a fresh data directory."""

from __future__ import annotations

import asyncio
import os
import shutil
import sys
import tempfile
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from lectern_server import LecternServer  # noqa: E402


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    rep = yield
    setattr(item, f"rep_{rep.when}", rep)
    # Attach the server's stderr to any failing phase, so the failure shows what the server saw.
    if rep.failed:
        for srv in getattr(item, "lectern_servers", []):
            rep.sections.append(
                (f"lectern stderr ({srv.stderr_path}, last lines)", srv.log_tail())
            )
    return rep


@pytest.fixture
def workdir(request):
    # Short path on purpose: DIR/admin.sock must fit in a Unix socket address.
    path = Path(tempfile.mkdtemp(prefix="lectern-it-"))
    yield path
    failed = any(
        getattr(getattr(request.node, f"rep_{when}", None), "failed", False)
        for when in ("setup", "call")
    )
    if failed or os.environ.get("LECTERN_KEEP_TMP"):
        print(f"kept test directory {path}")
    else:
        shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def server(request, workdir):
    """A running server for domain `localhost` (guest domain `guest.localhost`)."""
    srv = LecternServer(workdir)
    request.node.lectern_servers = [srv]
    srv.start()
    yield srv
    crashed = srv.exited()
    srv.stop()
    if crashed is not None:
        pytest.fail(f"lectern exited by itself (code {crashed}) during the test")


@pytest.fixture
def run():
    """Run a test coroutine on a fresh event loop with an overall deadline."""

    def _run(coro, timeout: float = 60):
        async def bounded():
            return await asyncio.wait_for(coro, timeout)

        return asyncio.run(bounded())

    return _run
