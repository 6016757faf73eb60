//! The modules under test, compiled straight from the main crate's sources.
#[path = "../../src/yaml.rs"]
pub mod yaml;

#[path = "../../src/values/mod.rs"]
pub mod values;
