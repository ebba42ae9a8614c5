// The presenter's microphone → Opus batches on the presenter clock (protocol/README.md, `audio`).
//
// getUserMedia → MediaStreamTrackProcessor → AudioData, downmixed to mono → WebCodecs
// AudioEncoder (Opus, 20 ms frames), configured from the first AudioData's own rate (Chromium's
// fake microphone delivers 44.1 kHz stereo whatever getSettings() says) → 3 frames per message.
//
// Time: the microphone's sample count is the presenter's media clock. The first sample is
// anchored to the playout clock's presenterNow() and every later sample's time follows from
// its index, so `t` does not jitter with delivery; while capturing, the clock stamps page turns
// and ink from the same count (`PlayoutClock.setMediaClock`). A batch's `t` is the time of the
// first sample its decoder will output: the encoder's look-ahead (the Opus pre-skip, 6.5 ms) is
// taken off, since nothing on the wire tells a receiver to drop it.
//
// Muted = nothing is encoded or sent; the microphone keeps running so the level meter and the
// clock go on. Events: `level` {rms, peak}, `state` {running, muted}, `marker` {freq, t,
// capturedAt} (tone markers, only after `detect()`: the voice tests turn pages on them).

import { ToneDetector } from './tones.js';
import { toBase64 } from './codec.js';

/** Frames per message, frame length and bit rate the web client sends. */
export const BATCH = 3;
export const FRAME_MS = 20;
const BITRATE = 32000;
/** The Opus pre-skip when the encoder does not say (312 samples at 48 kHz). */
const DEFAULT_PRESKIP_MS = 6.5;

/** A failure to tell the user, in words. */
export class VoiceError extends Error {}

/** Why this browser cannot send voice, or null when it can. */
export function captureUnsupported() {
    const g = /** @type {any} */ (globalThis);
    if (!g.isSecureContext) return 'Voice needs a secure page (https).';
    if (!g.navigator?.mediaDevices?.getUserMedia) return 'This browser gives no access to a microphone.';
    if (typeof g.AudioEncoder !== 'function' || typeof g.MediaStreamTrackProcessor !== 'function') {
        return 'This browser cannot encode voice (it lacks WebCodecs); use a current Chrome, Edge or Chromium to speak.';
    }
    return null;
}

/** @param {any} e */
function micError(e) {
    switch (e?.name) {
        case 'NotAllowedError':
        case 'SecurityError':
            return 'Microphone access was denied. Allow it for this site to speak; the meeting goes on without your voice.';
        case 'NotFoundError':
        case 'OverconstrainedError':
            return 'No microphone was found.';
        case 'NotReadableError':
        case 'AbortError':
            return 'The microphone could not be opened (another application may be using it).';
        default:
            return `The microphone failed: ${e?.message ?? e}`;
    }
}

export class VoiceCapture extends EventTarget {
    /**
     * @param {{
     *   clock: import('./clock.js').PlayoutClock<any>,
     *   send: (t: number, params: { codec: string, rate: number, channels: number, ms: number }, frames: string[]) => boolean,
     *   processing?: boolean,
     * }} opts `send` delivers a batch (Session.sendAudio); `processing`: the browser's echo
     * cancellation, noise suppression and gain control (off gives the raw microphone).
     */
    constructor(opts) {
        super();
        this.clock = opts.clock;
        this.send = opts.send;
        this.processing = opts.processing ?? true;
        this.running = false;
        this.muted = false;
        /** @type {string | null} */
        this.deviceId = null;
        /** @type {MediaStreamTrack | null} */
        this.track = null;
        /** @type {ReadableStreamDefaultReader<any> | null} */
        this.reader = null;
        this.gen = 0;
        // the media clock: segment start (presenter ms) and samples since, at `rate`
        this.rate = 0;
        this.baseT = 0;
        this.samples = 0;
        this.lastArrival = 0;
        // the encoder run: sample index it started at, chunks out so far
        /** @type {any} */
        this.encoder = null;
        this.runStart = 0;
        this.chunks = 0;
        this.preskipMs = DEFAULT_PRESKIP_MS;
        /** @type {{ t: number, data: string }[]} */
        this.batch = [];
        /** @type {ToneDetector | null} */
        this.detector = null;
        /** @type {number[]} */
        this.detectFreqs = [];
        this.detectStart = 0;
        /** the timestamp (ms) the next AudioData should have; NaN: unknown */
        this.nextStamp = NaN;
        this.stats = { batches: 0, frames: 0, bytes: 0, unsent: 0, dropped: 0, inputRate: 0, inputChannels: 0 };
    }

    /** The presenter-clock time (ms) of sample `index` of the current segment. */
    mediaAt(index) {
        return this.baseT + (index / this.rate) * 1000;
    }

    /** The media clock now: the last sample's time plus the time since it arrived. */
    mediaNow() {
        return this.mediaAt(this.samples) + Math.max(0, performance.now() - this.lastArrival);
    }

    /** Opens the microphone (`deviceId`, or the default) and starts sending unless muted. */
    async start(deviceId = null) {
        const why = captureUnsupported();
        if (why) throw new VoiceError(why);
        const g = /** @type {any} */ (globalThis);
        const probe = { codec: 'opus', sampleRate: 48000, numberOfChannels: 1, bitrate: BITRATE };
        const ok = await g.AudioEncoder.isConfigSupported(probe).then((r) => r.supported, () => false);
        if (!ok) throw new VoiceError('This browser cannot encode Opus, so it cannot send voice.');
        const p = this.processing;
        /** @type {MediaTrackConstraints} */
        const audio = { echoCancellation: p, noiseSuppression: p, autoGainControl: p, channelCount: 1 };
        if (deviceId) audio.deviceId = { exact: deviceId };
        let stream;
        try {
            stream = await navigator.mediaDevices.getUserMedia({ audio });
        } catch (e) {
            throw new VoiceError(micError(e));
        }
        await this.halt();
        const gen = ++this.gen;
        const track = stream.getAudioTracks()[0];
        this.track = track;
        this.deviceId = track.getSettings().deviceId ?? deviceId;
        // room for half a second of audio while the page is busy (the default drops after ~0.1 s)
        const reader = new g.MediaStreamTrackProcessor({ track, maxBufferSize: 50 }).readable.getReader();
        this.reader = reader;
        this.running = true;
        this.rate = 0; // re-anchored on the first AudioData
        track.addEventListener('ended', () => {
            if (gen === this.gen) this.stop('The microphone was disconnected.');
        });
        this.emitState();
        this.pump(reader, gen);
    }

    /** Stops the microphone; `reason` is shown to the user when it was not their choice. */
    async stop(reason = '') {
        await this.halt();
        this.emitState(reason);
    }

    async halt() {
        this.gen += 1;
        const wasRunning = this.running;
        this.running = false;
        this.reader?.cancel().catch(() => {});
        this.reader = null;
        this.track?.stop();
        this.track = null;
        if (wasRunning && this.rate) this.clock.setMediaClock(null);
        await this.endRun();
    }

    /** @param {boolean} muted */
    async setMuted(muted) {
        if (muted === this.muted) return;
        this.muted = muted;
        this.emitState();
        if (muted) await this.endRun();
    }

    /** Turns on tone-marker detection (for the voice tests and benchmark). @param {number[]} freqs */
    detect(freqs) {
        this.detectFreqs = freqs.slice();
        this.detector = null; // made on the next AudioData, at its rate
    }

    emitState(reason = '') {
        this.dispatchEvent(new CustomEvent('state', { detail: { running: this.running, muted: this.muted, reason } }));
    }

    /** @param {ReadableStreamDefaultReader<any>} reader @param {number} gen */
    async pump(reader, gen) {
        for (;;) {
            let r;
            try {
                r = await reader.read();
            } catch {
                break;
            }
            if (r.done || gen !== this.gen) {
                r.value?.close();
                break;
            }
            try {
                this.onData(r.value);
            } catch (e) {
                console.error('lectern voice capture:', e);
            } finally {
                r.value.close();
            }
        }
    }

    /** One AudioData from the microphone. @param {any} data */
    onData(data) {
        const arrival = performance.now();
        const n = data.numberOfFrames;
        const rate = data.sampleRate;
        // capture time of the first sample: the timestamp when it is on performance.now()'s
        // timeline (Chromium), else the arrival minus the buffer's length
        const stamped = data.timestamp / 1000;
        const firstAt = Math.abs(arrival - stamped) < 500 ? stamped : arrival - (n / rate) * 1000;
        if (rate !== this.rate) this.anchor(rate, arrival, firstAt);
        this.stats.inputRate = rate;
        this.stats.inputChannels = data.numberOfChannels;
        this.fillGap(stamped, firstAt === stamped);
        const mono = downmix(data);
        const start = this.samples;
        this.samples += n;
        this.nextStamp = stamped + (n / rate) * 1000;
        this.lastArrival = arrival;
        this.level(mono);
        if (this.detectFreqs.length) this.findMarkers(mono, start, firstAt);
        if (!this.muted) this.encode(mono, start);
    }

    /**
     * Audio the browser dropped (the page was too busy to read it): the timestamps jump. The
     * missing stretch is sent as silence, so the sample count (the media clock) keeps up with
     * real time and later audio keeps its time.
     * @param {number} stamped this AudioData's timestamp (ms) @param {boolean} reliable
     */
    fillGap(stamped, reliable) {
        const expected = this.nextStamp;
        this.nextStamp = NaN;
        if (!reliable || !Number.isFinite(expected)) return;
        const missing = Math.round(((stamped - expected) / 1000) * this.rate);
        if (missing < this.rate / 200) return; // under 5 ms: timestamp noise
        this.stats.dropped += missing;
        if (missing > this.rate) {
            // over a second: start a new stretch of the clock rather than send silence
            this.baseT = this.mediaAt(this.samples + missing);
            this.samples = 0;
            this.detector = null;
            this.endRun();
            return;
        }
        const zeros = new Float32Array(missing);
        const start = this.samples;
        this.samples += missing;
        if (this.detector) this.detector.feed(zeros);
        if (!this.muted) this.encode(zeros, start);
    }

    /** Starts a media-clock segment at `rate`, continuing the presenter clock. */
    anchor(rate, arrival, firstAt) {
        const first = !this.rate;
        const now = first ? this.clock.presenterNow() : this.mediaNow();
        // (a microphone opened as the presentation starts must not stamp below t = 0)
        this.baseT = Math.max(now - Math.max(0, arrival - firstAt), first ? FRAME_MS : 0);
        this.rate = rate;
        this.samples = 0;
        this.nextStamp = NaN;
        this.detector = null;
        this.endRun(); // an encoder is configured for one rate
        this.clock.setMediaClock(() => this.mediaNow());
    }

    /** @param {Float32Array} mono */
    level(mono) {
        let sum = 0;
        let peak = 0;
        for (let i = 0; i < mono.length; i++) {
            const v = mono[i];
            sum += v * v;
            if (Math.abs(v) > peak) peak = Math.abs(v);
        }
        this.dispatchEvent(new CustomEvent('level', { detail: { rms: Math.sqrt(sum / Math.max(1, mono.length)), peak } }));
    }

    /** @param {Float32Array} mono @param {number} start @param {number} firstAt */
    findMarkers(mono, start, firstAt) {
        if (!this.detector) {
            this.detector = new ToneDetector(this.rate, this.detectFreqs);
            this.detectStart = start;
        }
        for (const o of this.detector.feed(mono)) {
            const index = this.detectStart + o.index;
            const t = this.mediaAt(index);
            const capturedAt = performance.timeOrigin + firstAt + ((index - start) / this.rate) * 1000;
            this.dispatchEvent(new CustomEvent('marker', { detail: { freq: o.freq, t, capturedAt } }));
        }
    }

    /** @param {Float32Array} mono @param {number} start */
    encode(mono, start) {
        if (!this.encoder) this.newRun(start);
        const g = /** @type {any} */ (globalThis);
        const data = new g.AudioData({
            format: 'f32-planar',
            sampleRate: this.rate,
            numberOfFrames: mono.length,
            numberOfChannels: 1,
            timestamp: Math.round((start / this.rate) * 1e6),
            data: mono,
        });
        try {
            this.encoder.encode(data);
        } finally {
            data.close();
        }
    }

    /** A fresh encoder whose first frame starts at sample `start`. @param {number} start */
    newRun(start) {
        const g = /** @type {any} */ (globalThis);
        const rate = this.rate;
        const runBase = this.mediaAt(start);
        this.runStart = start;
        this.chunks = 0;
        const encoder = new g.AudioEncoder({
            output: (/** @type {any} */ chunk, /** @type {any} */ meta) => {
                const desc = meta?.decoderConfig?.description;
                if (desc) this.preskipMs = preskip(desc) ?? this.preskipMs;
                const bytes = new Uint8Array(chunk.byteLength);
                chunk.copyTo(bytes);
                const t = runBase + this.chunks * FRAME_MS - this.preskipMs;
                this.chunks += 1;
                this.onFrame(t, bytes);
            },
            error: (/** @type {any} */ e) => {
                console.error('lectern voice encoder:', e);
                if (this.encoder === encoder) this.encoder = null;
            },
        });
        encoder.configure({
            codec: 'opus',
            sampleRate: rate,
            numberOfChannels: 1,
            bitrate: BITRATE,
            opus: { frameDuration: FRAME_MS * 1000, application: 'voip' },
        });
        this.encoder = encoder;
    }

    /** Flushes and closes the encoder run (mute, stop, a new rate); sends what is left. */
    async endRun() {
        const encoder = this.encoder;
        this.encoder = null;
        if (encoder && encoder.state === 'configured') {
            try {
                await encoder.flush();
            } catch {
                /* closed under us */
            }
            encoder.close();
        }
        this.sendBatch();
    }

    /** @param {number} t @param {Uint8Array} bytes */
    onFrame(t, bytes) {
        // a batch is contiguous frames (a new encoder run starts a new one)
        const prev = this.batch[this.batch.length - 1];
        if (prev && Math.abs(t - prev.t - FRAME_MS) > 1) this.sendBatch();
        this.batch.push({ t, data: toBase64(bytes) });
        this.stats.frames += 1;
        this.stats.bytes += bytes.length;
        if (this.batch.length >= BATCH) this.sendBatch();
    }

    sendBatch() {
        const batch = this.batch;
        this.batch = [];
        if (batch.length === 0) return;
        const sent = this.send(
            batch[0].t,
            { codec: 'opus', rate: 48000, channels: 1, ms: FRAME_MS },
            batch.map((f) => f.data),
        );
        if (sent) this.stats.batches += 1;
        else this.stats.unsent += 1;
    }
}

/** The mean of an AudioData's channels as one Float32Array. @param {any} data */
function downmix(data) {
    const n = data.numberOfFrames;
    const ch = data.numberOfChannels;
    const mono = new Float32Array(n);
    if (ch === 1) {
        data.copyTo(mono, { planeIndex: 0, format: 'f32-planar' });
        return mono;
    }
    const tmp = new Float32Array(n);
    for (let c = 0; c < ch; c++) {
        data.copyTo(tmp, { planeIndex: c, format: 'f32-planar' });
        for (let i = 0; i < n; i++) mono[i] += tmp[i];
    }
    for (let i = 0; i < n; i++) mono[i] /= ch;
    return mono;
}

/** The pre-skip (ms) of an OpusHead (RFC 7845 §5.1), or null. @param {any} desc */
function preskip(desc) {
    const bytes = desc instanceof ArrayBuffer ? new Uint8Array(desc) : new Uint8Array(desc.buffer, desc.byteOffset, desc.byteLength);
    if (bytes.length < 12 || String.fromCharCode(...bytes.subarray(0, 8)) !== 'OpusHead') return null;
    return ((bytes[10] | (bytes[11] << 8)) / 48000) * 1000;
}
