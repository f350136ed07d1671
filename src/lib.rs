//! fwgen turns vendor "ports and protocols" tables into firewall rulesets.
//!
//! The pipeline is four stages, one module each:
//!
//! 1. [`catalogue::load`] reads `data/*.yaml` (or the copy built into the binary) into a
//!    validated [`model::Catalogue`]: every row of every vendor table, with provenance.
//! 2. [`site::Site`] binds it to one deployment: addresses for the gateway, internal roles
//!    and hosts; enabled features; changed ports.
//! 3. [`select::select`] picks a product version, component and features and produces a
//!    backend-neutral, sorted, merged [`ruleset::Ruleset`].
//! 4. [`render::Backend::render`] prints it in one firewall syntax.
//!
//! ```
//! let cat = fwgen::catalogue::load_embedded().unwrap();
//! let req = fwgen::select::Request {
//!     product: Some("icap-gateway".into()),
//!     features: vec!["snmp".into()],
//!     // No site file binds its roles: let their rules admit any address.
//!     allow_unbound: true,
//!     ..Default::default()
//! };
//! let rules = fwgen::select::select(&cat, &fwgen::site::Site::default(), &req).unwrap();
//! assert!(rules.rules.iter().any(|r| r.service.ports().is_some_and(|p| p.contains(161))));
//! let opts = fwgen::render::RenderOptions { placement: fwgen::render::Placement::Host, ..Default::default() };
//! let fwgen::render::Output::Single(nft) = fwgen::render::Backend::Nftables.render(&rules, &opts).unwrap().output else {
//!     unreachable!("nftables renders one file")
//! };
//! assert!(nft.contains("table inet fwgen {"));
//! ```

// No function longer than 80 lines (clippy.toml): a long one is doing several jobs.
#![warn(clippy::too_many_lines)]
#![warn(unreachable_pub)]
// The C library calls fwgen makes itself live in `sys`, behind safe functions; nowhere else.
#![deny(unsafe_code)]
#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing,
        clippy::unreachable,
        clippy::todo
    )
)]

pub use command::run;

mod apply;
pub mod audit;
pub mod catalogue;
mod cli;
mod command;
mod diagnostic;
pub mod diff;
mod error;
#[doc(hidden)]
pub mod fuzzing;
mod job;
mod manifest;
pub mod model;
pub mod names;
pub mod output;
mod par;
mod paths;
pub mod render;
mod ruleset;
pub mod select;
pub mod site;
mod suggest;
mod sys;
pub mod text;
mod yaml;
