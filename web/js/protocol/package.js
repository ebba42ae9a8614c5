// The whole-document package for LAN pre-loading: an uncompressed POSIX tar holding
// `manifest.json` and `pages/{n}.png` (protocol/README.md, `document`). Unpacked in memory,
// every page verified against the sha256 announced in the <document/> event. A server without
// the package route gets the same result page by page.

/**
 * Splits a tar archive into its regular files.
 * @param {ArrayBuffer} buf
 * @returns {Map<string, Uint8Array>}
 */
export function untar(buf) {
    const bytes = new Uint8Array(buf);
    const dec = new TextDecoder();
    /** @type {Map<string, Uint8Array>} */
    const files = new Map();
    let off = 0;
    /** @type {string | null} */
    let longName = null;
    /** @type {string | null} */
    let paxPath = null;
    const str = (start, len) => {
        const slice = bytes.subarray(start, start + len);
        const end = slice.indexOf(0);
        return dec.decode(end < 0 ? slice : slice.subarray(0, end));
    };
    while (off + 512 <= bytes.length) {
        const header = bytes.subarray(off, off + 512);
        if (header.every((b) => b === 0)) break;
        let name = str(off, 100);
        const sizeField = str(off + 124, 12).trim();
        const size = parseInt(sizeField || '0', 8);
        const type = String.fromCharCode(bytes[off + 156] || 48);
        const magic = str(off + 257, 6);
        if (magic.startsWith('ustar')) {
            const prefix = str(off + 345, 155);
            if (prefix) name = `${prefix}/${name}`;
        }
        const dataStart = off + 512;
        const data = bytes.subarray(dataStart, dataStart + size);
        if (data.length < size) throw new Error('truncated package');
        if (type === 'L') {
            longName = dec.decode(data).replace(/\0.*$/s, '');
        } else if (type === 'x') {
            const m = /\d+ path=([^\n]*)\n/.exec(dec.decode(data));
            paxPath = m ? m[1] : null;
        } else if (type === '0' || type === '\0' || type === '7') {
            const path = (paxPath ?? longName ?? name).replace(/^\.\//, '');
            files.set(path, data);
            longName = null;
            paxPath = null;
        } else {
            longName = null;
            paxPath = null;
        }
        off = dataStart + Math.ceil(size / 512) * 512;
    }
    return files;
}

/** @param {Uint8Array} bytes @returns {Promise<string>} lower-case hex sha256 */
export async function sha256Hex(bytes) {
    const digest = await crypto.subtle.digest('SHA-256', /** @type {BufferSource} */ (bytes));
    return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, '0')).join('');
}

/**
 * Fetches and verifies a whole document. Resolves with an object URL per page number; rejects
 * if any page is missing or its hash differs (then nothing is kept). If the server has no
 * package route (404), every page is fetched one by one from `{base}pages/{n}.png` instead,
 * with the same verification.
 * @param {string} url the package URL from <preload/>
 * @param {string[]} hashes expected sha256 per page, index 0 = page 1
 * @param {string} base the document's base URL (for the page-by-page fallback)
 * @param {AbortSignal} [signal]
 * @returns {Promise<{ urls: Map<number, string>, how: 'package' | 'pages' }>}
 */
export async function loadPackage(url, hashes, base, signal) {
    const res = await fetch(url, { signal });
    /** @type {Map<number, Uint8Array>} */
    const pages = new Map();
    let how = /** @type {'package' | 'pages'} */ ('package');
    if (res.status === 404) {
        how = 'pages';
        await fetchPages(base, hashes.length, pages, signal);
    } else {
        if (!res.ok) throw new Error(`package: HTTP ${res.status}`);
        for (const [path, data] of untar(await res.arrayBuffer())) {
            const m = /^pages\/(\d+)\.png$/.exec(path);
            if (m) pages.set(Number(m[1]), data);
        }
    }
    for (let n = 1; n <= hashes.length; n++) {
        const data = pages.get(n);
        if (!data) throw new Error(`package: page ${n} is missing`);
        const got = await sha256Hex(data);
        if (got !== String(hashes[n - 1]).toLowerCase()) throw new Error(`package: page ${n} does not match its hash`);
    }
    /** @type {Map<number, string>} */
    const urls = new Map();
    for (let n = 1; n <= hashes.length; n++) {
        const data = /** @type {Uint8Array} */ (pages.get(n));
        urls.set(n, URL.createObjectURL(new Blob([/** @type {BlobPart} */ (data)], { type: 'image/png' })));
    }
    return { urls, how };
}

/**
 * Fetches pages 1..count, four at a time.
 * @param {string} base @param {number} count @param {Map<number, Uint8Array>} into
 * @param {AbortSignal} [signal]
 */
async function fetchPages(base, count, into, signal) {
    let next = 1;
    const worker = async () => {
        while (next <= count) {
            const n = next++;
            const res = await fetch(`${base}pages/${n}.png`, { signal });
            if (!res.ok) throw new Error(`page ${n}: HTTP ${res.status}`);
            into.set(n, new Uint8Array(await res.arrayBuffer()));
        }
    };
    await Promise.all(Array.from({ length: Math.min(4, count) }, worker));
}
