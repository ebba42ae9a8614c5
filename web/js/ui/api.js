// The HTTP APIs the client uses: meetings (docs/MEETINGS-API.md) and documents.

/** An HTTP error with the API's `{error, message}` body. */
export class ApiError extends Error {
    /** @param {number} status @param {string} code @param {string} message */
    constructor(status, code, message) {
        super(message || code || `HTTP ${status}`);
        this.status = status;
        this.code = code;
    }
}

/** @param {Response} res */
async function json(res) {
    let body = null;
    try {
        body = await res.json();
    } catch {
        /* not JSON */
    }
    if (!res.ok) throw new ApiError(res.status, body?.error ?? '', body?.message ?? `HTTP ${res.status}`);
    return body;
}

/** @param {string} url @param {any} body */
function post(url, body) {
    return fetch(url, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify(body),
    }).then(json);
}

/**
 * @returns {Promise<{number: string, title: string, host_key: string, url: string, presenter_url: string}>}
 */
export function createMeeting(title) {
    return post('/api/meetings', title ? { title } : {});
}

/** @returns {Promise<{number: string, title: string, room: string, focus: string, recording?: boolean}>} */
export function getMeeting(number) {
    return fetch(`/api/meetings/${encodeURIComponent(number)}`).then(json);
}

/**
 * @param {string} number
 * @param {string} name
 * @param {string | null} key
 * @returns {Promise<import('../protocol/session.js').JoinInfo>}
 */
export function joinMeeting(number, name, key) {
    return post(`/api/meetings/${encodeURIComponent(number)}/join`, key ? { name, key } : { name });
}

/**
 * @typedef {{ number: number, width: number, height: number, image: string, thumbnail: string,
 *   sha256: string | null, status: string }} PageEntry
 * @typedef {{ id: string, kind: string, title: string | null, status: string, page_count: number,
 *   format: string, pages: PageEntry[] }} Manifest
 */

/** @returns {Promise<Manifest>} */
export function getManifest(id) {
    return fetch(`/api/documents/${encodeURIComponent(id)}`).then(json);
}

/**
 * Uploads a file with progress (XHR: fetch has no upload progress).
 * @param {File} file
 * @param {(sent: number, total: number) => void} onProgress
 * @returns {Promise<Manifest>}
 */
export function uploadDocument(file, onProgress) {
    return new Promise((resolve, reject) => {
        const xhr = new XMLHttpRequest();
        xhr.open('POST', '/api/documents');
        xhr.responseType = 'json';
        xhr.upload.onprogress = (e) => onProgress(e.loaded, e.lengthComputable ? e.total : file.size);
        xhr.onload = () => {
            const body = xhr.response;
            if (xhr.status >= 200 && xhr.status < 300) resolve(body);
            else reject(new ApiError(xhr.status, body?.error ?? '', body?.message ?? `upload failed (HTTP ${xhr.status})`));
        };
        xhr.onerror = () => reject(new ApiError(0, 'network', 'the upload was interrupted'));
        const form = new FormData();
        form.append('file', file, file.name);
        xhr.send(form);
    });
}

/**
 * Follows conversion progress (server-sent events) until done.
 * @param {string} id
 * @param {(ready: number) => void} onPage called with the number of pages ready or failed so far
 * @returns {Promise<void>}
 */
export function conversionDone(id, onPage) {
    return new Promise((resolve, reject) => {
        const es = new EventSource(`/api/documents/${encodeURIComponent(id)}/events`);
        let ready = 0;
        const page = () => onPage(++ready);
        es.addEventListener('page', page);
        es.addEventListener('failed', page);
        es.addEventListener('done', () => {
            es.close();
            resolve();
        });
        es.onerror = () => {
            // the stream ends after `done`; an error before that is a real failure
            es.close();
            getManifest(id).then((m) => (m.status === 'ready' ? resolve() : reject(new Error('lost the conversion progress'))), reject);
        };
    });
}

/**
 * Plays an audio file into the meeting (docs/MEETINGS-API.md, "Audio files"). `t` is the
 * presenter clock now; the server answers once it has decoded the whole file, with the `t` the
 * file starts at.
 * @param {string} number @param {string} key @param {number} t @param {Blob} file
 * @returns {Promise<{ duration_ms: number, batches: number, frames: number, t: number }>}
 */
export function playAudioFile(number, key, t, file) {
    const q = `key=${encodeURIComponent(key)}&t=${Math.max(0, Math.round(t))}`;
    return fetch(`/api/meetings/${encodeURIComponent(number)}/audio?${q}`, { method: 'POST', body: file }).then(json);
}

/** Stops the file playing in the meeting. @param {string} number @param {string} key @returns {Promise<{ stopped: boolean }>} */
export function stopAudioFile(number, key) {
    return fetch(`/api/meetings/${encodeURIComponent(number)}/audio?key=${encodeURIComponent(key)}`, { method: 'DELETE' }).then(json);
}
