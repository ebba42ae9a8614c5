// Replays protocol/vectors/*.xml through the JavaScript codec and reducer and compares the state
// form with the vectors' .json byte for byte; the Rust crate replays the same files
// (protocol/tests/vectors.rs), so passing both means both reach identical state.

import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { test } from 'node:test';

import { DOMParser } from '@xmldom/xmldom';

import {
    NS, ProtocolError, eventNode, formatFixed, parseEvent, parseFixed, parsePayload, payloadNode, toElement, toStrophe, toXml,
} from '../js/protocol/codec.js';
import { applyElement, initialState, reduce, snapshotNode, stateFromSnapshot, stateJson } from '../js/protocol/state.js';

const DIR = new URL('../../protocol/vectors/', import.meta.url);
const names = readdirSync(DIR).filter((f) => f.endsWith('.xml')).sort();

/** @param {string} xml */
const parse = (xml) => new DOMParser().parseFromString(xml, 'text/xml').documentElement;
const elements = (el) => Array.from(el.childNodes).filter((n) => n.nodeType === 1);

function load(name) {
    const root = parse(readFileSync(new URL(name, DIR), 'utf8'));
    assert.equal(root.localName, 'vector');
    let state = initialState();
    const events = [];
    for (const el of elements(root)) {
        if (el.localName === 'note') continue;
        if (el.localName === 'snapshot') state = stateFromSnapshot(el);
        else events.push(el);
    }
    return { state, events };
}

function replay(state, events) {
    for (const el of events) {
        const err = applyElement(state, el);
        if (err?.code === 'sequence') throw err;
    }
}

test('there are at least 8 vectors', () => assert.ok(names.length >= 8, names.join(', ')));

for (const name of names) {
    test(`vector ${name} reaches its expected state`, () => {
        const { state, events } = load(name);
        replay(state, events);
        const want = readFileSync(new URL(name.replace(/\.xml$/, '.json'), DIR), 'utf8');
        assert.equal(stateJson(state) + '\n', want);
    });

    test(`vector ${name}: a snapshot at any point, then the rest, gives the same state`, () => {
        const { state: start, events } = load(name);
        const full = structuredClone(start);
        replay(full, events);
        const prefix = structuredClone(start);
        for (let split = 0; split <= events.length; split++) {
            if (split > 0) replay(prefix, events.slice(split - 1, split));
            const joiner = stateFromSnapshot(parse(toXml(snapshotNode(prefix, '123456789'))));
            assert.equal(stateJson(joiner), stateJson(prefix), `snapshot at ${split}`);
            replay(joiner, events.slice(split));
            assert.equal(stateJson(joiner), stateJson(full), `joined after event ${split}`);
        }
    });

    test(`vector ${name}: every valid event survives encode → decode`, () => {
        const { events } = load(name);
        for (const el of events) {
            let ev;
            try {
                ev = parseEvent(el);
            } catch (e) {
                assert.ok(e instanceof ProtocolError, String(e));
                continue;
            }
            assert.deepEqual(parseEvent(parse(toXml(eventNode(ev)))), ev);
        }
    });
}

test('decimals parse exactly and print shortest, as in Rust', () => {
    for (const [input, printed] of [['0.1234', '0.1234'], ['.1234', '0.1234'], ['1', '1'], ['1.5000', '1.5'], ['-0.5', '-0.5'], ['-.0005', '-0.0005'], ['-0', '0'], ['99999.9999', '99999.9999']]) {
        assert.equal(String(parseFixed(input, 'x')), printed, input);
        assert.equal(formatFixed(parseFixed(input, 'x')), printed, input);
    }
    for (const bad of ['', '.', '-', '1.', '+1', '1e3', '0.12345', '100000', ' 1', '1,5', '--1']) {
        assert.throws(() => parseFixed(bad, 'x'), ProtocolError, JSON.stringify(bad));
    }
    assert.equal(formatFixed(0.123456), '0.1235');
});

const payload = (xml) => parsePayload(parse(xml.replace(' ', ` xmlns='${NS}' `)));

test('out-of-range values name their attribute, as in Rust', () => {
    const cases = [
        ["<page n='0'/>", 'n'],
        ["<viewport x='1.1' y='0' zoom='2'/>", 'x'],
        ["<viewport x='0' y='0' zoom='9'/>", 'zoom'],
        ["<pointer page='1' x='2' y='0'/>", 'x'],
        ["<pointer hide='true' page='1'/>", 'hide'],
        ["<pointer hide='false'/>", 'hide'],
        ["<shape id='a' page='1' kind='line' color='#000000' width='0.6' x1='0' y1='0' x2='1' y2='1'/>", 'width'],
        ["<shape id='a' page='1' kind='line' color='#000000' width='0.1' x1='0' y1='-0.6' x2='1' y2='1'/>", 'y1'],
        ["<text id='a' page='1' color='#000000' size='0.03' x='0' y='0'></text>", 'text'],
        ["<stroke-begin id='a b' page='1' tool='pen' color='#000000' width='0.1'>0,0</stroke-begin>", 'id'],
        ["<stroke-begin id='a' page='1' tool='brush' color='#000000' width='0.1'>0,0</stroke-begin>", 'tool'],
        ["<stroke-begin id='a' page='1' tool='pen' color='red' width='0.1'>0,0</stroke-begin>", 'color'],
        ["<stroke-extend id='a'>0,0 1.6,0</stroke-extend>", 'points'],
        ["<presenter nick=''/>", 'nick'],
    ];
    for (const [xml, attr] of cases) {
        assert.throws(() => payload(xml), (e) => e instanceof ProtocolError && e.code === 'invalid' && e.attr === attr, xml);
    }
    const many = Array(513).fill('0.5,0.5').join(' ');
    assert.throws(() => payload(`<stroke-extend id='s'>${many}</stroke-extend>`), (e) => e.code === 'too-large');
    const text = 'é'.repeat(1024); // code points count, not UTF-16 units or bytes
    assert.equal(payload(`<text id='a' page='1' color='#000000' size='0.03' x='0' y='0'>${text}</text>`).text, text);
    assert.throws(() => payload(`<text id='a' page='1' color='#000000' size='0.03' x='0' y='0'>${text}é</text>`), (e) => e.code === 'too-large');
});

test('events hold exactly one payload; requests carry meeting instead of seq', () => {
    const ev = (inner, attrs = "seq='1' t='1'") => parseEvent(parse(`<event xmlns='${NS}' ${attrs}>${inner}</event>`));
    assert.deepEqual(ev("<page n='3'/>", "meeting='123456789' t='5120'"), { seq: undefined, t: 5120, meeting: '123456789', payload: { type: 'page', n: 3 } });
    for (const [inner, attrs] of [['', undefined], ["<page n='1'/><page n='2'/>", undefined], ['<sparkle/>', undefined], ["<page n='1'/>", "seq='+1' t='1'"], ["<page n='1'/>", "seq='0' t='1'"], ["<page n='1'/>", "meeting='12' t='1'"], ["<page n='1'/>", "seq='1'"], ["x<page n='1'/>", undefined]]) {
        assert.throws(() => ev(inner, attrs), ProtocolError, `${inner} ${attrs}`);
    }
});

test('built elements work as XML text, DOM elements and strophe.js builder calls', () => {
    const event = { seq: 7, t: 40, payload: /** @type {any} */ ({ type: 'stroke-begin', id: 's1', page: 2, tool: 'pen', color: '#e53935', width: 0.004, points: [[0.1, 0.123456], [1, 0]] }) };
    const xml = toXml(eventNode(event));
    assert.equal(xml, `<event xmlns='${NS}' seq='7' t='40'><stroke-begin id='s1' page='2' tool='pen' color='#e53935' width='0.004'>0.1,0.1235 1,0</stroke-begin></event>`);
    const doc = new DOMParser().parseFromString(`<message xmlns='jabber:client'/>`, 'text/xml');
    const el = toElement(doc, eventNode(event));
    assert.equal(el.namespaceURI, NS);
    assert.equal(parseEvent(el).payload.points[1][0], 1);
    const calls = [];
    const builder = { c: (n, a) => (calls.push(['c', n, a]), builder), t: (s) => (calls.push(['t', s]), builder), up: () => (calls.push(['up']), builder) };
    toStrophe(builder, payloadNode({ type: 'erase', page: 1, ids: ['a', 'b'] }));
    assert.deepEqual(calls, [['c', 'erase', { page: '1', ids: 'a b' }], ['up']]);
});

test('reduce leaves the old state alone and advances seq even for an ignored event', () => {
    const s0 = initialState();
    const s1 = reduce(s0, { seq: 1, t: 0, payload: { type: 'page', n: 1 } });
    assert.equal(s0.seq, 0);
    assert.equal(stateJson(s1), '{"seq":1,"presenter":null,"document":null,"page":0,"viewport":{"x":0,"y":0,"zoom":1},"pointer":null,"recording_paused":false,"ink":{}}');
    assert.equal(reduce(s1, { seq: 3, t: 0, payload: { type: 'page', n: 1 } }).seq, 1);
});
