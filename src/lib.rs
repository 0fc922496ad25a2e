//! Examples, tests and benchmarks live beside this crate; see README.md.
