// Browser end-to-end harness: the real `lectern` binary on free ports with a temp data dir,
// Debian's Chromium driven by playwright-core, a tiny PDF writer, and canvas pixel readers.
// Every wait is a condition with a generous timeout; nothing here measures time.
import { spawn } from 'node:child_process';
import { accessSync, closeSync, constants, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

import { chromium } from 'playwright-core';

const here = dirname(fileURLToPath(import.meta.url));
export const REPO = resolve(here, '..', '..');
export const LECTERN_BIN = process.env.LECTERN_BIN || join(REPO, 'target', 'debug', 'lectern');
export const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
/** How long any single condition may take to become true. */
export const WAIT = Number(process.env.LECTERN_E2E_WAIT_MS || 30000);

/** `lectern serve` on 127.0.0.1 port 0 (HTTP and XMPP), domain localhost, fresh data dir. */
export async function startServer({ timeoutMs = 60000, args = [] } = {}) {
    accessSync(LECTERN_BIN, constants.X_OK);
    const dir = mkdtempSync('/tmp/lectern-e2e-'); // short: DIR/admin.sock must fit a socket path
    const data = join(dir, 'data');
    mkdirSync(data);
    const logPath = join(dir, 'server.log');
    const errFd = openSync(logPath, 'w');
    const proc = spawn(
        LECTERN_BIN,
        ['serve', '--http', '127.0.0.1:0', '--xmpp', '127.0.0.1:0', '--domain', 'localhost', '--data', data, ...args],
        {
            stdio: ['ignore', 'pipe', errFd],
            env: { RUST_LOG: 'info,lectern=debug', NO_COLOR: '1', LECTERN_WEB_DIR: join(REPO, 'web'), ...process.env },
        },
    );
    closeSync(errFd);
    const reap = () => proc.exitCode === null && proc.signalCode === null && proc.kill('SIGKILL');
    process.once('exit', reap);
    const srv = {
        proc,
        dir,
        data,
        url: '',
        logTail(lines = 150) {
            try {
                return readFileSync(logPath, 'utf8').split('\n').slice(-lines).join('\n');
            } catch {
                return '(no server log)';
            }
        },
        async stop() {
            if (proc.exitCode === null && proc.signalCode === null) {
                const exited = new Promise((r) => proc.once('exit', r));
                proc.kill('SIGTERM');
                const timer = setTimeout(() => proc.kill('SIGKILL'), 10000);
                await exited;
                clearTimeout(timer);
            }
            if (!process.env.LECTERN_E2E_KEEP) rmSync(dir, { recursive: true, force: true });
        },
    };
    await new Promise((resolvePromise, reject) => {
        const timer = setTimeout(() => reject(new Error(`lectern serve printed no listening lines in ${timeoutMs} ms`)), timeoutMs);
        let http = null;
        let xmpp = null;
        createInterface({ input: proc.stdout }).on('line', (line) => {
            const m = /^(http|xmpp) listening on (\S+)\s*$/.exec(line.trim());
            if (m && m[1] === 'http') http = m[2];
            if (m && m[1] === 'xmpp') xmpp = m[2];
            if (http && xmpp) {
                clearTimeout(timer);
                srv.url = `http://${http}`;
                resolvePromise(undefined);
            }
        });
        proc.once('exit', (code) => {
            clearTimeout(timer);
            reject(new Error(`lectern serve exited (${code}) before listening:\n${srv.logTail()}`));
        });
    });
    return srv;
}

/**
 * Debian's Chromium, headless, with the flags this machine needs (docs: DESIGN.md), plus
 * `extraArgs` for this launch (e.g. {@link fakeMicArgs}).
 * @param {string[]} [extraArgs]
 */
export function launchBrowser(extraArgs = []) {
    return chromium.launch({
        executablePath: CHROMIUM,
        headless: true,
        args: [
            '--no-sandbox',
            '--disable-gpu',
            '--disable-background-networking',
            '--disable-component-update',
            '--disable-sync',
            '--no-first-run',
            '--disable-quic',
            ...extraArgs,
        ],
    });
}

/** Chromium flags for a fake microphone that plays (and loops) `wav`, permission granted. */
export function fakeMicArgs(wav) {
    return ['--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream', `--use-file-for-fake-audio-capture=${wav}`];
}

/**
 * A browser context and page for one person, collecting console errors and page errors.
 * @param {import('playwright-core').Browser} browser
 * @param {{ phone?: boolean, storage?: Record<string, string> }} [opts] `storage`: localStorage
 *     entries set before any page script runs (e.g. `lectern.test`)
 */
export async function newPerson(browser, name, opts = {}) {
    const context = await browser.newContext(
        opts.phone
            ? { viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true }
            : { viewport: { width: 1280, height: 800 }, deviceScaleFactor: 1 },
    );
    if (opts.storage) {
        await context.addInitScript((entries) => {
            for (const [k, v] of Object.entries(entries)) localStorage.setItem(k, v);
        }, opts.storage);
    }
    const page = await context.newPage();
    const errors = [];
    page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
    page.on('console', (m) => {
        if (m.type() === 'error') errors.push(`console: ${m.text()}`);
    });
    return { name, context, page, errors };
}

/** Fills the name dialog on a meeting page and waits until the client is in sync. */
export async function joinMeetingPage(person, url) {
    const { page } = person;
    await page.goto(url);
    await page.locator('#join-name').fill(person.name);
    await page.locator('#join-name-btn').click();
    await waitView(page, (v) => v.status === 'online', `${person.name} online`);
}

/**
 * Waits until `pred(view)` holds for `window.lectern.view()` on the page.
 * @param {import('playwright-core').Page} page
 * @param {(view: any, state: any) => boolean} pred (runs in Node, polled)
 */
export async function waitView(page, pred, what, timeout = WAIT) {
    const deadline = Date.now() + timeout;
    let last = null;
    for (;;) {
        try {
            last = await page.evaluate(() => {
                const l = /** @type {any} */ (window).lectern;
                return l ? { view: l.view(), state: l.state() } : null;
            });
            if (last && pred(last.view, last.state)) return last;
        } catch (e) {
            last = { error: String(e) };
        }
        if (Date.now() > deadline) {
            throw new Error(`timed out waiting for ${what}; last seen: ${JSON.stringify(last)?.slice(0, 2000)}`);
        }
        await new Promise((r) => setTimeout(r, 100));
    }
}

/** Polls an async condition in Node. */
export async function until(fn, what, timeout = WAIT) {
    const deadline = Date.now() + timeout;
    let last;
    for (;;) {
        try {
            last = await fn();
            if (last) return last;
        } catch (e) {
            last = String(e);
        }
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; last: ${JSON.stringify(last)?.slice(0, 1000)}`);
        await new Promise((r) => setTimeout(r, 100));
    }
}

/** Polls `read()` until `pred` accepts what it answers; returns that. */
export function untilSeen(read, pred, what, timeout = WAIT) {
    return until(
        async () => {
            const v = await read();
            return v && pred(v) ? v : null;
        },
        what,
        timeout,
    );
}

/**
 * The end of a suite: the people's console errors shown, the browser closed (then the suite's
 * proxy, if any), the server's log shown when a test failed, the server stopped and the
 * suite's temp folder removed.
 */
export async function tearDown({ people = [], browser, proxy, srv, dir }) {
    const errors = people.filter(Boolean).flatMap((p) => p.errors.map((e) => `${p.name}: ${e}`));
    if (errors.length) console.log('browser console errors:\n' + errors.join('\n'));
    await browser?.close().catch(() => {});
    await proxy?.close();
    if (process.exitCode && srv) console.log(`--- server log ---\n${srv.logTail()}`);
    await srv?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
}

/** RGBA of the canvas `#id` at a page-normalised point of the box. */
export function pixel(page, id, x, y) {
    return page.evaluate(
        ([cid, nx, ny]) => {
            const c = /** @type {HTMLCanvasElement} */ (document.getElementById(cid));
            const ctx = /** @type {CanvasRenderingContext2D} */ (c.getContext('2d'));
            const px = Math.min(c.width - 1, Math.floor(nx * c.width));
            const py = Math.min(c.height - 1, Math.floor(ny * c.height));
            return Array.from(ctx.getImageData(px, py, 1, 1).data);
        },
        [id, x, y],
    );
}

/**
 * A coarse picture of the ink canvas: a grid (cols × rows) of cells, each '#' if any pixel in
 * it is inked (alpha > 64), else '.'. Independent of the canvas's pixel size.
 */
export function inkSignature(page, cols = 48, rows = 36) {
    return page.evaluate(
        ([gc, gr]) => {
            const c = /** @type {HTMLCanvasElement} */ (document.getElementById('ink-canvas'));
            const d = /** @type {CanvasRenderingContext2D} */ (c.getContext('2d')).getImageData(0, 0, c.width, c.height).data;
            const cells = new Array(gc * gr).fill('.');
            for (let y = 0; y < c.height; y++) {
                for (let x = 0; x < c.width; x++) {
                    if (d[(y * c.width + x) * 4 + 3] > 64) cells[Math.floor((y * gr) / c.height) * gc + Math.floor((x * gc) / c.width)] = '#';
                }
            }
            const out = [];
            for (let r = 0; r < gr; r++) out.push(cells.slice(r * gc, (r + 1) * gc).join(''));
            return out.join('\n');
        },
        [cols, rows],
    );
}

/** Whether two RGB(A) colours are within `tol` per channel. */
export function near(a, b, tol = 24) {
    return a.slice(0, 3).every((v, i) => Math.abs(v - b[i]) <= tol);
}

/** Client coordinates of a page-normalised point on the ink canvas (whole-page viewport). */
export async function clientPoint(page, x, y) {
    const box = await page.locator('#ink-canvas').boundingBox();
    if (!box) throw new Error('no ink canvas on screen');
    return [box.x + x * box.width, box.y + y * box.height];
}

/** Drags the mouse over the page through the given normalised points. */
export async function drag(page, points) {
    const [x0, y0] = await clientPoint(page, points[0][0], points[0][1]);
    await page.mouse.move(x0, y0);
    await page.mouse.down();
    for (const [nx, ny] of points.slice(1)) {
        const [x, y] = await clientPoint(page, nx, ny);
        await page.mouse.move(x, y, { steps: 8 });
    }
    await page.mouse.up();
}

// ---- a tiny PDF writer ---------------------------------------------------------------------

/**
 * A PDF whose pages are each filled with one colour (RGB 0..1), `w`×`h` points, and, where
 * `texts[i]` is given, that line of text (Helvetica) in page i+1's bottom-left corner.
 * @param {number[][]} colours
 * @param {string[]} [texts]
 */
export function makePdf(colours, w = 400, h = 300, texts = []) {
    const objects = [];
    const pageIds = colours.map((_, i) => 3 + i * 2);
    objects[1] = '<< /Type /Catalog /Pages 2 0 R >>';
    objects[2] = `<< /Type /Pages /Kids [${pageIds.map((id) => `${id} 0 R`).join(' ')}] /Count ${colours.length} >>`;
    // the font of the optional text lines, after the pages' objects
    const font = 3 + colours.length * 2;
    colours.forEach(([r, g, b], i) => {
        const id = pageIds[i];
        // a small dark line in the bottom-left corner, away from where tests read pixels
        const text = texts[i] ? `0 0 0 rg BT /F1 10 Tf 6 6 Td (${texts[i].replace(/[()\\]/g, '')}) Tj ET\n` : '';
        const content = `${r} ${g} ${b} rg 0 0 ${w} ${h} re f\n${text}`;
        const res = texts[i] ? `<< /Font << /F1 ${font} 0 R >> >>` : '<< >>';
        objects[id] = `<< /Type /Page /Parent 2 0 R /MediaBox [0 0 ${w} ${h}] /Contents ${id + 1} 0 R /Resources ${res} >>`;
        objects[id + 1] = `<< /Length ${content.length} >>\nstream\n${content}endstream`;
    });
    if (texts.some(Boolean)) objects[font] = '<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>';
    let out = '%PDF-1.4\n';
    const offsets = [];
    for (let i = 1; i < objects.length; i++) {
        offsets[i] = out.length;
        out += `${i} 0 obj\n${objects[i]}\nendobj\n`;
    }
    const xref = out.length;
    out += `xref\n0 ${objects.length}\n0000000000 65535 f \n`;
    for (let i = 1; i < objects.length; i++) out += `${String(offsets[i]).padStart(10, '0')} 00000 n \n`;
    out += `trailer\n<< /Size ${objects.length} /Root 1 0 R >>\nstartxref\n${xref}\n%%EOF\n`;
    return Buffer.from(out, 'latin1');
}

// ---- a TCP proxy whose connections can be cut -----------------------------------------------

/**
 * Forwards 127.0.0.1:<port> to `target` ("host:port"). `cut()` drops every open connection
 * and refuses new ones until `restore()`: a network outage, as the browser sees one.
 */
export async function startProxy(target) {
    const net = await import('node:net');
    const [host, port] = [target.slice(0, target.lastIndexOf(':')), Number(target.slice(target.lastIndexOf(':') + 1))];
    const open = new Set();
    let blocked = false;
    const server = net.createServer((client) => {
        if (blocked) {
            client.destroy();
            return;
        }
        const upstream = net.connect(port, host);
        open.add(client);
        open.add(upstream);
        const drop = () => {
            client.destroy();
            upstream.destroy();
            open.delete(client);
            open.delete(upstream);
        };
        client.on('error', drop);
        upstream.on('error', drop);
        client.on('close', drop);
        upstream.on('close', drop);
        client.pipe(upstream);
        upstream.pipe(client);
    });
    await new Promise((r) => server.listen(0, '127.0.0.1', () => r(undefined)));
    const addr = /** @type {import('node:net').AddressInfo} */ (server.address());
    return {
        url: `http://127.0.0.1:${addr.port}`,
        cut() {
            blocked = true;
            for (const s of open) s.destroy();
            open.clear();
        },
        restore() {
            blocked = false;
        },
        close() {
            blocked = true;
            for (const s of open) s.destroy();
            return new Promise((r) => server.close(() => r(undefined)));
        },
    };
}

/**
 * The most opaque ink pixel within `r` CSS pixels of a page-normalised point (a stroke's exact
 * pixels depend on how many pointer events the browser coalesced).
 */
export function inkNear(page, x, y, r = 3) {
    return page.evaluate(
        ([nx, ny, rad]) => {
            const c = /** @type {HTMLCanvasElement} */ (document.getElementById('ink-canvas'));
            const k = c.width / c.getBoundingClientRect().width;
            const R = Math.max(1, Math.round(rad * k));
            const cx = Math.floor(nx * c.width);
            const cy = Math.floor(ny * c.height);
            const d = /** @type {CanvasRenderingContext2D} */ (c.getContext('2d')).getImageData(cx - R, cy - R, 2 * R + 1, 2 * R + 1).data;
            let best = [0, 0, 0, 0];
            for (let i = 0; i < d.length; i += 4) if (d[i + 3] > best[3]) best = [d[i], d[i + 1], d[i + 2], d[i + 3]];
            return best;
        },
        [x, y, r],
    );
}

// Page colours of the test PDF (RGB 0..1), the same as 8-bit values, and the pen's default red.
export const COLOURS = [
    [0.2, 0.4, 0.8],
    [0.2, 0.7, 0.3],
    [0.9, 0.8, 0.2],
];
export const RGB = COLOURS.map((c) => c.map((v) => Math.round(v * 255)));
export const PEN_RED = [0xe5, 0x39, 0x35];

/** The page's sync state (the protocol's state form), through the read-only test hook. */
export function lecternState(page) {
    return page.evaluate(() => /** @type {any} */ (window).lectern.state());
}

/** Wait until each of `people` (label → person) shows `page` of `docId` on its canvas. */
export async function allShow(people, docId, page) {
    for (const [label, p] of Object.entries(people)) {
        await waitView(p.page, (v) => v.drawn === `${docId}:${page}`, `${label} to show page ${page}`);
    }
}

/** Create a meeting from the home page at `base`; returns the two links the page shows. */
export async function createMeeting(page, base, title) {
    await page.goto(`${base}/`);
    await page.locator('#create-title').fill(title);
    await page.locator('#create-btn').click();
    await page.locator('#create-result').waitFor({ state: 'visible' });
    const presenterUrl = await page.locator('#presenter-link').getAttribute('href');
    const attendeeUrl = await page.locator('#attendee-link').inputValue();
    return { presenterUrl, attendeeUrl };
}

