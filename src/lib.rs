//! charter: Kubernetes manifest templating and packaging, layered per environment and region.
//!
//! Data flows one way: `chart` → `values` → `render` → `manifest` → `diff` / `cluster` →
//! `release`; `target` resolves deploy trees, `repo` fetches charts, and `cli` is the only
//! module that prints.
pub mod chart;
pub mod cli;
pub mod cluster;
pub mod diff;
pub mod manifest;
pub mod oci;
pub mod release;
pub mod render;
pub mod repo;
pub mod target;
pub mod values;
pub mod yaml;
