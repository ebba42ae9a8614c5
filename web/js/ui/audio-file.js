// The presenter's "Play audio": a file from this computer played into the meeting. The server
// decodes it and streams it as voice on the presenter clock from the moment it is ready (the
// answer's `t`; docs/MEETINGS-API.md, "Audio files"), so every attendee hears it like the
// microphone and pages turned meanwhile stay with it. The presenter's page never plays the
// meeting's voice (it would echo the microphone), so it plays the same file itself, from that
// moment, to hear what the room hears.

import { ApiError, playAudioFile, stopAudioFile } from './api.js';
import { h, toast } from './dom.js';

const ACCEPT = 'audio/*,.wav,.flac,.ogg,.oga,.opus,.mp3,.m4a,.aac';

export class AudioFileControl {
    /**
     * @param {{ session: import('../protocol/session.js').Session, number: string, hostKey: string,
     *   parent: HTMLElement }} opts
     */
    constructor(opts) {
        this.session = opts.session;
        this.number = opts.number;
        this.hostKey = opts.hostKey;
        /** @type {{ name: string, t: number, durationMs: number } | null} the file playing */
        this.playing = null;
        this.busy = false;
        /** the last outcome, for the status line and the test hook */
        this.message = '';
        this.timer = 0;

        this.input = h('input', { type: 'file', id: 'audio-file-input', accept: ACCEPT, hidden: true });
        this.input.addEventListener('change', () => {
            const file = this.input.files?.[0];
            this.input.value = '';
            if (file) this.play(file);
        });
        this.playBtn = h('button', { type: 'button', id: 'audio-file-btn', title: 'Play an audio file to the meeting', onclick: () => this.input.click() }, [
            'Play audio…',
        ]);
        this.stopBtn = h('button', { type: 'button', id: 'audio-file-stop', class: 'accent', hidden: true, onclick: () => this.stop() }, ['Stop audio']);
        this.status = h('span', { class: 'audio-file-status', id: 'audio-file-status', 'aria-live': 'polite' });
        this.preview = h('audio', { preload: 'auto' });
        this.el = h('span', { class: 'audio-file', id: 'audio-file' }, [this.input, this.playBtn, this.stopBtn, this.status]);
        opts.parent.append(this.el);

        this.session.addEventListener('state', () => this.update());
        this.session.addEventListener('hello', () => this.update());
        this.update();
    }

    update() {
        const s = this.session;
        const usable = s.isPresenter && s.audio !== false;
        if (!usable && this.playing) this.stop();
        this.el.hidden = !usable;
        this.playBtn.disabled = this.busy;
        this.stopBtn.hidden = !this.playing;
        const text = this.busy ? this.message : this.playing ? `Playing ${this.playing.name}` : this.message;
        this.status.textContent = text;
        this.status.title = text;
    }

    /** @param {File} file */
    async play(file) {
        const t = this.session.clock.presenterNow();
        this.busy = true;
        this.message = `Preparing ${file.name}…`;
        this.update();
        try {
            const played = await playAudioFile(this.number, this.hostKey, t, file);
            this.playing = { name: file.name, t: played.t, durationMs: played.duration_ms };
            this.message = '';
            this.listen(file, played.t);
            // what is left of it once the answer came (it started at `played.t`)
            const left = played.t + played.duration_ms - this.session.clock.presenterNow();
            clearTimeout(this.timer);
            this.timer = window.setTimeout(() => this.ended(), Math.max(0, left));
        } catch (e) {
            this.message = e instanceof ApiError ? e.message : `The file could not be played: ${/** @type {any} */ (e)?.message ?? e}`;
            toast(this.message, 8000);
        } finally {
            this.busy = false;
            this.update();
        }
    }

    /** Plays the file here, from where the meeting is in it. @param {File} file @param {number} t */
    listen(file, t) {
        this.quiet();
        this.preview.src = URL.createObjectURL(file);
        this.preview.currentTime = Math.max(0, this.session.clock.presenterNow() - t) / 1000;
        this.preview.play().catch(() => {
            /* no sound here (autoplay, or a format this browser lacks): the room still hears it */
        });
    }

    quiet() {
        this.preview.pause();
        if (this.preview.src) URL.revokeObjectURL(this.preview.src);
        this.preview.removeAttribute('src');
    }

    ended() {
        this.playing = null;
        this.quiet();
        this.update();
    }

    async stop() {
        clearTimeout(this.timer);
        const was = this.playing;
        this.ended();
        try {
            await stopAudioFile(this.number, this.hostKey);
            this.message = was ? `Stopped ${was.name}` : '';
        } catch (e) {
            this.message = e instanceof ApiError ? e.message : String(e);
            toast(this.message, 8000);
        }
        this.update();
    }

    /** Read-only state for `window.lectern.audioFile()`. */
    view() {
        return {
            playing: this.playing ? { ...this.playing } : null,
            busy: this.busy,
            message: this.message,
            hearing: !this.preview.paused && this.preview.currentTime > 0,
        };
    }
}
