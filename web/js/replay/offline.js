// The zip's index.html: the recording description is inline (a `<script type="application/json"
// id="recording">`), the page images and `audio.ogg` sit next to the page. This module is linked
// into index.html's one classic script at export time (backend/src/recording/offline.rs), since
// Chromium loads neither ES modules nor fetch() from file://.

import { Player } from './player.js';

function main() {
    const data = /** @type {HTMLElement} */ (document.getElementById('recording'));
    const root = /** @type {HTMLElement} */ (document.getElementById('replay'));
    try {
        const player = new Player(root, JSON.parse(data.textContent ?? '{}'), {
            // relative to index.html, wherever the folder was unpacked
            page: (path) => path,
            audio: (path) => path,
            // file:// media is cross-origin to Web Audio: the element plays directly (output.js)
            route: false,
        });
        player.expose();
    } catch (e) {
        root.textContent = `This recording cannot be replayed: ${/** @type {any} */ (e)?.message ?? e}`;
    }
}

main();
