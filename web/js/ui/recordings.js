// The recordings page (/recordings): the recordings of meetings created from this browser
// (their host keys are kept in localStorage under `lectern.hostKeys`), every public one, or the
// one a share link names (`?meeting=N&token=T`). Owners choose who may see a recording and
// may delete it. The API is in docs/RECORDINGS.md.

import { downloads } from './recording-downloads.js';

const KEYS = 'lectern.hostKeys';

/** @typedef {{number: string, title: string, created: number, duration_ms: number, pages: number,
 *   access: string, owner: boolean, link?: string}} Recording */

/** @returns {Record<string, string>} meeting number → host key */
export function hostKeys() {
    try {
        return JSON.parse(localStorage.getItem(KEYS) || '{}') || {};
    } catch {
        return {};
    }
}

/** Remembers a meeting this browser may administer. @param {string} number @param {string} key */
export function rememberHostKey(number, key) {
    const keys = hostKeys();
    keys[number] = key;
    localStorage.setItem(KEYS, JSON.stringify(keys));
}

/** @param {Response} res */
async function body(res) {
    const data = await res.json().catch(() => null);
    if (!res.ok) throw new Error(data?.message || `HTTP ${res.status}`);
    return data;
}

/** @param {number} ms */
function duration(ms) {
    const s = Math.round(ms / 1000);
    const h = Math.floor(s / 3600);
    const m = Math.floor((s % 3600) / 60);
    const pad = (/** @type {number} */ n) => String(n).padStart(2, '0');
    return h ? `${h}:${pad(m)}:${pad(s % 60)}` : `${m}:${pad(s % 60)}`;
}

/** The query string that proves access: the host key, else the link token. @param {Recording} r */
function credentials(r, token) {
    const key = hostKeys()[r.number];
    if (key) return `key=${encodeURIComponent(key)}`;
    return token ? `token=${encodeURIComponent(token)}` : '';
}

/** @param {string} tag @param {Record<string, string>} [attrs] @param {string} [text] */
function el(tag, attrs = {}, text = '') {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
    if (text) e.textContent = text;
    return e;
}

/** @param {Recording} r @param {string} token */
function row(r, token) {
    const tr = el('tr', { 'data-number': r.number });
    const cred = credentials(r, token);
    const title = el('td');
    title.append(el('strong', {}, r.title || `Meeting ${r.number}`), ' ');
    title.append(el('a', { href: `/recordings/${r.number}/replay?${cred}`, class: 'replay' }, 'Replay'), ' ');
    title.append(downloads(r.number, cred));
    tr.append(title);
    tr.append(el('td', {}, new Date(r.created * 1000).toLocaleString()));
    tr.append(el('td', {}, duration(r.duration_ms)));
    tr.append(el('td', {}, String(r.pages)));
    const who = el('td');
    const actions = el('td');
    if (r.owner) {
        const select = /** @type {HTMLSelectElement} */ (el('select', { 'aria-label': 'Who can see it', class: 'access' }));
        for (const [value, label] of [['owner', 'Only me'], ['link', 'Anyone with the link'], ['public', 'Everyone']]) {
            const option = /** @type {HTMLOptionElement} */ (el('option', { value }, label));
            option.selected = value === r.access;
            select.append(option);
        }
        const link = /** @type {HTMLInputElement} */ (el('input', { readonly: '', class: 'share-link', size: '30' }));
        const showLink = () => {
            link.hidden = select.value === 'owner';
            link.value = r.link ? new URL(r.link, location.href).href : '';
        };
        select.addEventListener('change', async () => {
            const res = await fetch(`/api/meetings/${r.number}/recording/access?${cred}`, {
                method: 'PUT',
                headers: { 'Content-Type': 'application/json' },
                body: JSON.stringify({ access: select.value }),
            })
                .then(body)
                .catch(showError);
            if (res) r.link = res.link;
            showLink();
        });
        showLink();
        who.append(select, ' ', link);
        const del = el('button', { type: 'button', class: 'delete' }, 'Delete');
        del.addEventListener('click', async () => {
            if (!confirm(`Delete the recording of “${r.title || r.number}”? This cannot be undone.`)) return;
            const res = await fetch(`/api/meetings/${r.number}/recording?${cred}`, { method: 'DELETE' });
            if (res.ok) tr.remove();
            else showError(new Error((await res.json().catch(() => null))?.message || `HTTP ${res.status}`));
        });
        actions.append(del);
    } else {
        who.textContent = r.access === 'public' ? 'Everyone' : 'Shared with you';
    }
    tr.append(who, actions);
    return tr;
}

/** @param {any} e */
function showError(e) {
    const p = /** @type {HTMLElement} */ (document.getElementById('rec-error'));
    p.textContent = String(e?.message ?? e);
    p.hidden = false;
}

async function main() {
    const params = new URLSearchParams(location.search);
    const meeting = params.get('meeting');
    const key = params.get('key');
    const token = params.get('token') ?? '';
    if (meeting && key) rememberHostKey(meeting, key);
    /** @type {Recording[]} */
    let items;
    if (meeting && !key) {
        items = [await fetch(`/api/meetings/${meeting}/recording?token=${encodeURIComponent(token)}`).then(body)];
    } else {
        const keys = Object.values(hostKeys()).join(',');
        items = (await fetch(`/api/recordings?keys=${encodeURIComponent(keys)}`).then(body)).recordings;
    }
    const rows = /** @type {HTMLElement} */ (document.getElementById('rec-rows'));
    rows.replaceChildren(...items.map((r) => row(r, token)));
    /** @type {HTMLElement} */ (document.getElementById('rec-table')).hidden = items.length === 0;
    /** @type {HTMLElement} */ (document.getElementById('rec-empty')).hidden = items.length > 0;
}

// home.js imports this module for rememberHostKey: run only on the recordings page
if (typeof document !== 'undefined' && document.getElementById('rec-rows')) main().catch(showError);
