// The codec and reducer the session uses (its `Sync`), from the shared, vector-tested
// implementation in codec.js and state.js. Events are applied in place: the state is one plain
// object in the spec's state form, re-rendered after every event, so copying it per event (as
// `reduce` does) would only cost time with long strokes.

import { decodeEvent } from './codec.js';
import { applyEvent, initialState, stateFromSnapshot } from './state.js';

/** @type {import('./session.js').Sync} */
export const sync = {
    initial: initialState,
    // events without a valid seq decode to null; the session checks seq itself
    decodeEvent: /** @type {any} */ (decodeEvent),
    decodeSnapshot: stateFromSnapshot,
    apply(state, ev) {
        const ignored = applyEvent(state, /** @type {any} */ (ev));
        if (ignored && globalThis.localStorage?.getItem('lectern.debug')) {
            console.debug('lectern: event', ev.seq, 'ignored:', ignored.message);
        }
        return state;
    },
};
