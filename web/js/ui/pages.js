// Page images: from the pre-loaded package when there is one (object URLs), else fetched on
// demand from `{base}pages/{n}.png` with the next pages prefetched.

const PREFETCH_AHEAD = 2;
const KEEP = 24;

/**
 * @typedef {{ id: string, pages: number, base: string, title?: string, hashes?: string[] }} Doc
 */

export class PageImages {
    constructor() {
        /** @type {Map<string, Map<number, string>>} document id → page → object URL */
        this.local = new Map();
        /** @type {Map<string, HTMLImageElement>} url → image (loaded or loading) */
        this.cache = new Map();
        /** @type {Map<string, Promise<HTMLImageElement>>} */
        this.loading = new Map();
    }

    /** Pages of `docId` now come from the verified package. @param {Map<number, string>} urls */
    setLocal(docId, urls) {
        this.local.set(docId, urls);
    }

    hasLocal(docId) {
        return this.local.has(docId);
    }

    /** @param {Doc} doc @param {number} n */
    url(doc, n) {
        const local = this.local.get(doc.id)?.get(n);
        if (local) return local;
        return `${doc.base}pages/${n}.png`;
    }

    /** @param {Doc} doc @param {number} n */
    thumbUrl(doc, n) {
        return `${doc.base}thumbs/${n}.png`;
    }

    /**
     * The decoded image of a page.
     * @param {Doc} doc @param {number} n
     * @returns {Promise<HTMLImageElement>}
     */
    get(doc, n) {
        const url = this.url(doc, n);
        const have = this.cache.get(url);
        if (have && have.complete && have.naturalWidth > 0) return Promise.resolve(have);
        let p = this.loading.get(url);
        if (!p) {
            p = new Promise((resolve, reject) => {
                const img = new Image();
                img.decoding = 'async';
                img.onload = () => {
                    this.loading.delete(url);
                    this.cache.set(url, img);
                    this.trim();
                    resolve(img);
                };
                img.onerror = () => {
                    this.loading.delete(url);
                    reject(new Error(`page ${n} did not load`));
                };
                img.src = url;
            });
            this.loading.set(url, p);
        }
        return p;
    }

    /** Warms the cache with the pages after `n`. @param {Doc} doc @param {number} n */
    prefetch(doc, n) {
        for (let k = n + 1; k <= Math.min(doc.pages, n + PREFETCH_AHEAD); k++) {
            this.get(doc, k).catch(() => {});
        }
    }

    trim() {
        while (this.cache.size > KEEP) {
            const first = this.cache.keys().next().value;
            if (first === undefined) break;
            this.cache.delete(first);
        }
    }
}
