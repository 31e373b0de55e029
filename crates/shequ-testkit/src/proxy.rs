//! A TCP proxy on loopback that a test can cut, blackhole and restore, to take a database away
//! from a service and give it back.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

pub struct TcpProxy {
    pub addr: SocketAddr,
    open: Arc<AtomicBool>,
    cut: watch::Sender<u64>,
    /// Whether bytes flow; while false, connections stay open and nothing is forwarded.
    flowing: watch::Sender<bool>,
}

impl TcpProxy {
    /// Forwards connections on a fresh loopback port to `target`.
    pub async fn start(target: SocketAddr) -> std::io::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let open = Arc::new(AtomicBool::new(true));
        let (cut, _) = watch::channel(0u64);
        let (flowing, _) = watch::channel(true);
        let accept_open = open.clone();
        let cut_rx = cut.subscribe();
        let flowing_rx = flowing.subscribe();
        tokio::spawn(async move {
            while let Ok((inbound, _)) = listener.accept().await {
                if !accept_open.load(Ordering::SeqCst) {
                    drop(inbound);
                    continue;
                }
                let mut cut_rx = cut_rx.clone();
                // Only cuts after this connection was accepted apply to it.
                cut_rx.borrow_and_update();
                let flowing = flowing_rx.clone();
                tokio::spawn(async move {
                    let Ok(outbound) = TcpStream::connect(target).await else {
                        return;
                    };
                    let (in_read, in_write) = inbound.into_split();
                    let (out_read, out_write) = outbound.into_split();
                    tokio::select! {
                        _ = pump(in_read, out_write, flowing.clone()) => {}
                        _ = pump(out_read, in_write, flowing) => {}
                        _ = cut_rx.changed() => {}
                    }
                });
            }
        });
        Ok(Self {
            addr,
            open,
            cut,
            flowing,
        })
    }

    /// Drops every open connection and refuses new ones.
    pub fn cut(&self) {
        self.open.store(false, Ordering::SeqCst);
        self.cut.send_modify(|n| *n += 1);
    }

    /// Keeps every connection open but forwards nothing, either way, until [`restore`]: a
    /// network that swallows packets, as opposed to one that refuses them.
    ///
    /// [`restore`]: Self::restore
    pub fn blackhole(&self) {
        self.flowing.send_replace(false);
    }

    /// Accepts connections and forwards bytes again.
    pub fn restore(&self) {
        self.open.store(true, Ordering::SeqCst);
        self.flowing.send_replace(true);
    }
}

/// Copies `from` to `to` while `flowing` says so; holds what it read meanwhile.
async fn pump(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    mut flowing: watch::Receiver<bool>,
) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        if flowing.wait_for(|&f| f).await.is_err() {
            return;
        }
        let n = match from.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        if flowing.wait_for(|&f| f).await.is_err() || to.write_all(&buf[..n]).await.is_err() {
            return;
        }
    }
}
