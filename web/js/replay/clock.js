// The replay's master clock: the `<audio>` element's media time while there is audio (so the
// picture follows what is heard, whatever the element buffers, drops or resamples), and a
// wall-clock stopwatch where there is none — a recording without voice, or its silent tail
// after the last word. Media ms throughout.

export class ReplayClock {
    /**
     * @param {HTMLAudioElement | null} audio null: no voice, the stopwatch only
     * @param {number} durationMs the recording's length (may outlast the audio)
     */
    constructor(audio, durationMs) {
        this.audio = audio;
        this.duration = durationMs;
        this.rate = 1;
        /** the stopwatch: running or not, its reading at `since` (performance.now()) */
        this.free = !audio;
        this.freePaused = true;
        this.freeAt = 0;
        this.since = 0;
        /** the media ms last seeked to: what the element reads until it moves on */
        this.target = NaN;
        if (audio) {
            // past its last sample the audio stops; the recording may go on without it
            audio.addEventListener('ended', () => {
                if (this.free) return;
                const end = audio.duration * 1000;
                if (end < this.duration) this.runFree(end, true);
            });
        }
    }

    /** Audio length in ms (0 until known). */
    get audioMs() {
        const d = this.audio?.duration;
        return d && Number.isFinite(d) ? d * 1000 : 0;
    }

    get paused() {
        return this.free ? this.freePaused : !!this.audio?.paused;
    }

    /** Media time now, ms. */
    now() {
        if (!this.free && this.audio) {
            // Chromium keeps media time in whole µs, truncated: a seek to 8261 ms reads back as
            // 8260.999. Until the element moves on, its time is the one seeked to, so an event
            // or chat line due at `t` shows at a seek to `t`.
            const t = this.audio.currentTime * 1000;
            return Math.abs(t - this.target) < 0.002 ? this.target : t;
        }
        if (this.freePaused) return this.freeAt;
        const t = this.freeAt + (performance.now() - this.since) * this.rate;
        if (t >= this.duration) {
            this.freeAt = this.duration;
            this.freePaused = true;
            return this.duration;
        }
        return t;
    }

    /** @param {number} at @param {boolean} playing */
    runFree(at, playing) {
        this.free = true;
        this.freeAt = at;
        this.since = performance.now();
        this.freePaused = !playing;
    }

    /** @returns {Promise<void>} */
    async play() {
        if (this.now() >= this.duration - 1) this.seek(0);
        if (this.free) {
            this.since = performance.now();
            this.freePaused = false;
            return;
        }
        await /** @type {HTMLAudioElement} */ (this.audio).play();
    }

    pause() {
        if (this.free) {
            this.freeAt = this.now();
            this.freePaused = true;
        }
        this.audio?.pause();
    }

    /** @param {number} ms */
    seek(ms) {
        const t = Math.max(0, Math.min(this.duration, ms));
        const playing = !this.paused;
        const audioMs = this.audioMs;
        if (this.audio && (t < audioMs || !audioMs)) {
            if (this.free && playing) this.audio.play().catch(() => {});
            this.free = false;
            this.freePaused = true;
            this.target = t;
            this.audio.currentTime = t / 1000;
        } else {
            this.audio?.pause();
            this.runFree(t, playing);
        }
    }

    /** @param {number} rate 0.5 … 2 */
    setRate(rate) {
        if (this.free && !this.freePaused) {
            this.freeAt = this.now();
            this.since = performance.now();
        }
        this.rate = rate;
        if (this.audio) this.audio.playbackRate = rate;
    }
}
