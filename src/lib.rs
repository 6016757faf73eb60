//! charter: Kubernetes manifest templating and packaging, layered per environment and region.
pub mod cli;
