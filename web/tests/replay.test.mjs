// The replay's UI-free part (web/js/replay/model.js): a recording description answers "what
// was shown at media time T" through the protocol's reducer, whatever order the questions come
// in (seeks back and forth, checkpoints), and finds slide text and chat.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { DOMParser } from '@xmldom/xmldom';

import { ReplayClock } from '../js/replay/clock.js';
import { CHECKPOINT_EVERY, Recording, clockText, pauseCuts, shownTime } from '../js/replay/model.js';
import { toXml } from '../js/protocol/codec.js';
import { applyElement, initialState, snapshotNode } from '../js/protocol/state.js';

const DOC = 'a1'.repeat(32);
const parse = (/** @type {string} */ xml) => /** @type {any} */ (new DOMParser().parseFromString(xml, 'text/xml')).documentElement;
const ev = (seq, t, body) => ({ seq, t, type: 'x', xml: `<event xmlns='urn:lectern:sync:1' seq='${seq}' t='${t}'>${body}</event>` });
const pages = [1, 2, 3, 4].map((n) => `<p n='${n}' hash='${String(n).padStart(2, '0').repeat(32)}' w='1280' h='720'/>`).join('');
const DOCUMENT = `<document id='${DOC}' pages='4' base='/x/' title='Deck'>${pages}</document>`;
const shape = (id, page) => `<shape id='${id}' page='${page}' kind='line' color='#1e88e5' width='0.003' x1='0.1' y1='0.1' x2='0.4' y2='0.3'/>`;

/** A talk: share at 100, turns at 1000/2000/3000 (seq gaps: audio batches), ink on page 4. */
function talk(extra = []) {
    const events = [
        ev(1, 0, "<presenter nick='Pat'/>"),
        ev(2, 100, DOCUMENT),
        ev(5, 1000, "<page n='2'/>"),
        ev(6, 1500, shape('a', 2)),
        ev(9, 2000, "<page n='3'/>"),
        ev(12, 3000, "<page n='4'/>"),
        ev(13, 3200, shape('b', 4)),
        ev(14, 3300, shape('c', 4)),
        ev(15, 3400, "<erase page='4' ids='b'/>"),
        ...extra,
    ];
    return {
        format: 'lectern-recording/1',
        title: 'Deck talk',
        duration_ms: 5000,
        audio: { file: 'audio.ogg', duration_ms: 4800, packets: 240 },
        documents: [{ id: DOC, title: 'Deck', pages: [1, 2, 3, 4].map((n) => ({ n, file: `pages/${DOC}/${n}.webp`, text: n === 3 ? 'Costs went DOWN in every région' : `Slide ${n}` })) }],
        chapters: [100, 1000, 2000, 3000].map((t, i) => ({ t, document: DOC, page: i + 1, title: `Deck — page ${i + 1}` })),
        events,
        chat: [{ t: 2500, nick: 'Ann', body: 'Which region fell most?' }, { t: 800, nick: 'Bob', body: 'hello' }],
    };
}

describe('replay model', () => {
    it('answers the page and ink shown at any time, seeking back and forth', () => {
        const rec = new Recording(talk(), { parse });
        const at = (t) => {
            const v = rec.viewAt(t);
            return `${v.page}:${v.items.join(',')}`;
        };
        const expected = [[0, '0:'], [99, '0:'], [100, '1:'], [1499, '2:'], [1500, '2:a'], [2000, '3:'], [3250, '4:b'], [3300, '4:b,c'], [3400, '4:c'], [9999, '4:c']];
        for (const [t, want] of expected) assert.equal(at(t), want, `at ${t}`);
        for (const [t, want] of expected.slice().reverse()) assert.equal(at(t), want, `back at ${t}`);
        assert.equal(rec.viewAt(3100).document, DOC);
        assert.equal(rec.nextAfter(2000), 3000);
        assert.equal(rec.nextAfter(3400), Infinity);
        assert.equal(rec.hasAudio, true);
        assert.equal(rec.duration, 5000);
    });

    it('a long recording seeks through checkpoints to the same state as a replay from the start', () => {
        const strokes = [];
        for (let i = 0; i < CHECKPOINT_EVERY * 3; i++) strokes.push(ev(16 + i, 4000 + i, shape(`s${i}`, 4)));
        const rec = new Recording(talk(strokes), { parse });
        assert.equal(rec.checkpoints.length, 4);
        const fresh = (t) => new Recording(talk(strokes), { parse }).viewAt(t);
        for (const t of [4000 + 150, 4000 + 10, 4000 + CHECKPOINT_EVERY * 2, 3300, 4000 + 191]) {
            assert.deepEqual(rec.viewAt(t), fresh(t), `at ${t}`);
        }
        assert.equal(rec.viewAt(1e9).items.length, 1 + CHECKPOINT_EVERY * 3);
    });

    it('a presenter clock that stepped back never reorders events', () => {
        const rec = new Recording(talk([ev(16, 3350, "<page n='1'/>"), ev(17, 3360, "<page n='2'/>")]), { parse });
        // seq 15 (erase, t 3400) precedes them: they wait for it
        assert.equal(rec.viewAt(3380).page, 4);
        assert.equal(rec.viewAt(3400).page, 2);
    });

    it('finds slide text and chat, accent- and case-insensitively, in time order', () => {
        const rec = new Recording(talk(), { parse });
        const hits = rec.search('region');
        assert.deepEqual(hits.map((h) => [h.kind, h.t]), [['slide', 2000], ['chat', 2500]]);
        assert.equal(hits[0].page, 3);
        assert.deepEqual(rec.search('costs down').map((h) => h.t), [2000]);
        assert.deepEqual(rec.search('  '), []);
        assert.deepEqual(rec.chatUntil(900).map((c) => c.nick), ['Bob']);
    });

    it('a recording without audio or events still answers', () => {
        const rec = new Recording({ title: '', meeting: '123', events: [], audio: null }, { parse });
        assert.equal(rec.hasAudio, false);
        assert.equal(rec.title, 'Meeting 123');
        assert.deepEqual(rec.viewAt(10), { t: 10, document: null, page: 0, items: [], pointer: null });
        assert.equal(clockText(3723000), '1:02:03');
        assert.equal(clockText(61000), '1:01');
    });

    it('marks each pause where the recording was cut, in order, inside the recording', () => {
        const pauses = [
            { at: 3000, from: 9000, to: 12000 },
            { at: 1000, from: 1000, to: 4000 },
            { at: 3000.4, from: 12500, to: 13000 },
            { at: 7000, from: 20000, to: null },
            { at: 'x' },
        ];
        assert.deepEqual(pauseCuts(/** @type {any} */ (pauses), 5000), [1000, 3000, 5000]);
        assert.deepEqual(pauseCuts(undefined, 5000), []);
        const rec = new Recording({ ...talk(), pauses: [{ at: 2500, from: 2500, to: 8000 }] }, { parse });
        assert.deepEqual(rec.cuts, [2500]);
        assert.deepEqual(new Recording(talk(), { parse }).cuts, []);
    });

    it('a recording deleted mid-meeting starts from the snapshot of that moment, and its events follow on', () => {
        // the meeting when its recording was deleted: page 2 with shape a, after seq 4
        const then = initialState();
        const before = ["<presenter nick='Pat'/>", DOCUMENT, "<page n='2'/>", shape('a', 2)];
        for (const [i, body] of before.entries()) applyElement(then, parse(ev(i + 1, i * 100, body).xml));
        const rec = new Recording(
            {
                ...talk(),
                start: toXml(snapshotNode(then, '123456789')),
                events: [ev(5, 500, "<page n='3'/>"), ev(6, 700, shape('d', 3))],
                pauses: [{ at: 0, from: 0, to: 61000 }],
            },
            { parse },
        );
        const at = (t) => {
            const v = rec.viewAt(t);
            return `${v.document === DOC ? v.page : 'none'}:${v.items.join(',')}`;
        };
        const expected = [[0, '2:a'], [499, '2:a'], [500, '3:'], [700, '3:d']];
        for (const [t, want] of expected) assert.equal(at(t), want, `at ${t}`);
        for (const [t, want] of expected.slice().reverse()) assert.equal(at(t), want, `back at ${t}`);
        assert.deepEqual(rec.cuts, [], 'the cut before the start is no mark');
    });

    it('shows the voice\'s time less the way to the ear, never before the last seek, exact when paused', () => {
        assert.equal(shownTime(1000, 30, 0, false), 970);
        assert.equal(shownTime(1000, 30, 990, false), 990, 'not before where play started or the seek landed');
        assert.equal(shownTime(1000, 30, 0, true), 1000, 'paused or seeking: exactly the clock');
        assert.equal(shownTime(20, 30, 0, false), 0, 'never below 0');
        assert.equal(shownTime(1000, 0, 0, false), 1000, 'latency unknown');
        assert.equal(shownTime(1000, 30, 2000, false), 1000, 'never ahead of the clock');
    });

    it('a seek to a whole ms reads back as that ms, though the element keeps truncated µs', () => {
        // Chromium's media time is whole µs, cut toward zero: 8.261 s reads back as 8.260999 s
        class Element extends EventTarget {
            us = 0;
            paused = true;
            duration = 60;
            playbackRate = 1;
            get currentTime() {
                return this.us / 1e6;
            }
            set currentTime(s) {
                this.us = Math.trunc(s * 1e6);
            }
        }
        const audio = new Element();
        const clock = new ReplayClock(/** @type {any} */ (audio), 60000);
        const late = [];
        for (let ms = 1000; ms < 20000; ms += 137) {
            clock.seek(ms);
            if (audio.currentTime * 1000 < ms) late.push(ms);
            assert.equal(clock.now(), ms);
        }
        assert.ok(late.length > 0, 'the element read some seeks back early');
        // once the element moves on, its own time
        audio.us += 20000;
        assert.equal(clock.now(), audio.us / 1e3);
    });
});
