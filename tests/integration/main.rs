//! Integration tests, compiled as one binary. Helpers live in `util`.

mod cisco;
mod cli;
mod coverage;
mod errors;
mod generate;
mod hostile;
mod live;
mod readme;
mod tools;
mod util;
