//! The shipped catalogue, compiled into the binary so `fwgen` works from any directory.
//!
//! A test checks that this list names exactly the files in `data/`.

include!(concat!(env!("OUT_DIR"), "/catalogue_json.rs"));

/// One built-in file as `build.rs` recorded it.
#[derive(Debug)]
pub(super) struct Built {
    pub(super) name: &'static str,
    /// The file as JSON, which reads faster than its YAML.
    pub(super) json: &'static str,
    /// The file's SHA-256.
    pub(super) digest: &'static str,
    /// Its `product:` and `version:` (empty where they are not strings).
    pub(super) product: &'static str,
    pub(super) version: &'static str,
}

/// What `build.rs` recorded of the embedded file `name`, if it has a JSON form.
pub(super) fn built(name: &str) -> Option<&'static Built> {
    JSON.iter().find(|b| b.name == name)
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
