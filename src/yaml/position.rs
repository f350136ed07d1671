//! Line numbers for items in our YAML files.
//!
//! serde gives positions for errors found while parsing, but not for values that parsed fine
//! and are found wrong later (a duplicate id, an unknown feature). Our files are block-style
//! YAML written by people, so the line of `- id: X` under a top-level key, or of `KEY:` under
//! one, is found by a scan of the text.

/// Lines of `- id: X` items and `KEY:` map keys, by the top-level section they sit in.
#[derive(Clone, Debug, Default)]
pub(crate) struct Positions {
    items: std::collections::BTreeMap<(String, String), Vec<usize>>,
}

impl Positions {
    pub(crate) fn scan(text: &str) -> Self {
        let mut items: std::collections::BTreeMap<(String, String), Vec<usize>> =
            Default::default();
        let mut section = String::new();
        for (i, raw) in text.lines().enumerate() {
            let line = raw.trim_end();
            if line.is_empty() || line.trim_start().starts_with('#') {
                continue;
            }
            let indent = line.len() - line.trim_start().len();
            let body = line.trim_start();
            if indent == 0 {
                if let Some((k, _)) = body.split_once(':') {
                    section = k.trim().to_string();
                }
                continue;
            }
            let (is_item, rest) = match body.strip_prefix("- ") {
                Some(r) => (true, r.trim_start()),
                None => (false, body),
            };
            if is_item {
                if let Some(v) = rest.strip_prefix("id:") {
                    items
                        .entry((section.clone(), unquote(v)))
                        .or_default()
                        .push(i + 1);
                }
            } else if let Some((k, _)) = rest.split_once(':') {
                items
                    .entry((section.clone(), unquote(k)))
                    .or_default()
                    .push(i + 1);
            }
        }
        Self { items }
    }

    /// Every line where `section` has an item or key `name`, in file order.
    pub(crate) fn lines(&self, section: &str, name: &str) -> Vec<usize> {
        self.items
            .get(&(section.to_string(), name.to_string()))
            .cloned()
            .unwrap_or_default()
    }

    /// The first such line, or 1 when not found.
    pub(crate) fn line(&self, section: &str, name: &str) -> usize {
        self.lines(section, name).first().copied().unwrap_or(1)
    }

    /// The line of top-level `key:`, or 1.
    pub(crate) fn top(text: &str, key: &str) -> usize {
        text.lines()
            .position(|l| l.split_once(':').is_some_and(|(k, _)| k == key))
            .map_or(1, |i| i + 1)
    }
}

fn unquote(s: &str) -> String {
    let s = s.trim();
    let s = s.split(" #").next().unwrap_or(s).trim();
    s.trim_matches(|c| c == '"' || c == '\'').to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_items_and_keys() {
        let text = "features:\n  - id: pmm\n    description: x\nentries:\n  - id: smtp\n  # c\n  - id: \"pmm\"\nroles:\n  backup-server: [192.0.2.1]\n";
        let p = Positions::scan(text);
        assert_eq!(p.lines("features", "pmm"), vec![2]);
        assert_eq!(p.lines("entries", "pmm"), vec![7]);
        assert_eq!(p.line("entries", "smtp"), 5);
        assert_eq!(p.line("roles", "backup-server"), 9);
        assert_eq!(Positions::top(text, "roles"), 8);
    }
}
