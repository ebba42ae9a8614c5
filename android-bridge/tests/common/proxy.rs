//! A TCP proxy in front of the XMPP port that the test can cut (every connection dropped,
//! new ones refused) and restore. It runs on its own thread and runtime so a test that
//! blocks on the attendee never stalls it.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

pub struct Proxy {
    pub addr: SocketAddr,
    cut: watch::Sender<u64>,
    refusing: Arc<AtomicBool>,
    /// Connections accepted and forwarded so far.
    pub forwarded: Arc<AtomicU64>,
}

impl Proxy {
    pub fn start(target: SocketAddr) -> Proxy {
        let std_listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        std_listener.set_nonblocking(true).unwrap();
        let addr = std_listener.local_addr().unwrap();
        let (cut, cuts) = watch::channel(0u64);
        let refusing = Arc::new(AtomicBool::new(false));
        let forwarded = Arc::new(AtomicU64::new(0));
        let (r, f) = (refusing.clone(), forwarded.clone());
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async move {
                let listener = TcpListener::from_std(std_listener).unwrap();
                loop {
                    let Ok((client, _)) = listener.accept().await else {
                        return;
                    };
                    if r.load(Ordering::SeqCst) {
                        drop(client);
                        continue;
                    }
                    f.fetch_add(1, Ordering::SeqCst);
                    tokio::spawn(forward(client, target, cuts.clone()));
                }
            });
        });
        Proxy {
            addr,
            cut,
            refusing,
            forwarded,
        }
    }

    /// Drops every live connection and refuses new ones until [`Proxy::restore`].
    pub fn cut(&self) {
        self.refusing.store(true, Ordering::SeqCst);
        self.cut.send_modify(|n| *n += 1);
    }

    pub fn restore(&self) {
        self.refusing.store(false, Ordering::SeqCst);
    }
}

async fn forward(mut client: TcpStream, target: SocketAddr, mut cuts: watch::Receiver<u64>) {
    let Ok(mut server) = TcpStream::connect(target).await else {
        return;
    };
    cuts.borrow_and_update();
    tokio::select! {
        _ = tokio::io::copy_bidirectional(&mut client, &mut server) => {}
        _ = cuts.changed() => {}
    }
    // Dropping both sockets is the cut: the attendee sees its connection die.
}
