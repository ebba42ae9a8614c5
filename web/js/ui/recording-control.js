// The recording indicator in the top bar, and the presenter's Pause/Resume button.
//
// Whether the recording is paused is synchronised meeting state (`recording_paused`, see
// protocol/README.md), so everyone — also whoever joins late, through the snapshot — sees the
// same indicator, and the button only asks the focus: the indicator changes when the focus's
// event comes back, never on the click alone.

/** @typedef {import('../protocol/session.js').Session} Session */

export class RecordingControl {
    /**
     * @param {{ session: Session, badge: HTMLElement, button: HTMLButtonElement, recorded: boolean }} opts
     *     `recorded`: the meeting is recorded at all (created without `"recording": false`)
     */
    constructor(opts) {
        this.session = opts.session;
        this.badge = opts.badge;
        this.button = opts.button;
        this.recorded = opts.recorded;
        this.button.addEventListener('click', () => this.toggle());
        this.session.addEventListener('state', () => this.update());
        this.session.addEventListener('status', () => this.update());
        this.update();
    }

    get paused() {
        return this.session.state?.recording_paused === true;
    }

    toggle() {
        if (!this.session.isPresenter) return;
        this.session.request('recording', { paused: !this.paused });
    }

    update() {
        // Until the first state arrives we do not know, and a wrong "Recording" would mislead.
        const known = this.recorded && !!this.session.state && this.session.state.seq > 0;
        const paused = this.paused;
        this.badge.hidden = !known;
        this.badge.dataset.state = paused ? 'paused' : 'recording';
        this.badge.textContent = paused ? 'Recording paused' : 'Recording';
        this.badge.title = paused
            ? 'The presenter paused the recording: what happens now is left out of it'
            : 'This meeting is being recorded';
        this.button.hidden = !known || !this.session.isPresenter;
        this.button.textContent = paused ? 'Resume recording' : 'Pause recording';
        this.button.setAttribute('aria-pressed', String(paused));
    }
}
