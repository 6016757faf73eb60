//! Command line interface; the only module that prints.
pub fn main() -> i32 {
    0
}
