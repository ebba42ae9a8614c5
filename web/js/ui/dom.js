// Small DOM helpers shared by the pages.

/**
 * The element with `id`; throws if the page lacks it (a template/JS mismatch).
 * @template {HTMLElement} T
 * @param {string} id
 * @returns {T}
 */
export function byId(id) {
    const el = document.getElementById(id);
    if (!el) throw new Error(`missing #${id}`);
    return /** @type {T} */ (el);
}

/**
 * Creates an element with attributes/properties and children.
 * @template {keyof HTMLElementTagNameMap} K
 * @param {K} tag
 * @param {Record<string, any>} [props]
 * @param {(Node | string | null | undefined | false)[]} [children]
 * @returns {HTMLElementTagNameMap[K]}
 */
export function h(tag, props = {}, children = []) {
    const el = document.createElement(tag);
    for (const [k, v] of Object.entries(props)) {
        if (v === undefined || v === null || v === false) continue;
        if (k === 'class') el.className = v;
        else if (k === 'dataset') Object.assign(el.dataset, v);
        else if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
        else if (k in el && typeof v !== 'string') /** @type {any} */ (el)[k] = v;
        else el.setAttribute(k, v === true ? '' : String(v));
    }
    for (const c of children) {
        if (c === null || c === undefined || c === false) continue;
        el.append(typeof c === 'string' ? document.createTextNode(c) : c);
    }
    return el;
}

let toastTimer = 0;
/** Shows a short message at the bottom of the screen. */
export function toast(text, ms = 4000) {
    const el = document.getElementById('toast');
    if (!el) return;
    el.textContent = text;
    el.hidden = false;
    clearTimeout(toastTimer);
    toastTimer = window.setTimeout(() => {
        el.hidden = true;
    }, ms);
}

/** Shows `text` in an error paragraph (or hides it when empty). */
export function showError(el, text) {
    el.textContent = text || '';
    el.hidden = !text;
}
