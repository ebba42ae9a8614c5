// Voice on the meeting page: the presenter's microphone (start/stop, mute, device, level meter)
// and the attendee's playback ("click to listen" when the browser wants a gesture, volume).
// The controls live in the top bar; which half shows follows who presents.
//
// Test hooks: `voice()` (read-only, added to `window.lectern`), and, only when
// localStorage['lectern.test'] is '1', `window.lecternTest.voice` with controls the voice tests
// and benchmark need: turn a page on each tone marker heard in the microphone, tap the output
// for markers, drop a share of incoming audio.

import { VoiceCapture, VoiceError, captureUnsupported } from '../protocol/voice-capture.js';
import { VoicePlayer } from '../protocol/voice-playout.js';
import { h, toast } from './dom.js';

const LIMIT = 2000;

/** Epoch ms on the high-resolution clock (comparable across pages of one machine). */
const epoch = () => performance.timeOrigin + performance.now();

/** @template T @param {T[]} list @param {T} item */
function keep(list, item) {
    list.push(item);
    if (list.length > LIMIT) list.shift();
}

export class VoiceUI {
    /** @param {{ session: import('../protocol/session.js').Session, bar: HTMLElement }} opts */
    constructor(opts) {
        this.session = opts.session;
        const clock = this.session.clock;
        this.player = new VoicePlayer({ clock });
        this.capture = new VoiceCapture({
            clock,
            send: (t, params, frames) => this.session.sendAudio(t, params, frames),
            processing: localStorage.getItem('lectern.voice.raw') !== '1',
        });
        this.session.audioSink = (ev, how) => this.player.accept(ev, how);
        /** @type {string} */
        this.message = '';
        /** @type {{ freq: number, t: number, capturedAt: number, n: number }[]} markers the presenter turned pages on */
        this.markersSent = [];
        /** @type {{ seq: number, t: number, n: number, at: number, late: number }[]} page turns applied here */
        this.turns = [];
        this.turnOnMarkers = false;
        this.presenting = false;

        this.micBtn = h('button', { type: 'button', id: 'mic-btn', title: 'Speak to the meeting', onclick: () => this.toggleMic() }, ['Start mic']);
        this.muteBtn = h('button', { type: 'button', id: 'mute-btn', hidden: true, onclick: () => this.toggleMute() }, ['Mute']);
        this.micSelect = h('select', { id: 'mic-select', title: 'Microphone', 'aria-label': 'Microphone', hidden: true });
        this.micSelect.addEventListener('change', () => this.switchMic());
        this.meter = h('span', { class: 'meter', id: 'mic-level', title: 'Microphone level', hidden: true }, [h('span', {})]);
        this.listenBtn = h('button', { type: 'button', id: 'listen-btn', class: 'accent', hidden: true, onclick: () => this.player.listen() }, [
            'Click to listen',
        ]);
        const stored = Number(localStorage.getItem('lectern.volume') ?? '1');
        this.volume = h('input', {
            type: 'range',
            id: 'volume',
            min: '0',
            max: '1',
            step: '0.05',
            value: String(Number.isFinite(stored) ? stored : 1),
            title: 'Volume',
            'aria-label': 'Volume',
        });
        this.volume.addEventListener('input', () => {
            this.player.setVolume(Number(this.volume.value));
            localStorage.setItem('lectern.volume', this.volume.value);
        });
        this.player.setVolume(Number(this.volume.value));
        this.volumeBox = h('label', { class: 'volume', title: 'Volume' }, ['Vol ', this.volume]);
        this.status = h('span', { class: 'voice-status', id: 'voice-status', 'aria-live': 'polite' });
        this.el = h('span', { class: 'voice', id: 'voice' }, [
            this.micBtn,
            this.muteBtn,
            this.micSelect,
            this.meter,
            this.listenBtn,
            this.volumeBox,
            this.status,
        ]);
        const spacer = opts.bar.querySelector('.spacer');
        opts.bar.insertBefore(this.el, spacer);

        this.wire();
        this.update();
    }

    wire() {
        const s = this.session;
        s.addEventListener('state', () => this.update());
        s.addEventListener('hello', () => this.update());
        s.addEventListener('event', (/** @type {any} */ e) => {
            const ev = e.detail.event;
            // `late`: how long after its due time the page turn ran (a busy main thread)
            if (ev.payload?.type === 'page') keep(this.turns, { seq: ev.seq, t: ev.t, n: ev.payload.n, at: epoch(), late: performance.now() - s.clock.dueAt(ev.t) });
        });
        this.player.addEventListener('blocked', () => this.update());
        this.player.addEventListener('state', () => this.update());
        this.capture.addEventListener('state', (/** @type {any} */ e) => {
            if (e.detail.reason) this.say(e.detail.reason, true);
            this.update();
        });
        let level = 0;
        let queued = false;
        this.capture.addEventListener('level', (/** @type {any} */ e) => {
            level = Math.max(level, e.detail.peak);
            if (queued) return;
            queued = true;
            requestAnimationFrame(() => {
                queued = false;
                const bar = /** @type {HTMLElement} */ (this.meter.firstElementChild);
                // -60 dBFS .. 0 dBFS → 0 .. 100 %
                const db = 20 * Math.log10(Math.max(1e-6, level));
                bar.style.width = `${Math.max(0, Math.min(100, ((db + 60) / 60) * 100))}%`;
                this.meter.classList.toggle('muted', this.capture.muted);
                level = 0;
            });
        });
        this.capture.addEventListener('marker', (/** @type {any} */ e) => this.onMarker(e.detail));
    }

    /** @param {string} text @param {boolean} [loud] also as a toast */
    say(text, loud = false) {
        this.message = text;
        this.status.textContent = text;
        this.status.title = text;
        if (loud && text) toast(text, 8000);
    }

    update() {
        const s = this.session;
        const presenting = s.isPresenter;
        const off = s.audio === false;
        this.player.presenter = s.state?.presenter ?? null;
        if (presenting !== this.presenting) {
            this.presenting = presenting;
            this.player.setEnabled(!presenting);
            if (!presenting && this.capture.running) this.capture.stop();
            this.say('');
        }
        const running = this.capture.running;
        this.micBtn.hidden = !presenting;
        this.micBtn.disabled = off;
        this.micBtn.textContent = running ? 'Stop mic' : 'Start mic';
        this.micBtn.classList.toggle('on', running);
        this.micBtn.title = off ? 'Voice is off in this meeting' : running ? 'Stop sending your voice' : 'Speak to the meeting';
        this.muteBtn.hidden = !presenting || !running;
        this.muteBtn.textContent = this.capture.muted ? 'Unmute' : 'Mute';
        this.muteBtn.classList.toggle('accent', this.capture.muted);
        this.muteBtn.setAttribute('aria-pressed', String(this.capture.muted));
        this.micSelect.hidden = !presenting || !running || this.micSelect.options.length < 2;
        this.meter.hidden = !presenting || !running;
        const p = this.player;
        this.listenBtn.hidden = presenting || off || !!p.broken || p.listening || (p.ctx === null && p.stats.batches === 0);
        this.volumeBox.hidden = presenting || off;
        if (!this.message || !presenting) {
            let text = '';
            if (off) text = presenting ? '' : 'No voice in this meeting';
            else if (presenting) text = running ? (this.capture.muted ? 'Muted' : 'On air') : '';
            else if (p.broken) text = p.broken;
            else if (p.active) text = 'Voice';
            this.status.textContent = text;
            this.status.title = text;
        }
        this.el.dataset.presenting = String(presenting);
        this.el.dataset.voice = p.active ? 'live' : 'idle';
    }

    async toggleMic() {
        if (this.capture.running) {
            await this.capture.stop();
            this.say('');
            this.update();
            return;
        }
        const why = captureUnsupported();
        if (why) {
            this.say(why, true);
            return;
        }
        this.say('Opening the microphone…');
        try {
            await this.capture.start(this.micSelect.value || null);
            this.say('');
            await this.listDevices();
        } catch (e) {
            this.say(e instanceof VoiceError ? e.message : `The microphone failed: ${e?.message ?? e}`, true);
        }
        this.update();
    }

    async toggleMute() {
        await this.capture.setMuted(!this.capture.muted);
        this.say('');
        this.update();
    }

    async listDevices() {
        try {
            const devices = (await navigator.mediaDevices.enumerateDevices()).filter((d) => d.kind === 'audioinput');
            this.micSelect.replaceChildren(
                ...devices.map((d, i) => h('option', { value: d.deviceId }, [d.label || `Microphone ${i + 1}`])),
            );
            if (this.capture.deviceId) this.micSelect.value = this.capture.deviceId;
        } catch {
            /* no list: the default device only */
        }
    }

    async switchMic() {
        if (!this.capture.running) return;
        try {
            await this.capture.start(this.micSelect.value || null);
        } catch (e) {
            this.say(e instanceof VoiceError ? e.message : String(e), true);
        }
        this.update();
    }

    /** @param {{ freq: number, t: number, capturedAt: number }} m */
    onMarker(m) {
        if (!this.turnOnMarkers) return;
        const st = this.session.state;
        if (!this.session.isPresenter || !st?.document) return;
        const n = (st.page % st.document.pages) + 1;
        keep(this.markersSent, { ...m, n });
        this.session.request('page', { n }, undefined, undefined, { t: m.t });
    }

    /** Read-only state for `window.lectern.voice()`. */
    view() {
        return {
            presenting: this.presenting,
            audio: this.session.audio,
            message: this.message,
            capture: { running: this.capture.running, muted: this.capture.muted, ...this.capture.stats },
            player: this.player.view(),
            markersSent: this.markersSent.slice(),
            heard: this.player.heard.slice(),
            turns: this.turns.slice(),
            dropped: this.player.droppedAt.slice(),
        };
    }

    /** Controls for the voice tests and benchmark (installed only in test mode). */
    testControls() {
        return Object.freeze({
            /** Presenter: turn to the next page on each tone marker in the microphone. */
            turnPagesOnMarkers: (/** @type {number[]} */ freqs) => {
                this.turnOnMarkers = true;
                this.capture.detect(freqs);
            },
            /** Attendee: record when each tone marker is heard in the output. */
            watch: (/** @type {number[]} */ freqs) => this.player.tap(freqs),
            /** Attendee: drop `share` of incoming audio batches (0 stops). */
            dropIncoming: (/** @type {number} */ share, seed = 1) => this.player.dropIncoming(share, seed),
        });
    }
}
