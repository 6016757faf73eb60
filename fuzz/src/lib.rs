//! The modules under test, compiled straight from the main crate's sources.
#[path = "../../src/yaml/mod.rs"]
pub mod yaml;

#[path = "../../src/values/mod.rs"]
pub mod values;

#[path = "../../src/object.rs"]
pub mod object;
