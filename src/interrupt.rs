//! SIGINT (Ctrl-C) and SIGTERM (a CI job cancelled): a release operation that is interrupted
//! stops where it stands, marks its revision failed and releases its lock, instead of dying
//! with the revision pending and the lock held until its TTL runs out.
//!
//! The CLI calls [`listen`] once. From then on the first signal ends the process at once
//! (exit 130 or 143, as the default action would) unless an operation holds a [`Shield`]: then
//! the signal is delivered to [`wait`], and the operation cleans up and returns
//! [`crate::action::Error::Interrupted`]. A second signal always ends the process at once, so a
//! cleanup that hangs (an API server that stopped answering) cannot keep it alive.
//! Without [`listen`] (the library used on its own) signals keep their default action and
//! [`wait`] never returns.

use std::sync::atomic::{AtomicI32, AtomicUsize, Ordering};

use tokio::sync::Notify;

/// A signal that interrupts an operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signal {
    /// SIGINT: Ctrl-C.
    Int,
    /// SIGTERM: a CI cancellation, `kill`, a container stopping.
    Term,
}

impl Signal {
    /// The exit code of a process ended by this signal (128 + its number).
    pub fn exit_code(self) -> i32 {
        match self {
            Signal::Int => 130,
            Signal::Term => 143,
        }
    }

    /// `SIGINT` or `SIGTERM`.
    pub fn name(self) -> &'static str {
        match self {
            Signal::Int => "SIGINT",
            Signal::Term => "SIGTERM",
        }
    }

    fn from_code(code: i32) -> Option<Signal> {
        match code {
            130 => Some(Signal::Int),
            143 => Some(Signal::Term),
            _ => None,
        }
    }
}

/// The exit code of the first signal received, 0 before any.
static RECEIVED: AtomicI32 = AtomicI32::new(0);
/// How many [`Shield`]s are alive.
static SHIELDS: AtomicUsize = AtomicUsize::new(0);
static NOTIFY: Notify = Notify::const_new();

/// Handles SIGINT and SIGTERM for the rest of the process, on a thread of its own (so a busy
/// or blocked runtime cannot delay it). An error means the handlers could not be installed;
/// signals then keep their default action.
pub fn listen() -> std::io::Result<()> {
    use tokio::signal::unix::{SignalKind, signal};
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .build()?;
    // Installed here, before the thread starts, so no signal falls between the two.
    let (mut int, mut term) = rt.block_on(async {
        Ok::<_, std::io::Error>((
            signal(SignalKind::interrupt())?,
            signal(SignalKind::terminate())?,
        ))
    })?;
    std::thread::Builder::new()
        .name("signals".into())
        .spawn(move || {
            rt.block_on(async {
                loop {
                    let got = tokio::select! {
                        _ = int.recv() => Signal::Int,
                        _ = term.recv() => Signal::Term,
                    };
                    received(got);
                }
            })
        })?;
    Ok(())
}

fn received(signal: Signal) {
    let first = RECEIVED
        .compare_exchange(0, signal.exit_code(), Ordering::SeqCst, Ordering::SeqCst)
        .is_ok();
    if !first {
        use std::io::Write as _;
        let _ = writeln!(
            std::io::stderr(),
            "{}: second signal, exiting without cleaning up (the release lock frees when its TTL runs out)",
            signal.name()
        );
        std::process::exit(signal.exit_code());
    }
    if SHIELDS.load(Ordering::SeqCst) == 0 {
        std::process::exit(signal.exit_code());
    }
    NOTIFY.notify_waiters();
}

/// The first signal received, if any.
pub fn signalled() -> Option<Signal> {
    Signal::from_code(RECEIVED.load(Ordering::SeqCst))
}

/// Waits for the first signal (returns at once if one came already).
pub async fn wait() -> Signal {
    loop {
        let notified = NOTIFY.notified();
        tokio::pin!(notified);
        notified.as_mut().enable();
        if let Some(s) = signalled() {
            return s;
        }
        notified.await;
    }
}

/// While alive, a signal is delivered to [`wait`] instead of ending the process: held by an
/// operation that has something to clean up (a release's lock, a pending revision).
pub struct Shield(());

impl Shield {
    /// Takes a shield.
    pub fn new() -> Shield {
        SHIELDS.fetch_add(1, Ordering::SeqCst);
        Shield(())
    }
}

impl Default for Shield {
    fn default() -> Shield {
        Shield::new()
    }
}

impl Drop for Shield {
    fn drop(&mut self) {
        SHIELDS.fetch_sub(1, Ordering::SeqCst);
    }
}
