//! The shipped catalogue, compiled into the binary so `fwgen` works from any directory.
//!
//! A test checks that this list names exactly the files in `data/`.

include!(concat!(env!("OUT_DIR"), "/catalogue_json.rs"));

/// The JSON form of the embedded file `name` and its SHA-256 (see `build.rs`), if it has
/// them.
pub(super) fn json(name: &str) -> Option<(&'static str, &'static str)> {
    JSON.iter()
        .find(|(n, ..)| *n == name)
        .map(|(_, j, d, ..)| (*j, *d))
}

/// The `product:` and `version:` of the embedded file `name`, as its JSON form says (empty
/// where they are not strings; `None` without a JSON form).
pub(super) fn product_version(name: &str) -> Option<(&'static str, &'static str)> {
    JSON.iter()
        .find(|(n, ..)| *n == name)
        .map(|(.., p, v)| (*p, *v))
}

/// `(file name, contents)` of every file in `data/`, sorted by name.
pub(super) const FILES: &[(&str, &str)] = &[
    (
        "email-gateway-4.9.yaml",
        include_str!("../../data/email-gateway-4.9.yaml"),
    ),
    (
        "email-gateway-4.x.yaml",
        include_str!("../../data/email-gateway-4.x.yaml"),
    ),
    (
        "email-gateway-5.3.yaml",
        include_str!("../../data/email-gateway-5.3.yaml"),
    ),
    (
        "exchange-gateway-2018.yaml",
        include_str!("../../data/exchange-gateway-2018.yaml"),
    ),
    (
        "icap-gateway-4.8.yaml",
        include_str!("../../data/icap-gateway-4.8.yaml"),
    ),
];
