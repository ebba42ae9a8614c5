//! Streams a prepared file into a meeting in real time, one batch of three 20 ms frames every
//! 60 ms, stamped on the presenter's clock: batch `i` carries `t = t0 + 60·i`, the time its
//! first sample would have reached the microphone. One file per meeting: playing another
//! replaces it, and stopping (or the meeting refusing a batch) ends it.

use std::collections::HashMap;
use std::fmt::Display;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use lectern_protocol::{Audio, AudioSource};
use tokio::runtime::Handle;
use tokio::sync::oneshot;
use tokio::time::{sleep_until, Instant};

use super::{Prepared, BATCH_FRAMES, FRAME_MS};
use crate::conference::meetings::MeetingNumber;
use crate::conference::{Conference, ConferenceError};

/// Where batches go: the focus, which sequences, archives and emits them into the room (in
/// tests, a channel).
pub trait AudioSink: Send + Sync + 'static {
    type Error: Display + Send;

    fn send(
        &self,
        meeting: &MeetingNumber,
        t: u64,
        audio: Audio,
    ) -> impl Future<Output = Result<(), Self::Error>> + Send;
}

impl AudioSink for Conference {
    type Error = ConferenceError;

    fn send(
        &self,
        meeting: &MeetingNumber,
        t: u64,
        audio: Audio,
    ) -> impl Future<Output = Result<(), ConferenceError>> + Send {
        self.inject_audio(meeting, t, audio)
    }
}

/// The files playing now, one per meeting.
pub struct Player<S> {
    sink: Arc<S>,
    runtime: Handle,
    playing: Mutex<HashMap<MeetingNumber, Playing>>,
    next_id: AtomicU64,
}

struct Playing {
    id: u64,
    /// Dropping it (on stop, or when another file replaces this one) ends the stream at its
    /// next batch boundary; a batch already handed to the sink is never cut in half.
    _stop: oneshot::Sender<()>,
}

impl<S: AudioSink> Player<S> {
    /// Streams run on `runtime` (the server's, not an HTTP worker's): they outlive the
    /// request that started them.
    pub fn new(sink: Arc<S>, runtime: Handle) -> Self {
        Player {
            sink,
            runtime,
            playing: Mutex::new(HashMap::new()),
            next_id: AtomicU64::new(1),
        }
    }

    /// Starts streaming `file` into `meeting`, its first sample at presenter time `t0`,
    /// replacing whatever file was playing there.
    pub fn play(self: &Arc<Self>, meeting: MeetingNumber, t0: u64, file: Prepared) {
        let (stop_tx, stop_rx) = oneshot::channel();
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let replaced = self
            .playing
            .lock()
            .expect("player lock")
            .insert(meeting.clone(), Playing { id, _stop: stop_tx });
        if replaced.is_some() {
            tracing::info!(%meeting, "audio file replaced by another");
        }
        let this = self.clone();
        self.runtime.spawn(async move {
            this.stream(&meeting, t0, file, stop_rx).await;
            let mut playing = this.playing.lock().expect("player lock");
            if playing.get(&meeting).is_some_and(|p| p.id == id) {
                playing.remove(&meeting);
            }
        });
    }

    /// Stops the meeting's file; false when none was playing.
    pub fn stop(&self, meeting: &MeetingNumber) -> bool {
        self.playing
            .lock()
            .expect("player lock")
            .remove(meeting)
            .is_some()
    }

    pub fn is_playing(&self, meeting: &MeetingNumber) -> bool {
        self.playing
            .lock()
            .expect("player lock")
            .contains_key(meeting)
    }

    async fn stream(
        &self,
        meeting: &MeetingNumber,
        t0: u64,
        file: Prepared,
        mut stop: oneshot::Receiver<()>,
    ) {
        let batch_ms = u64::from(FRAME_MS) * BATCH_FRAMES as u64;
        let start = Instant::now();
        for (i, batch) in file.frames.chunks(BATCH_FRAMES).enumerate() {
            let offset = i as u64 * batch_ms;
            // Deadlines come from the start, not from the previous send, so a slow send
            // is caught up instead of drifting the stream behind the presenter's clock.
            tokio::select! {
                biased;
                _ = &mut stop => return,
                _ = sleep_until(start + Duration::from_millis(offset)) => {}
            }
            let audio = Audio::opus(batch.to_vec(), FRAME_MS, AudioSource::File);
            if let Err(e) = self.sink.send(meeting, t0 + offset, audio).await {
                tracing::warn!(%meeting, "audio file stopped after {i} batches: {e}");
                return;
            }
        }
        tracing::info!(%meeting, "audio file played to the end ({} ms)", file.duration_ms);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::sync::mpsc;

    type Sent = (MeetingNumber, u64, Audio);

    struct Channel(mpsc::UnboundedSender<Sent>);

    impl AudioSink for Channel {
        type Error = String;

        async fn send(&self, m: &MeetingNumber, t: u64, audio: Audio) -> Result<(), String> {
            self.0
                .send((m.clone(), t, audio))
                .map_err(|_| "the meeting is gone".to_string())
        }
    }

    fn file(frames: usize) -> Prepared {
        Prepared {
            frames: (0..frames).map(|i| vec![i as u8]).collect(),
            duration_ms: frames as u64 * 20,
            description: "test".into(),
        }
    }

    fn setup() -> (
        Arc<Player<Channel>>,
        mpsc::UnboundedReceiver<Sent>,
        MeetingNumber,
    ) {
        let (tx, rx) = mpsc::unbounded_channel();
        let player = Arc::new(Player::new(Arc::new(Channel(tx)), Handle::current()));
        (player, rx, MeetingNumber::parse("123456789").unwrap())
    }

    #[tokio::test]
    async fn batches_of_three_frames_advance_t_by_60_ms() {
        let (player, mut rx, m) = setup();
        player.play(m.clone(), 5_000, file(8));
        let mut got = Vec::new();
        while got.len() < 3 {
            let (meeting, t, audio) = rx.recv().await.unwrap();
            assert_eq!(meeting, m);
            assert_eq!(
                (audio.rate, audio.channels, audio.ms, audio.source),
                (48_000, 1, 20, Some(AudioSource::File))
            );
            got.push((t, audio.frames.0.concat()));
        }
        assert_eq!(
            got,
            [
                (5_000, vec![0, 1, 2]),
                (5_060, vec![3, 4, 5]),
                (5_120, vec![6, 7])
            ]
        );
        while player.is_playing(&m) {
            tokio::task::yield_now().await;
        }
        assert!(rx.try_recv().is_err(), "done and forgotten");
    }

    #[tokio::test]
    async fn stop_ends_the_stream_and_a_new_file_replaces_the_old() {
        let (player, mut rx, m) = setup();
        player.play(m.clone(), 0, file(300));
        assert_eq!(rx.recv().await.unwrap().1, 0);
        player.play(m.clone(), 10_000, file(300));
        assert!(player.is_playing(&m));
        // The old stream ends at its next batch boundary; from the new one's first batch on,
        // only the new one's batches follow, in order.
        let mut new = Vec::new();
        while new.len() < 3 {
            let t = rx.recv().await.unwrap().1;
            if t >= 10_000 || !new.is_empty() {
                new.push(t);
            }
        }
        assert_eq!(new, [10_000, 10_060, 10_120]);
        assert!(player.stop(&m));
        assert!(!player.is_playing(&m));
        while rx.try_recv().is_ok() {}
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert!(rx.try_recv().is_err(), "nothing after stop");
        assert!(!player.stop(&m), "already stopped");
    }

    #[tokio::test]
    async fn a_refused_batch_ends_the_stream() {
        let (player, rx, m) = setup();
        drop(rx);
        player.play(m.clone(), 0, file(30));
        while player.is_playing(&m) {
            tokio::task::yield_now().await;
        }
    }
}
