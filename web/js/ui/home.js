// The home page: create a meeting (→ presenter link), join one by number or link.

import { createMeeting } from './api.js';
import { byId, showError } from './dom.js';
import { rememberHostKey } from './recordings.js';

/**
 * The meeting path for what a user typed: a number (spaces and dashes allowed) or a link
 * to `/m/{number}` (with its `?key=` kept).
 * @param {string} input
 * @returns {string | null}
 */
export function meetingPath(input) {
    const text = input.trim();
    const m = /\/m\/(\d+)(\?[^#\s]*)?/.exec(text);
    if (m) return `/m/${m[1]}${m[2] ?? ''}`;
    const digits = text.replace(/[\s-]/g, '');
    if (/^\d{1,32}$/.test(digits)) return `/m/${digits}`;
    return null;
}

function init() {
    const form = /** @type {HTMLFormElement} */ (byId('create-form'));
    const err = byId('create-error');
    form.addEventListener('submit', async (e) => {
        e.preventDefault();
        showError(err, '');
        const btn = /** @type {HTMLButtonElement} */ (byId('create-btn'));
        btn.disabled = true;
        try {
            const title = /** @type {HTMLInputElement} */ (byId('create-title')).value.trim();
            const m = await createMeeting(title);
            // so /recordings lists this meeting's recording for this browser
            rememberHostKey(m.number, m.host_key);
            byId('created-number').textContent = m.number.replace(/(\d{3})(?=\d)/g, '$1 ');
            const presenter = /** @type {HTMLAnchorElement} */ (byId('presenter-link'));
            presenter.href = m.presenter_url;
            const attendee = /** @type {HTMLInputElement} */ (byId('attendee-link'));
            attendee.value = new URL(m.url, location.href).href;
            byId('create-result').hidden = false;
        } catch (ex) {
            showError(err, `Could not create the meeting: ${ex?.message ?? ex}`);
        } finally {
            btn.disabled = false;
        }
    });
    byId('copy-link').addEventListener('click', () => {
        const attendee = /** @type {HTMLInputElement} */ (byId('attendee-link'));
        attendee.select();
        navigator.clipboard?.writeText(attendee.value).catch(() => {});
    });
    const join = /** @type {HTMLFormElement} */ (byId('join-form'));
    join.addEventListener('submit', (e) => {
        e.preventDefault();
        const input = /** @type {HTMLInputElement} */ (byId('join-meeting')).value;
        const path = meetingPath(input);
        if (!path) {
            showError(byId('join-error'), 'Type a meeting number (digits) or paste a meeting link.');
            return;
        }
        location.assign(path);
    });
}

if (typeof document !== 'undefined' && document.getElementById('create-form')) init();
