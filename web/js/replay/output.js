// Where the replay's voice is heard, and how late: the `<audio>` element's `currentTime` is the
// sample it hands to the output, which reaches the ear `baseLatency + outputLatency` later (the
// live playout reasons the same way, protocol/voice-playout.js). The player shows the state of
// `currentTime − latency` (model.js shownTime), so page turns land with the words.
//
// Online, the element is routed through the player's own AudioContext (MediaElementAudioSource
// → destination), so the latency read is the latency of the very path the sound takes; the
// context is made (or resumed) on the first play, inside the click, as Chromium's autoplay
// rules want. Offline (the zip's index.html from file://) that routing would be silent: to Web
// Audio a file:// page's media is cross-origin, and Chromium feeds a graph zeros from it. There
// the element plays straight to the device, and the latency is read from an AudioContext that
// is connected to nothing — the same device's estimate, not the element's own sink (which the
// web does not expose); without Web Audio, no compensation.

export class ReplayOutput {
    /**
     * @param {HTMLAudioElement} audio
     * @param {boolean} route whether the element may be routed through Web Audio (same-origin media)
     */
    constructor(audio, route) {
        this.audio = audio;
        this.route = route;
        /** @type {AudioContext | null} */
        this.ctx = null;
        /** @type {MediaElementAudioSourceNode | null} */
        this.source = null;
        this.failed = false;
    }

    /** The context (and, online, the element's source node), made on first use. */
    graph() {
        if (!this.ctx && !this.failed) {
            try {
                this.ctx = new AudioContext();
                if (this.route) {
                    this.source = this.ctx.createMediaElementSource(this.audio);
                    this.source.connect(this.ctx.destination);
                }
            } catch {
                // no Web Audio (or the element was taken): the element plays as it is
                this.failed = true;
                this.ctx = null;
                this.source = null;
            }
        }
        return { context: this.ctx, source: this.source };
    }

    /** Before the element plays: the context must run, or a routed element is not heard. */
    async start() {
        const { context } = this.graph();
        if (context && context.state !== 'running') await context.resume().catch(() => {});
    }

    /** Seconds from the element's `currentTime` to the ear (0 when unknown). */
    latency() {
        const c = this.ctx;
        if (!c || c.state !== 'running') return 0;
        return (c.baseLatency || 0) + (c.outputLatency || 0);
    }
}
