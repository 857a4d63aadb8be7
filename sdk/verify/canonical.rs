//! Canonical JSON (RFC 8785, JCS) and the answer hash `H` (SPEC 2.2, decision a).
//!
//! `H(x)` is the first 16 lowercase hex characters of SHA-256 over the canonical JSON of `x`.
//! Every answer hash, code hash, hook value hash and fingerprint uses it, and it is computed only
//! here, in Rust: the sandbox returns values, never hashes.
//!
//! Canonical form: no whitespace, object keys sorted by UTF-16 code units, strings escaped only
//! where JSON requires it, numbers in the ECMAScript `Number::toString` form of the double, so
//! `42` and `42.0` both print `42` and `-0.0` prints `0`. The serialisation is done by the
//! `serde_json_canonicalizer` crate; no rounding happens before hashing.

use serde_json::Value;
use sha2::{Digest, Sha256};

/// The canonical JSON text of `value` (RFC 8785).
///
/// Integers beyond ±2^53 print as their exact digits; floats that are integral below 1e21 print
/// as integers. The input is expected to be strict JSON already (no NaN: serde_json cannot hold
/// one).
pub fn canonical_json(value: &Value) -> String {
    // Integers outside the exactly representable double range keep their exact digits, as
    // SPEC 2.2 requires; JCS would otherwise print them through an f64.
    if needs_exact_integers(value) {
        let mut out = String::new();
        write_exact(value, &mut out);
        return out;
    }
    serde_json_canonicalizer::to_string(value).unwrap_or_else(|_| "null".to_owned())
}

/// `H(value)`: the first 16 lowercase hex chars of SHA-256 over [`canonical_json`].
///
/// # Examples
/// ```
/// use csvagent_sdk::verify::answer_hash;
/// use serde_json::json;
/// assert_eq!(answer_hash(&json!(42)), answer_hash(&json!(42.0)));
/// assert_eq!(answer_hash(&json!(42)), "73475cb40a568e8d");
/// ```
pub fn answer_hash(value: &Value) -> String {
    let digest = Sha256::digest(canonical_json(value).as_bytes());
    hex::encode(&digest[..8])
}

/// `H` of a string: the hash of the JSON string value, as `code_hash = H(code)` uses.
pub fn string_hash(text: &str) -> String {
    answer_hash(&Value::String(text.to_owned()))
}

/// The full SHA-256 of `bytes` as 64 lowercase hex chars (used for `dataset_hash`).
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

const MAX_SAFE: u64 = 1 << 53;

fn needs_exact_integers(value: &Value) -> bool {
    match value {
        Value::Number(n) => {
            n.as_u64().is_some_and(|u| u > MAX_SAFE)
                || n.as_i64().is_some_and(|i| i.unsigned_abs() > MAX_SAFE)
        }
        Value::Array(items) => items.iter().any(needs_exact_integers),
        Value::Object(map) => map.values().any(needs_exact_integers),
        _ => false,
    }
}

/// JCS with exact big integers: same layout and key order as the library, but integers beyond
/// 2^53 print their digits.
fn write_exact(value: &Value, out: &mut String) {
    match value {
        Value::Number(n) if n.is_u64() || n.is_i64() => out.push_str(&n.to_string()),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_exact(item, out);
            }
            out.push(']');
        }
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort_by(|a, b| a.encode_utf16().cmp(b.encode_utf16()));
            out.push('{');
            for (i, key) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&canonical_json(&Value::String(key.clone())));
                out.push(':');
                write_exact(&map[key], out);
            }
            out.push('}');
        }
        other => out.push_str(&canonical_json(other)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// The SPEC 2.2 test vectors, confirmed there by an independent JCS implementation.
    #[test]
    fn spec_vectors_hash_as_documented() {
        let cases: Vec<(Value, &str, &str)> = vec![
            (json!(42), "42", "73475cb40a568e8d"),
            (json!(42.0), "42", "73475cb40a568e8d"),
            (json!(42.5), "42.5", "7b713affffacc53f"),
            (json!(-0.0), "0", "5feceb66ffc86f38"),
            (json!(0), "0", "5feceb66ffc86f38"),
            (json!(13270.42), "13270.42", "a6488b119f72a912"),
            (json!(0.1 + 0.2), "0.30000000000000004", "06bad31060c1212a"),
            (json!(1e-7), "1e-7", "5b33e02f2c5103a0"),
            (json!(1e-6), "0.000001", "159fb29a827ad04b"),
            (json!(1e21), "1e+21", "241c4643fa70b1dc"),
            (
                json!(1.2345678901234568e20),
                "123456789012345680000",
                "725abf1752901956",
            ),
            (json!(-1.5e-10), "-1.5e-10", "19ca303844b8cb9a"),
            (json!(true), "true", "b5bea41b6c623f7c"),
            (json!(false), "false", "fcbcf165908dd18a"),
            (Value::Null, "null", "74234e98afe7498f"),
            (json!("Yes"), "\"Yes\"", "184fda5c980b9d9c"),
            (json!("café"), "\"café\"", "28380feb8724d669"),
            (json!("a\"b\\c\n"), "\"a\\\"b\\\\c\\n\"", "bc66ad49348b837d"),
            (json!(""), "\"\"", "12ae32cb1ec02d01"),
            (json!([]), "[]", "4f53cda18c2baa0c"),
            (json!({}), "{}", "44136fa355b3678a"),
            (json!([1, 2.345]), "[1,2.345]", "6392cdf9101efbc4"),
            (json!([1.0, 2]), "[1,2]", "49a64717d5d4cb19"),
            (
                json!({"b": 1, "a": 0.004}),
                "{\"a\":0.004,\"b\":1}",
                "06b0cc2fe83a9235",
            ),
            (
                json!({"b": [{"y": 2, "x": 1}], "a": null}),
                "{\"a\":null,\"b\":[{\"x\":1,\"y\":2}]}",
                "d0386d8287172bb0",
            ),
            (
                json!({"count": 2, "columns": ["bmi", "age"]}),
                "{\"columns\":[\"bmi\",\"age\"],\"count\":2}",
                "94952522baae955e",
            ),
        ];
        for (value, canonical, hash) in cases {
            assert_eq!(
                canonical_json(&value),
                canonical,
                "canonical form of {value}"
            );
            assert_eq!(answer_hash(&value), hash, "H({value})");
        }
    }

    #[test]
    fn key_order_does_not_change_the_hash() {
        let a: Value = serde_json::from_str(r#"{"x": 1, "y": {"b": 2, "a": 3}}"#).unwrap();
        let b: Value = serde_json::from_str(r#"{"y": {"a": 3, "b": 2}, "x": 1}"#).unwrap();
        assert_eq!(answer_hash(&a), answer_hash(&b));
    }

    #[test]
    fn integers_beyond_2_pow_53_keep_their_digits() {
        let v: Value =
            serde_json::from_str(r#"{"n": 9007199254740993, "m": [-9007199254740995]}"#).unwrap();
        assert_eq!(
            canonical_json(&v),
            r#"{"m":[-9007199254740995],"n":9007199254740993}"#
        );
    }

    #[test]
    fn dataset_hash_vector() {
        assert_eq!(
            sha256_hex(b"a,b\n1,2\n"),
            "492d5ea496056f1a6a6592241032fab764c321596317930b4fa0e1e8bc3b7470"
        );
    }
}
