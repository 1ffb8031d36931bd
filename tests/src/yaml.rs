//! A tiny block-style YAML writer for JSON values (enough for Kubernetes
//! manifests; strings are emitted double-quoted, which YAML accepts).

use serde_json::Value;

/// Renders `v` as block YAML.
pub(crate) fn to_yaml(v: &Value) -> String {
    let mut out = String::new();
    emit(&mut out, v, 0);
    out
}

fn scalar(v: &Value) -> String {
    match v {
        Value::String(s) => Value::String(s.clone()).to_string(),
        Value::Object(m) if m.is_empty() => "{}".into(),
        Value::Array(a) if a.is_empty() => "[]".into(),
        other => other.to_string(),
    }
}

/// Plain keys stay bare (`apiVersion`, `kubernetes.io/os`); anything
/// else is quoted.
fn key(k: &str) -> String {
    let plain = k.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
        && k.chars()
            .all(|c| c.is_ascii_alphanumeric() || "_-./".contains(c));
    if plain {
        k.to_string()
    } else {
        Value::String(k.to_string()).to_string()
    }
}

fn is_block(v: &Value) -> bool {
    match v {
        Value::Object(m) => !m.is_empty(),
        Value::Array(a) => !a.is_empty(),
        _ => false,
    }
}

fn emit(out: &mut String, v: &Value, indent: usize) {
    let pad = " ".repeat(indent);
    match v {
        Value::Object(m) if !m.is_empty() => {
            for (k, val) in m {
                let key = key(k);
                if is_block(val) {
                    out.push_str(&format!("{pad}{key}:\n"));
                    let child =
                        if val.is_array() { indent } else { indent + 2 };
                    emit(out, val, child);
                } else {
                    out.push_str(&format!("{pad}{key}: {}\n", scalar(val)));
                }
            }
        }
        Value::Array(a) if !a.is_empty() => {
            for item in a {
                if is_block(item) {
                    let mut sub = String::new();
                    emit(&mut sub, item, indent + 2);
                    // Put the first line of the item after the dash.
                    out.push_str(&format!("{pad}- {}", &sub[indent + 2..]));
                } else {
                    out.push_str(&format!("{pad}- {}\n", scalar(item)));
                }
            }
        }
        other => out.push_str(&format!("{pad}{}\n", scalar(other))),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests may unwrap
mod tests {
    use super::*;

    #[test]
    fn nested_objects_and_lists_become_block_yaml() {
        let v = serde_json::json!({
            "kind": "Node",
            "metadata": {"labels": {}, "name": "n1"},
            "spec": {"list": [{"a": 1, "b": "x"}, "y"]}
        });
        assert_eq!(
            to_yaml(&v),
            "kind: \"Node\"\nmetadata:\n  labels: {}\n  name: \"n1\"\n\
             spec:\n  list:\n  - a: 1\n    b: \"x\"\n  - \"y\"\n"
        );
    }
}
