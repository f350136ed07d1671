//! "Did you mean" suggestions for mistyped ids.

/// The candidate closest to `input`, if it is close enough to be a likely typo.
pub(crate) fn did_you_mean<'a>(
    input: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    let mut best: Option<(usize, &str)> = None;
    for c in candidates {
        let d = strsim::damerau_levenshtein(&input.to_lowercase(), &c.to_lowercase());
        let limit = (c.chars().count().max(input.chars().count()) / 3).max(1);
        let prefix = c.starts_with(input) || input.starts_with(c);
        if (d <= limit || (prefix && input.len() >= 3)) && best.is_none_or(|(bd, _)| d < bd) {
            best = Some((d, c));
        }
    }
    best.map(|(_, c)| c)
}

/// `"; did you mean `x`?"` or `"; expected one of `a`, `b`"` for an error message.
pub(crate) fn hint<'a>(
    input: &str,
    candidates: impl IntoIterator<Item = &'a str> + Clone,
) -> String {
    match did_you_mean(input, candidates.clone()) {
        Some(c) => format!("; did you mean `{c}`?"),
        None => {
            let all: Vec<String> = candidates.into_iter().map(|c| format!("`{c}`")).collect();
            if all.is_empty() {
                String::new()
            } else {
                format!("; expected one of {}", all.join(", "))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggestions() {
        let feats = ["kaspersky", "sophos", "pmm", "ntlm", "snmp"];
        assert_eq!(did_you_mean("kaspersy", feats), Some("kaspersky"));
        assert_eq!(did_you_mean("Sopohs", feats), Some("sophos"));
        assert_eq!(did_you_mean("pm", feats), Some("pmm"));
        assert_eq!(did_you_mean("firewall", feats), None);
        assert_eq!(hint("zzz", ["a", "b"]), "; expected one of `a`, `b`");
    }
}
