// Unit tests of the web client's UI-free parts that need no browser: the package reader
// (tar + sha256), the playout clock, and meeting-link parsing. `npm test` runs them with the
// protocol vectors.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { sha256Hex, untar } from '../js/protocol/package.js';
import { PlayoutClock } from '../js/protocol/clock.js';
import { meetingPath } from '../js/ui/home.js';

describe('package reader', () => {
    for (const format of ['ustar', 'gnu', 'pax']) {
        it(`reads a ${format} tar with manifest.json and pages/{n}.png`, async () => {
            const dir = mkdtempSync(join(tmpdir(), 'lectern-pkg-'));
            try {
                mkdirSync(join(dir, 'pages'));
                const files = {
                    'manifest.json': Buffer.from('{"id":"x"}'),
                    'pages/1.png': randomBytes(700),
                    'pages/2.png': randomBytes(1024),
                    'pages/10.png': randomBytes(1),
                };
                for (const [name, data] of Object.entries(files)) writeFileSync(join(dir, name), data);
                const tar = join(dir, 'pkg.tar');
                execFileSync('tar', [`--format=${format}`, '-cf', tar, '-C', dir, ...Object.keys(files)]);
                const buf = readFileSync(tar);
                const got = untar(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength));
                assert.deepEqual([...got.keys()].sort(), Object.keys(files).sort());
                for (const [name, data] of Object.entries(files)) {
                    assert.ok(Buffer.from(/** @type {Uint8Array} */ (got.get(name))).equals(data), name);
                    assert.equal(await sha256Hex(/** @type {Uint8Array} */ (got.get(name))), createHash('sha256').update(data).digest('hex'));
                }
            } finally {
                rmSync(dir, { recursive: true, force: true });
            }
        });
    }

    it('refuses a truncated archive', () => {
        const header = new Uint8Array(512);
        header.set(new TextEncoder().encode('pages/1.png'), 0);
        header.set(new TextEncoder().encode('00000001000 '), 124); // 512 bytes of data that are not there
        header[156] = 48;
        assert.throws(() => untar(header.buffer), /truncated/);
    });
});

describe('playout clock', () => {
    it('applies events in order at once when the delay is 0', () => {
        const seen = [];
        const clock = new PlayoutClock((e) => seen.push(e.seq));
        clock.push({ seq: 1, t: 100 });
        clock.push({ seq: 2, t: 50 }); // an older t never overtakes
        clock.push({ seq: 3, t: 400 });
        assert.deepEqual(seen, [1, 2, 3]);
    });

    it('holds events until playout time reaches t + delay, in order', async () => {
        let now = 1000;
        const seen = [];
        const clock = new PlayoutClock((e) => seen.push(e.seq), { now: () => now, delay: 200 });
        clock.push({ seq: 1, t: 0 });
        now = 1100;
        clock.push({ seq: 2, t: 100 });
        assert.deepEqual(seen, []);
        now = 1200;
        clock.pump();
        assert.deepEqual(seen, [1]);
        now = 1300;
        clock.pump();
        assert.deepEqual(seen, [1, 2]);
        clock.push({ seq: 3, t: 5000 });
        clock.flush();
        assert.deepEqual(seen, [1, 2, 3]);
        clock.cancel();
    });

    it('continues the presenter timeline from the last event seen', () => {
        let now = 0;
        const clock = new PlayoutClock(() => {}, { now: () => now });
        clock.observe(7000);
        now = 250;
        assert.equal(clock.presenterNow(), 7250);
    });
});

describe('meeting links', () => {
    it('accepts a number with spaces or dashes, or a link with its key', () => {
        assert.equal(meetingPath('123 456 789'), '/m/123456789');
        assert.equal(meetingPath('123-456-789'), '/m/123456789');
        assert.equal(meetingPath('https://lectern.example/m/123456789'), '/m/123456789');
        assert.equal(meetingPath('http://h/m/123456789?key=k-abc'), '/m/123456789?key=k-abc');
        assert.equal(meetingPath('hello'), null);
    });
});
