//! Binary entry point: wiring only.
fn main() {}
