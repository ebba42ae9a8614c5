// A recording's downloads on the recordings page: the zip and the PDF are built on request
// and come at once; the MP4 is rendered by a server job that takes a while, so it is started
// with a button and its progress shown until the video can be downloaded (docs/RECORDINGS.md).

/** How often the page asks how the export is going. */
const POLL_MS = 1000;

/**
 * @typedef {{ job: number, status: 'queued' | 'rendering' | 'ready' | 'failed',
 *   progress: number, error: string | null, url: string }} ExportStatus
 */

/** @param {string} tag @param {Record<string, string>} [attrs] @param {string} [text] */
function el(tag, attrs = {}, text = '') {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
    if (text) e.textContent = text;
    return e;
}

/** @param {Response} res @returns {Promise<ExportStatus>} */
async function status(res) {
    const data = await res.json().catch(() => null);
    if (!res.ok && res.status !== 202) throw new Error(data?.message || `HTTP ${res.status}`);
    return data;
}

/**
 * The download links of one recording.
 * @param {string} number the meeting
 * @param {string} cred `key=…` or `token=…`
 * @returns {HTMLElement}
 */
export function downloads(number, cred) {
    const api = `/api/meetings/${number}`;
    const box = el('span', { class: 'downloads' });
    box.append(el('a', { href: `${api}/recording.zip?${cred}`, class: 'download' }, 'Download (zip)'), ' ');
    box.append(el('a', { href: `${api}/recording.pdf?${cred}`, class: 'download-pdf' }, 'Slides with ink (PDF)'), ' ');
    const video = el('button', { type: 'button', class: 'export-mp4' }, 'Video (MP4)');
    const bar = /** @type {HTMLProgressElement} */ (el('progress', { class: 'export-progress', max: '1', value: '0' }));
    bar.hidden = true;
    const note = el('span', { class: 'export-status', role: 'status' });
    const link = el('a', { href: `${api}/recording.mp4?${cred}`, class: 'download-mp4' }, 'Download video (MP4)');
    link.hidden = true;

    /** @param {ExportStatus} s */
    const show = (s) => {
        bar.hidden = s.status === 'ready' || s.status === 'failed';
        bar.value = s.progress;
        note.textContent =
            s.status === 'queued' ? 'Waiting for another export…'
            : s.status === 'rendering' ? `Rendering… ${Math.round(s.progress * 100)} %`
            : s.status === 'failed' ? `The video could not be made: ${s.error ?? 'unknown error'}`
            : '';
        link.hidden = s.status !== 'ready';
        video.toggleAttribute('disabled', s.status === 'queued' || s.status === 'rendering');
    };
    const poll = async () => {
        try {
            const s = await fetch(`${api}/recording.mp4/status?${cred}`, { cache: 'no-store' }).then(status);
            show(s);
            if (s.status === 'queued' || s.status === 'rendering') setTimeout(poll, POLL_MS);
        } catch (e) {
            note.textContent = String(/** @type {any} */ (e)?.message ?? e);
            video.removeAttribute('disabled');
        }
    };
    video.addEventListener('click', async () => {
        link.hidden = true;
        video.setAttribute('disabled', '');
        try {
            show(await fetch(`${api}/recording.mp4?${cred}`, { method: 'POST' }).then(status));
            setTimeout(poll, POLL_MS);
        } catch (e) {
            note.textContent = String(/** @type {any} */ (e)?.message ?? e);
            video.removeAttribute('disabled');
        }
    });
    box.append(video, ' ', bar, ' ', note, ' ', link);
    return box;
}
