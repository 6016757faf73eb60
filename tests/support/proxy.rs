//! A TCP proxy in front of the test cluster's API server that a test can freeze: while frozen,
//! no byte passes in either direction (connections stay open, requests hang), as with an API
//! server that stopped answering. TLS passes through untouched; the server's certificate names
//! 127.0.0.1, so a kubeconfig pointing at the proxy's port verifies as before.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// A running proxy; it stops when dropped (with the test's runtime).
pub struct FreezableProxy {
    /// `127.0.0.1:PORT` it listens on.
    pub addr: String,
    frozen: Arc<AtomicBool>,
    task: tokio::task::JoinHandle<()>,
}

impl FreezableProxy {
    /// Starts a proxy forwarding to `target` (`host:port`).
    pub async fn start(target: &str) -> FreezableProxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let frozen = Arc::new(AtomicBool::new(false));
        let (target, flag) = (target.to_string(), frozen.clone());
        let task = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let (target, flag) = (target.clone(), flag.clone());
                tokio::spawn(async move {
                    let Ok(server) = TcpStream::connect(&target).await else {
                        return;
                    };
                    let (cr, cw) = client.into_split();
                    let (sr, sw) = server.into_split();
                    tokio::join!(pump(cr, sw, flag.clone()), pump(sr, cw, flag));
                });
            }
        });
        FreezableProxy { addr, frozen, task }
    }

    /// Starts a proxy in front of the API server of `kubeconfig` and writes a copy of the
    /// kubeconfig that goes through it to `dir/kubeconfig-proxied`.
    pub async fn for_kubeconfig(kubeconfig: &Path, dir: &Path) -> (FreezableProxy, PathBuf) {
        let text = std::fs::read_to_string(kubeconfig).unwrap();
        let server = text
            .lines()
            .find_map(|l| l.trim().strip_prefix("server: "))
            .expect("a server in the test kubeconfig")
            .trim()
            .to_string();
        let hostport = server.trim_start_matches("https://").to_string();
        let proxy = FreezableProxy::start(&hostport).await;
        let path = dir.join("kubeconfig-proxied");
        std::fs::write(
            &path,
            text.replace(&server, &format!("https://{}", proxy.addr)),
        )
        .unwrap();
        (proxy, path)
    }

    /// Stops every byte from passing until [`FreezableProxy::thaw`].
    pub fn freeze(&self) {
        self.frozen.store(true, Ordering::SeqCst);
    }

    /// Lets bytes pass again.
    pub fn thaw(&self) {
        self.frozen.store(false, Ordering::SeqCst);
    }
}

impl Drop for FreezableProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Copies one direction, holding each chunk while frozen.
async fn pump(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    frozen: Arc<AtomicBool>,
) {
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = match from.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        while frozen.load(Ordering::SeqCst) {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        if to.write_all(&buf[..n]).await.is_err() {
            break;
        }
    }
    let _ = to.shutdown().await;
}
