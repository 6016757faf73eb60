//! Releases: the record of every revision, stored as Secrets in the release's namespace.

pub mod kube_store;
pub mod live;
pub mod lock;
pub mod ops;
pub mod preview;
pub mod record;
pub mod store;

pub use record::{ChartRef, InventoryItem, RecordError, ReleaseRecord, Status, TargetRef};
pub use store::{StoreError, StoredSecret};
