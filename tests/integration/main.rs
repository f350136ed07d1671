//! Integration tests, compiled as one binary. Helpers live in `util`.

mod cisco;
mod cli;
mod coverage;
mod errors;
mod eval;
mod examples;
mod fuzz_regressions;
mod generate;
mod hardening;
mod hostile;
mod least_privilege;
mod live;
mod names;
mod outputs;
mod pipeline;
mod properties;
mod readme;
mod report;
mod tools;
mod util;
