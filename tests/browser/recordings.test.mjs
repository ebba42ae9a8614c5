// The recordings page's downloads in Chromium against the real `lectern` binary: the browser
// that created a meeting finds it on /recordings and takes it home — the PDF at once, the MP4
// through its export job, with the job's status shown on the page until the video is ready.
//
// Waits are conditions with generous timeouts; nothing here is timed.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';

import { COLOURS, createMeeting, joinMeetingPage, launchBrowser, makePdf, newPerson, startServer, waitView, WAIT, tearDown } from './harness.mjs';

describe('recording downloads in Chromium', { timeout: 600000 }, () => {
    let srv;
    let browser;
    let pat;
    let number = '';

    before(async () => {
        srv = await startServer();
        browser = await launchBrowser();
    });

    after(() => tearDown({ people: [pat], browser, srv }));

    it('records a meeting with a shared document and a page turn', async () => {
        pat = await newPerson(browser, 'Pat');
        const { presenterUrl } = await createMeeting(pat.page, srv.url, 'Downloads check');
        number = /\/m\/(\d+)/.exec(presenterUrl)?.[1] ?? '';
        await joinMeetingPage(pat, `${srv.url}${presenterUrl}`);
        await waitView(pat.page, (v) => v.presenting, 'Pat to present');
        await pat.page.locator('#upload-input').setInputFiles({ name: 'deck.pdf', mimeType: 'application/pdf', buffer: makePdf(COLOURS) });
        await waitView(pat.page, (_v, st) => st?.document?.pages === COLOURS.length, 'the shared document');
        await pat.page.keyboard.press('ArrowRight');
        await waitView(pat.page, (_v, st) => st?.page === 2, 'the page turn');
    });

    it('the PDF downloads at once and the MP4 after its export, with its status shown', async () => {
        const page = pat.page;
        await page.goto(`${srv.url}/recordings`);
        const row = page.locator(`tr[data-number="${number}"]`);
        await row.waitFor({ timeout: WAIT });

        const pdf = await page.request.get(new URL(/** @type {string} */ (await row.locator('a.download-pdf').getAttribute('href')), srv.url).href);
        assert.equal(pdf.status(), 200);
        assert.equal(pdf.headers()['content-type'], 'application/pdf');
        assert.equal((await pdf.body()).subarray(0, 5).toString(), '%PDF-');

        // Every status the page is shown, as the page showed it.
        await page.evaluate(() => {
            const seen = /** @type {string[]} */ ([]);
            /** @type {any} */ (window).exportSeen = seen;
            const note = /** @type {HTMLElement} */ (document.querySelector('.export-status'));
            new MutationObserver(() => seen.push(note.textContent ?? '')).observe(note, { childList: true, characterData: true, subtree: true });
        });
        const link = row.locator('a.download-mp4');
        assert.equal(await link.isHidden(), true, 'no video link before an export');
        await row.locator('button.export-mp4').click();
        await link.waitFor({ state: 'visible', timeout: 5 * WAIT });
        assert.equal(await row.locator('progress.export-progress').isHidden(), true, 'the progress bar goes when the video is ready');
        const seen = await page.evaluate(() => /** @type {any} */ (window).exportSeen);
        assert.ok(
            seen.some((/** @type {string} */ s) => /Rendering… \d+ %|Waiting for another export/.test(s)),
            `the export's progress was shown: ${JSON.stringify(seen)}`,
        );
        const mp4 = await page.request.get(new URL(/** @type {string} */ (await link.getAttribute('href')), srv.url).href);
        assert.equal(mp4.status(), 200);
        assert.equal(mp4.headers()['content-type'], 'video/mp4');
        assert.equal((await mp4.body()).subarray(4, 8).toString(), 'ftyp', 'an MP4 file');
    });
});
