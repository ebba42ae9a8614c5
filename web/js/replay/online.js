// The replay page (/recordings/{number}/replay?key=…|token=…): the recording's description and
// voice from the recording API (which checks the key or token), page images and thumbnails from
// the documents API under the names the zip gives them.

import { Player } from './player.js';

/** `pages/DOC/N.EXT` → the page image, `pages/DOC/N.thumb.EXT` → its thumbnail. @param {string} path */
export function documentUrl(path) {
    const thumb = /^pages\/([0-9a-f]{64})\/(\d+)\.thumb\.(\w+)$/.exec(path);
    if (thumb) return `/api/documents/${thumb[1]}/thumbs/${thumb[2]}.${thumb[3]}`;
    const page = /^pages\/([0-9a-f]{64})\/([\w.]+)$/.exec(path);
    return page ? `/api/documents/${page[1]}/pages/${page[2]}` : 'data:,';
}

async function main() {
    const root = /** @type {HTMLElement} */ (document.getElementById('replay'));
    const number = root.dataset.number ?? '';
    const params = new URLSearchParams(location.search);
    const key = params.get('key');
    const token = params.get('token');
    const cred = key ? `key=${encodeURIComponent(key)}` : token ? `token=${encodeURIComponent(token)}` : '';
    const api = `/api/meetings/${number}/recording`;
    const res = await fetch(`${api}/timeline.json?${cred}`);
    const body = await res.json().catch(() => null);
    if (!res.ok) throw new Error(body?.message || `HTTP ${res.status}`);
    document.title = `${body.title || `Meeting ${number}`} · Replay · Lectern`;
    const player = new Player(root, body, {
        page: documentUrl,
        audio: (file) => `${api}/${file}?${cred}`,
        // same-origin: the voice plays through the player's AudioContext (output.js)
        route: true,
    });
    player.expose();
}

main().catch((e) => {
    const p = /** @type {HTMLElement} */ (document.getElementById('replay-error'));
    p.textContent = `This recording cannot be replayed: ${e?.message ?? e}`;
    p.hidden = false;
});
