//! Releases: every revision of a release recorded in a [`store::ReleaseStore`], and the
//! operations that write them.
//!
//! - [`record`]: what one revision is (the record format).
//! - [`store`]: where records live (Secrets in the cluster, or memory).
//! - [`lock`]: one operation at a time per release (a renewed Lease).
//! - [`session`]: an operation in progress: lock held, history read, stale revision repaired.
//! - [`deploy`], [`wait`], [`uninstall`]: what an operation does inside a session.
//! - [`hooks`]: a chart's hooks run around an operation, and `charter test`.
//! - `events`: the Events a failed wait or hook shows, read one way for both.
//! - [`desired`]: rendered manifests turned into the objects a deploy applies.
//! - [`live`]: the live state of a release's objects, read with a list per kind.
//! - [`preview`]: what a deploy would do, for `charter diff`, without changing anything.
//! - [`adopt`]: a release's history moved between Helm's storage and charter's.
//! - [`takeover`]: field ownership moved between Helm's field manager and charter's.

pub mod adopt;
pub mod deploy;
pub mod desired;
pub mod error;
mod events;
pub mod hooks;
pub mod live;
pub mod lock;
pub mod preview;
pub mod record;
pub mod session;
pub mod store;
pub mod takeover;
pub mod uninstall;
pub mod wait;

pub use deploy::{ApplyHow, Deploy, rollback_deploy};
pub use error::{OpError, Progress, Report};
pub use hooks::{HookEvent, RunHooks};
pub use record::{ChartRef, Hook, HookRun, RecordError, ReleaseRecord, Status, TargetRef};
pub use session::{LockOptions, Session, begin};
pub use store::{ClusterStore, ReleaseStore, SecretStore, Storage, StoreError};
