//! A live ruleset's JSON listing checked, as it is read, for what nft would list as other
//! than it is. nft prints names unquoted and quoted strings unescaped, and the kernel takes
//! any name: a chain named `x {⏎include "/etc/shadow"⏎chain y` (nft's JSON input makes one;
//! anyone with `CAP_NET_ADMIN` can) lists as an `include`, which loading the listing (apply's
//! model, a rollback) would read, and nft's error print. Every name must be one nft reads back
//! as one word; no other string may hold a quote, a backslash or a control character.
//!
//! The listing is walked as serde reads it, never held: a 100,000-rule listing is 32 MB of
//! JSON, which as a `serde_json::Value` would take ten times that.

use serde::de::{DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};

use super::ApplyError;

/// Refuse a listing (`nft -j list ruleset`) nft would not list back as itself, naming the
/// first name or string that makes it so.
pub(super) fn check(json: &str) -> Result<(), ApplyError> {
    match first_unreadable(json) {
        Err(e) => Err(ApplyError::Tool {
            command: "nft -j list ruleset".into(),
            why: format!("not JSON: {e}"),
        }),
        Ok(None) => Ok(()),
        Ok(Some(what)) => Err(ApplyError::Unprovable(format!(
            "the live ruleset has {what}, which nft lists as other statements than it is (nft \
             prints names unquoted and strings unescaped): apply loads the live ruleset to \
             model the result and to roll back, and would load those. Nothing was changed; \
             rename or remove it"
        ))),
    }
}

/// The first name or string of a JSON listing nft would not list back as itself, said as
/// what it is.
fn first_unreadable(json: &str) -> Result<Option<String>, serde_json::Error> {
    let mut de = serde_json::Deserializer::from_str(json);
    let found = Walk {
        key: "",
        kind: "ruleset",
    }
    .deserialize(&mut de)?;
    de.end()?;
    Ok(found)
}

/// Whether nft reads `w` back as one word where it prints a name unquoted (its scanner's
/// identifiers: a letter or `_`, then letters, digits, `_`, `-`, `.` and `/`).
pub(super) fn word(w: &str) -> bool {
    w.chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && w.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | '/'))
}

/// One JSON value, walked: `key` is its key, `kind` the key of the object that holds it.
struct Walk<'a> {
    key: &'a str,
    kind: &'a str,
}

impl Walk<'_> {
    /// What is wrong with a string here, if anything.
    fn judge(&self, text: &str) -> Option<String> {
        let name = matches!(self.key, "name" | "table" | "chain" | "target" | "family");
        let bad = if name {
            !word(text)
        } else if let Some(set) = text.strip_prefix('@') {
            !word(set)
        } else {
            text.chars()
                .any(|c| c == '"' || c == '\\' || c.is_control())
        };
        bad.then(|| {
            let shown = crate::text::escaped(text, 120);
            match self.key {
                "name" => format!("a {} named `{shown}`", self.kind),
                key => format!("a {} whose {key} is `{shown}`", self.kind),
            }
        })
    }
}

impl<'de> DeserializeSeed<'de> for Walk<'_> {
    type Value = Option<String>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Walk<'_> {
    type Value = Option<String>;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("nft's JSON listing")
    }

    fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
        Ok(self.judge(v))
    }

    fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_i64<E>(self, _: i64) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_u64<E>(self, _: u64) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_f64<E>(self, _: f64) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut found = None;
        while let Some(f) = seq.next_element_seed(Walk { ..self })? {
            found = found.or(f);
        }
        Ok(found)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut found = None;
        while let Some(key) = map.next_key::<String>()? {
            let f = map.next_value_seed(Walk {
                key: &key,
                kind: self.key,
            })?;
            found = found.or(f);
        }
        Ok(found)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_strings_nft_would_not_list_back_as_themselves() {
        let check = |json: &str| first_unreadable(json).unwrap();
        let ok = r#"{"nftables": [{"metainfo": {"release_name": "Lester Gooch #5"}},
            {"chain": {"family": "ip", "table": "filter", "name": "DOCKER-ISOLATION-STAGE-1"}},
            {"rule": {"family": "inet", "table": "f2b-table", "chain": "f2b.chain/x", "expr": [
                {"match": {"left": {"meta": {"key": "iifname"}}, "right": "eth0"}},
                {"match": {"left": {"payload": {"field": "saddr"}}, "right": "@addr-set"}},
                {"jump": {"target": "_next"}}], "comment": "ssh; from admins {all}"}}]}"#;
        assert_eq!(check(ok), None);
        for (json, said) in [
            (
                r#"{"chain": {"name": "x {\ninclude \"/etc/shadow\"\nchain y"}}"#,
                r#"a chain named `x {\ninclude \"/etc/shadow\"\nchain y`"#,
            ),
            (
                r#"{"table": {"name": "t; include"}}"#,
                "a table named `t; include`",
            ),
            (
                r#"{"rule": {"comment": "a\" include \"/etc/shadow"}}"#,
                r#"a rule whose comment is `a\" include \"/etc/shadow`"#,
            ),
            (
                r#"{"match": {"right": "@s x"}}"#,
                "a match whose right is `@s x`",
            ),
            (
                r#"{"jump": {"target": "1x"}}"#,
                "a jump whose target is `1x`",
            ),
        ] {
            assert_eq!(check(json).as_deref(), Some(said), "{json}");
        }
    }

    #[test]
    fn deep_or_broken_json_is_an_error_not_a_crash() {
        let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
        assert!(first_unreadable(&deep).is_err());
        assert!(first_unreadable("{\"nftables\": [").is_err());
        assert!(first_unreadable("[] []").is_err());
        assert!(matches!(check("{"), Err(ApplyError::Tool { .. })));
    }
}
