//! Encoding and delimiter detection (SPEC 5.1), done once per dataset on the host.
//!
//! Encoding: a UTF-8 byte-order mark gives `utf-8-sig`; a UTF-16 one gives `utf-16`; otherwise
//! strict UTF-8 over the whole file gives `utf-8`; otherwise `cp1252` when every byte is defined
//! in Windows-1252, else `latin-1`. Delimiter: of `,` `\t` `;` `|` (ties in that order), the one
//! whose quote-aware field count (parsed by the `csv` crate) is most consistent over the first 50
//! non-empty lines, with at least 2 fields and the header agreeing with the data rows.

use super::Dialect;

/// Delimiters tried, in tie-break order.
pub const DELIMITERS: [char; 4] = [',', '\t', ';', '|'];

/// Bytes that Windows-1252 leaves undefined (Python's `cp1252` codec refuses them).
const CP1252_UNDEFINED: [u8; 5] = [0x81, 0x8D, 0x8F, 0x90, 0x9D];

/// The Python codec name for `bytes` (see the module docs).
pub fn detect_encoding(bytes: &[u8]) -> &'static str {
    if bytes.starts_with(&[0xEF, 0xBB, 0xBF]) {
        "utf-8-sig"
    } else if bytes.starts_with(&[0xFF, 0xFE]) || bytes.starts_with(&[0xFE, 0xFF]) {
        "utf-16"
    } else if std::str::from_utf8(bytes).is_ok() {
        "utf-8"
    } else if !bytes.iter().any(|b| CP1252_UNDEFINED.contains(b)) {
        "cp1252"
    } else {
        "latin-1"
    }
}

/// Decodes `bytes` with a codec name from [`detect_encoding`] (or a `meta.json` override).
///
/// # Errors
/// The codec name when it is not one of `utf-8`, `utf-8-sig`, `utf-16`, `cp1252`, `latin-1`
/// (and common spellings), or when strict UTF-8 decoding fails.
pub fn decode(bytes: &[u8], encoding: &str) -> Result<String, String> {
    let enc = encoding.to_ascii_lowercase().replace('_', "-");
    match enc.as_str() {
        "utf-8" | "utf8" => std::str::from_utf8(bytes)
            .map(str::to_owned)
            .map_err(|e| format!("not valid UTF-8: {e}")),
        "utf-8-sig" | "utf8-sig" => {
            let body = bytes.strip_prefix(&[0xEF, 0xBB, 0xBF][..]).unwrap_or(bytes);
            std::str::from_utf8(body)
                .map(str::to_owned)
                .map_err(|e| format!("not valid UTF-8: {e}"))
        }
        "utf-16" | "utf16" => {
            let (text, _, had_errors) = encoding_rs::UTF_16LE.decode(bytes);
            let (text, had_errors) = if bytes.starts_with(&[0xFE, 0xFF]) {
                let (t, _, e) = encoding_rs::UTF_16BE.decode(bytes);
                (t, e)
            } else {
                (text, had_errors)
            };
            if had_errors {
                Err("not valid UTF-16".to_owned())
            } else {
                Ok(text.into_owned())
            }
        }
        "cp1252" | "windows-1252" => Ok(encoding_rs::WINDOWS_1252
            .decode_without_bom_handling(bytes)
            .0
            .into_owned()),
        "latin-1" | "latin1" | "iso-8859-1" => Ok(bytes.iter().map(|&b| char::from(b)).collect()),
        other => Err(format!(
            "unsupported encoding `{other}`: expected one of utf-8, utf-8-sig, utf-16, cp1252, latin-1"
        )),
    }
}

/// Field counts of the first `max_records` records of `text` parsed with `delimiter`.
fn field_counts(text: &str, delimiter: char, max_records: usize) -> Vec<usize> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .delimiter(delimiter as u8)
        .from_reader(text.as_bytes());
    reader
        .records()
        .filter_map(Result::ok)
        .filter(|r| !(r.len() == 1 && r.get(0).is_some_and(|f| f.trim().is_empty())))
        .take(max_records)
        .map(|r| r.len())
        .collect()
}

/// The delimiter of `text` (see the module docs), or `None` when no candidate yields at least
/// two consistent columns.
pub fn detect_delimiter(text: &str) -> Option<char> {
    let mut best: Option<(usize, char)> = None;
    for &delim in &DELIMITERS {
        let counts = field_counts(text, delim, 50);
        let Some((&header, data)) = counts.split_first() else {
            continue;
        };
        if header < 2 {
            continue;
        }
        // Consistency: how many sampled data rows share the modal field count (a header with
        // a trailing delimiter may have one field more, as pandas' `Unnamed: n` shows).
        let sample = if data.is_empty() { &counts[..] } else { data };
        let mut freq = std::collections::BTreeMap::new();
        for &c in sample {
            *freq.entry(c).or_insert(0usize) += 1;
        }
        let Some((&mode, &agreeing)) = freq.iter().max_by_key(|&(c, n)| (*n, *c)) else {
            continue;
        };
        if mode < 2 || agreeing * 2 < sample.len() {
            continue;
        }
        if best.is_none_or(|(score, _)| agreeing > score) {
            best = Some((agreeing, delim));
        }
    }
    best.map(|(_, d)| d)
}

/// `,` when the fields of `text` write numbers with a decimal comma (`1,5`) and never with a
/// decimal point; `.` otherwise. Only meaningful when the delimiter is not a comma.
pub fn detect_decimal(text: &str, delimiter: char) -> char {
    if delimiter == ',' {
        return '.';
    }
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(true)
        .delimiter(delimiter as u8)
        .from_reader(text.as_bytes());
    let is_number = |a: &str, b: &str| {
        !a.is_empty() && !b.is_empty() && a.chars().chain(b.chars()).all(|c| c.is_ascii_digit())
    };
    let (mut comma, mut point) = (0usize, 0usize);
    for rec in reader.records().filter_map(Result::ok).take(200) {
        for field in rec.iter().map(str::trim) {
            let digits = field.trim_start_matches(['-', '+']);
            match (digits.split_once(','), digits.split_once('.')) {
                (Some((a, b)), None) if is_number(a, b) => comma += 1,
                (None, Some((a, b))) if is_number(a, b) => point += 1,
                _ => {}
            }
        }
    }
    if comma > 0 && point == 0 { ',' } else { '.' }
}

/// Detects the dialect of raw CSV bytes. `encoding` and `delimiter` overrides (from `meta.json`
/// `read_options`) win over detection.
///
/// # Errors
/// A reason suitable for "skipped: <reason>": an undecodable file or no delimiter giving at
/// least two columns.
pub fn detect(
    bytes: &[u8],
    encoding: Option<&str>,
    delimiter: Option<char>,
) -> Result<(Dialect, String), String> {
    let encoding = encoding
        .map(str::to_owned)
        .unwrap_or_else(|| detect_encoding(bytes).to_owned());
    let text = decode(bytes, &encoding)?;
    let delimiter = match delimiter {
        Some(d) => d,
        None => detect_delimiter(&text)
            .ok_or_else(|| "no delimiter yields at least 2 columns".to_owned())?,
    };
    let decimal = detect_decimal(&text, delimiter);
    Ok((
        Dialect {
            encoding,
            delimiter,
            decimal,
        },
        text,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodings_are_detected_in_spec_order() {
        assert_eq!(detect_encoding(b"\xEF\xBB\xBFa,b\n"), "utf-8-sig");
        assert_eq!(detect_encoding(b"\xFF\xFEa\0"), "utf-16");
        assert_eq!(detect_encoding("caf\u{e9},b\n".as_bytes()), "utf-8");
        assert_eq!(detect_encoding(b"caf\xE9,b\n\x80"), "cp1252");
        assert_eq!(detect_encoding(b"caf\xE9,\x81\n"), "latin-1");
    }

    #[test]
    fn cp1252_decodes_the_euro_sign() {
        assert_eq!(decode(b"\x80 5", "cp1252").unwrap(), "\u{20ac} 5");
        assert!(
            decode(b"x", "ebcdic")
                .unwrap_err()
                .contains("expected one of")
        );
    }

    #[test]
    fn delimiters_are_detected_quote_aware() {
        assert_eq!(detect_delimiter("a,b,c\n1,2,3\n4,5,6\n"), Some(','));
        assert_eq!(detect_delimiter("a\tb\tc\n1\t2,5\t3\n"), Some('\t'));
        // Decimal commas: the header disagrees with comma-split rows, so `;` wins.
        assert_eq!(
            detect_delimiter("a;b;c\n1,5;2,25;3,75\n4,5;5,5;6,5\n"),
            Some(';')
        );
        assert_eq!(detect_delimiter("a|b\n1|2\n"), Some('|'));
        // A quoted field with delimiters and a newline inside does not confuse the count.
        assert_eq!(
            detect_delimiter("name,note\n\"x\",\"a;b\nc;d\"\ny,z\n"),
            Some(',')
        );
        assert_eq!(detect_delimiter("justone\n1\n2\n"), None);
    }

    #[test]
    fn decimal_commas_are_detected_only_without_decimal_points() {
        assert_eq!(detect_decimal("a;b\n1,5;2\n3,25;4\n", ';'), ',');
        assert_eq!(detect_decimal("a;b\n1.5;2,5\n", ';'), '.');
        assert_eq!(detect_decimal("a,b\n1,5\n", ','), '.');
    }
}
