//! charter: Kubernetes manifest templating and packaging, layered per environment and region.
//!
//! Data flows one way: `chart` → `values` → `render` → `manifest` → `diff` / `cluster` →
//! `release`; `deploy` resolves deploy trees, `repo` fetches charts, `object` names objects
//! for all of them, `action` drives the pipeline for each command, and `cli` is the only
//! module that prints. docs/architecture.md draws the map.
pub mod action;
pub mod chart;
pub mod cli;
pub mod cluster;
pub mod deploy;
pub mod diff;
pub mod duration;
pub mod interrupt;
pub mod manifest;
pub mod object;
pub mod oci;
pub mod release;
pub mod render;
pub mod repo;
pub mod values;
pub mod yaml;
