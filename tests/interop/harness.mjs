// Start the real `lectern` binary (docs/TEST-CONTRACT.md) and the slixmpp TCP helper
// from Node tests. Every wait is bounded; logs are kept for failure messages.
import { spawn, execFileSync } from 'node:child_process';
import { accessSync, constants, mkdirSync, mkdtempSync, openSync, closeSync, readFileSync, rmSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const repoRoot = resolve(here, '..', '..');

export const LECTERN_BIN = process.env.LECTERN_BIN || join(repoRoot, 'target', 'debug', 'lectern');
export const PYTHON = process.env.INTEROP_PYTHON || join(here, '.venv', 'bin', 'python');

function tail(text, lines = 200) {
    // eslint-disable-next-line no-control-regex
    return text.replace(/\x1b\[[0-9;]*[A-Za-z]/g, '').split('\n').slice(-lines).join('\n');
}

/** Resolve when `pred` holds for something pushed into `list`, or reject after `ms`. */
export class Waiter {
    constructor(name) {
        this.name = name;
        this.items = [];
        this.wakers = new Set();
    }
    push(item) {
        this.items.push(item);
        for (const w of this.wakers) w();
    }
    wait(pred, what, ms = 10000) {
        return new Promise((resolvePromise, reject) => {
            let seen = 0;
            const check = () => {
                for (; seen < this.items.length; seen++) {
                    if (pred(this.items[seen])) {
                        done();
                        resolvePromise(this.items[seen]);
                        return;
                    }
                }
            };
            const timer = setTimeout(() => {
                done();
                reject(new Error(`${this.name}: timed out after ${ms} ms waiting for ${what}`));
            }, ms);
            const done = () => {
                clearTimeout(timer);
                this.wakers.delete(check);
            };
            this.wakers.add(check);
            check();
        });
    }
}

/** `lectern serve --http 127.0.0.1:0 --xmpp 127.0.0.1:0 --domain localhost --data DIR`. */
export async function startServer({ timeoutMs = 30000 } = {}) {
    accessSync(LECTERN_BIN, constants.X_OK);
    const dir = mkdtempSync('/tmp/lectern-it-js-'); // short: DIR/admin.sock must fit a socket path
    const data = join(dir, 'data');
    mkdirSync(data);
    const stderrPath = join(dir, 'server.stderr.log');
    const errFd = openSync(stderrPath, 'w');
    const proc = spawn(
        LECTERN_BIN,
        ['serve', '--http', '127.0.0.1:0', '--xmpp', '127.0.0.1:0', '--domain', 'localhost', '--data', data],
        { stdio: ['ignore', 'pipe', errFd], env: { RUST_LOG: 'info,lectern=debug', NO_COLOR: '1', ...process.env } },
    );
    closeSync(errFd);
    // Never leave a server behind, even if the test process dies.
    const reap = () => proc.exitCode === null && proc.signalCode === null && proc.kill('SIGKILL');
    process.once('exit', reap);
    const stdout = [];
    const srv = {
        proc,
        dir,
        data,
        domain: 'localhost',
        guestDomain: 'guest.localhost',
        cacert: join(data, 'tls', 'cert.pem'),
        http: null,
        xmpp: null,
        exitCode: null,
        logTail() {
            try {
                return tail(readFileSync(stderrPath, 'utf8'));
            } catch {
                return '(no stderr log)';
            }
        },
        addUser(jid, password) {
            try {
                execFileSync(LECTERN_BIN, ['user', 'add', jid, '--password', password, '--data', data], {
                    timeout: 30000,
                    stdio: ['ignore', 'pipe', 'pipe'],
                });
            } catch (e) {
                throw new Error(`lectern user add ${jid} failed (${e.status}): ${e.stderr}`);
            }
        },
        async stop({ keep = false } = {}) {
            if (srv.exitCode === null) {
                const exited = new Promise((r) => proc.once('exit', r));
                proc.kill('SIGTERM');
                const timer = setTimeout(() => proc.kill('SIGKILL'), 10000);
                await exited;
                clearTimeout(timer);
            }
            if (!keep) rmSync(dir, { recursive: true, force: true });
        },
    };
    proc.on('exit', (code, signal) => {
        srv.exitCode = code ?? signal;
    });
    const listening = new Promise((resolvePromise, reject) => {
        const timer = setTimeout(
            () => reject(new Error(`server printed no listening lines in ${timeoutMs} ms: ${JSON.stringify(stdout)}`)),
            timeoutMs,
        );
        const rl = createInterface({ input: proc.stdout });
        rl.on('line', (line) => {
            stdout.push(line);
            const m = /^(http|xmpp) listening on (\S+):(\d+)\s*$/.exec(line.trim());
            if (m) srv[m[1]] = { host: m[2].replace(/^\[|\]$/g, ''), port: Number(m[3]) };
            if (srv.http && srv.xmpp) {
                clearTimeout(timer);
                resolvePromise();
            }
        });
        proc.once('exit', (code) => {
            clearTimeout(timer);
            reject(new Error(`server exited (${code}) before listening:\n${srv.logTail()}`));
        });
        proc.once('error', (e) => {
            clearTimeout(timer);
            reject(e);
        });
    });
    try {
        await listening;
    } catch (err) {
        reap();
        throw err;
    }
    return srv;
}

/** The slixmpp TCP client (tcp_echo_client.py), logged in as `jid`; echoes every message
 * (`extraArgs` e.g. ['--no-echo', '--presence'] for a MUC occupant). */
export async function startTcpEcho(srv, jid, password, { timeoutMs = 20000, extraArgs = [] } = {}) {
    const proc = spawn(
        PYTHON,
        [
            join(here, 'tcp_echo_client.py'),
            '--host', srv.xmpp.host,
            '--port', String(srv.xmpp.port),
            '--jid', jid,
            '--password', password,
            '--cafile', srv.cacert,
            '--lifetime', '100',
            ...extraArgs,
        ],
        { stdio: ['pipe', 'pipe', 'pipe'] },
    );
    process.once('exit', () => proc.exitCode === null && proc.signalCode === null && proc.kill('SIGKILL'));
    const events = new Waiter('slixmpp TCP client');
    let stderr = '';
    proc.stderr.setEncoding('utf8');
    proc.stderr.on('data', (d) => {
        stderr += d;
    });
    createInterface({ input: proc.stdout }).on('line', (line) => {
        try {
            events.push(JSON.parse(line));
        } catch {
            events.push({ event: 'garbage', line });
        }
    });
    let exitCode = null;
    proc.on('exit', (code, signal) => {
        exitCode = code ?? signal;
        events.push({ event: 'exit', code: exitCode });
    });
    const echo = {
        proc,
        events,
        jid: null,
        logTail: () => tail(stderr, 80),
        send(msg) {
            proc.stdin.write(JSON.stringify({ send: msg }) + '\n');
        },
        async stop() {
            if (exitCode !== null) return;
            const exited = new Promise((r) => proc.once('exit', r));
            proc.stdin.end(JSON.stringify({ quit: true }) + '\n');
            const timer = setTimeout(() => proc.kill('SIGKILL'), 8000);
            await exited;
            clearTimeout(timer);
        },
    };
    const first = await events.wait(
        (e) => ['online', 'failed', 'exit'].includes(e.event),
        'the slixmpp client to come online',
        timeoutMs,
    );
    if (first.event !== 'online') {
        throw new Error(`slixmpp TCP client did not log in: ${JSON.stringify(first)}\n${echo.logTail()}`);
    }
    echo.jid = first.jid;
    echo.online = first;
    return echo;
}
